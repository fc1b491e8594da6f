package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDemoDefaultDataDirectory runs "tansa demo" without --data, as the
// README's first command does, and checks that it keeps its data in
// ./tansa-demo, apart from a real server's ./tansa-data.
func TestDemoDefaultDataDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"tansa", "demo", "--listen", "127.0.0.1:0"}, testEnv(nil), strings.NewReader(""), out, errb)
	}()
	for i := 0; !strings.Contains(out.String(), "listening on"); i++ {
		if i > 6000 {
			t.Fatalf("demo did not start; stdout %q stderr %q", out, errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo returned %v", err)
	}
	if _, err := os.Stat("tansa-demo/tansa.json"); err != nil {
		t.Errorf("demo data is not in ./tansa-demo: %v", err)
	}
	if _, err := os.Stat("tansa-data"); err == nil {
		t.Errorf("demo wrote ./tansa-data, the default of a real server")
	}
	if !strings.Contains(out.String(), "tansa-demo-2026") {
		t.Errorf("demo did not print its logins: %q", out)
	}
}

// TestDemoHasAlerts runs "tansa demo" and waits for live detection to put
// the demo rules' alerts in both tenants' queues.
func TestDemoHasAlerts(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"tansa", "demo", "--listen", "127.0.0.1:0"}, testEnv(nil), strings.NewReader(""), out, errb)
	}()
	defer func() {
		cancel()
		<-done
	}()
	var base string
	for i := 0; base == ""; i++ {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if i > 12000 {
			t.Fatalf("demo did not start; stdout %q stderr %q", out, errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, who := range []struct{ user, rule string }{
		{"hq-admin", "9a3d5c71-1e2f-4b8a-b6d0-2f4e8c1a7e33"},
		{"vn-admin", "6f1c2a8e-4d3b-4e7a-9c11-7d2e5b0a9f01"},
		{"vn-admin", "0b7e9d44-52a1-4f0c-8a2e-3c6f1e8d7b22"},
	} {
		c := newClient(t, base)
		c.login(who.user, "tansa-demo-2026")
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var l struct{ Total int }
			c.getJSON("/api/v1/alerts?limit=0&rule="+who.rule, &l)
			if l.Total > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees no alert of rule %s in the demo", who.user, who.rule)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, body := c.do("GET", "/alerts", "", ""); code != 200 || !strings.Contains(body, "alert-queue") {
			t.Errorf("GET /alerts as %s: %d", who.user, code)
		}
	}
}
