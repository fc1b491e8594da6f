package web

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestAlertStream opens /api/v1/alerts/stream as tenant A's viewer, raises
// an alert in A and one in B, and reads A's alert — and never B's — from
// the stream.
func TestAlertStream(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	req, err := http.NewRequest("GET", f.srv.URL+"/api/v1/alerts/stream?timeout=20s", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.A.secrets[f.A.ViewerToken.ID])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %q", res.StatusCode, ct)
	}
	lines := bufio.NewScanner(res.Body)
	if !lines.Scan() { // "retry: …" arrives once the stream is subscribed
		t.Fatal("no first line")
	}
	raise := func(x *isoTenant, rule string) {
		if err := f.alerts.Raise(f.ctx, []tansa.Alert{{TenantID: x.Tenant.ID, Kind: tansa.AlertSigma, RuleID: rule, RuleTitle: rule,
			Level: "high", Host: "h", GroupKey: "h"}}); err != nil {
			t.Fatal(err)
		}
	}
	raise(f.B, "stream-rule-of-b")
	raise(f.A, "stream-rule-of-a")
	deadline := time.After(15 * time.Second)
	got := make(chan string)
	go func() {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				got <- l
			}
		}
		close(got)
	}()
	select {
	case l, ok := <-got:
		if !ok {
			t.Fatal("stream ended without an alert")
		}
		if strings.Contains(l, "stream-rule-of-b") || strings.Contains(l, f.B.Tenant.ID) {
			t.Fatalf("tenant A's stream carried tenant B's alert: %s", l)
		}
		if !strings.Contains(l, "stream-rule-of-a") || !strings.Contains(l, `"new":true`) {
			t.Errorf("first alert on the stream: %s, want A's new alert", l)
		}
	case <-deadline:
		t.Fatal("no alert on the stream within 15 s")
	}
}
