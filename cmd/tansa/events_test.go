package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEventSearchCountLimit: a page of events counts its matches only up
// to 10,000 and says so ("total_relation": "gte"); the count alone and
// exact_total=true count every match.
func TestEventSearchCountLimit(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	_, token := cliTenant(t, getenv, dir, "Count Lab")
	reader, ingest := token("tenant-viewer"), token("ingest")

	const n = 10_050
	hec := newClient(t, srv.base)
	hec.auth = "Splunk " + ingest
	for lo := 0; lo < n; lo += 2000 {
		var b strings.Builder
		for i := lo; i < min(lo+2000, n); i++ {
			fmt.Fprintf(&b, "<134>Nov 21 10:%02d:%02d fw01 kernel: deny tcp from 198.51.100.%d to 10.0.0.1 port %d\n", i/60%60, i%60, i%250, i)
		}
		if code, body := hec.do("POST", "/services/collector/raw", "text/plain", b.String()); code != http.StatusOK {
			t.Fatalf("HEC raw: %d %s", code, body)
		}
	}
	c := newClient(t, srv.base)
	c.auth = "Bearer " + reader
	type list struct {
		Items []struct {
			Raw string `json:"raw"`
		}
		Total    int    `json:"total"`
		Relation string `json:"total_relation"`
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var l list
		c.getJSON("/api/v1/events?q=deny&limit=0", &l)
		if l.Total == n && l.Relation == "eq" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count only: %+v, want %d eq", l, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var l list
	c.getJSON("/api/v1/events?q=deny&limit=10", &l)
	if l.Total != 10_000 || l.Relation != "gte" || len(l.Items) != 10 {
		t.Errorf("a page of a frequent word: total %d %q, %d items; want 10000 gte and 10 items", l.Total, l.Relation, len(l.Items))
	}
	c.getJSON("/api/v1/events?q=deny&limit=10&exact_total=true", &l)
	if l.Total != n || l.Relation != "eq" || len(l.Items) != 10 {
		t.Errorf("exact_total=true: total %d %q, %d items; want %d eq", l.Total, l.Relation, len(l.Items), n)
	}
	c.getJSON("/api/v1/events?q=198.51.100.7&limit=10", &l)
	if l.Total != 41 || l.Relation != "eq" {
		t.Errorf("a rare word (198.51.100.7, not .70–.79): total %d %q, want 41 eq", l.Total, l.Relation)
	}
	if code, body := c.do("GET", "/api/v1/events?exact_total=perhaps", "", ""); code != http.StatusBadRequest || !strings.Contains(body, "exact_total") {
		t.Errorf("exact_total=perhaps: %d %s, want 400 naming the parameter", code, body)
	}
	if err := srv.stop(t); err != nil {
		t.Errorf("serve: %v", err)
	}
}
