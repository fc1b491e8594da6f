package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/playbook/webhook"
)

func TestSendSigned(t *testing.T) {
	secret := []byte("shared-secret")
	var gotErr error
	var gotKey string
	fail := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotErr = webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute)
		gotKey = r.Header.Get("Idempotency-Key")
		if fail > 0 {
			fail--
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"ticket":"INC-1"}`)
	}))
	defer srv.Close()
	call := webhook.Call{URL: srv.URL, Secret: secret, Body: []byte(`{"host":"pc-042"}`), Key: "run-1/hook"}
	status, body, err := webhook.Send(context.Background(), srv.Client(), call, time.Now())
	if err != nil || status != 200 || string(body) != `{"ticket":"INC-1"}` {
		t.Fatalf("send: %d %s %v", status, body, err)
	}
	if gotErr != nil || gotKey != "run-1/hook" {
		t.Errorf("receiver: verify %v, key %q", gotErr, gotKey)
	}
	fail = 1
	_, _, err = webhook.Send(context.Background(), srv.Client(), call, time.Now())
	if ok, after := outcall.Transient(err); !ok || after != 3*time.Second {
		t.Errorf("503: %v, want transient after 3s", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret, body, now := []byte("k"), []byte(`{"a":1}`), time.Now()
	sig := webhook.Sign(secret, body, now)
	if err := webhook.Verify(secret, body, sig, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		secret, body []byte
		sig          string
		at           time.Time
	}{
		"other body":   {secret, []byte(`{"a":2}`), sig, now},
		"other secret": {[]byte("x"), body, sig, now},
		"replayed":     {secret, body, sig, now.Add(time.Hour)},
		"garbage":      {secret, body, "v1=zz", now},
	} {
		if err := webhook.Verify(c.secret, c.body, c.sig, c.at, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
