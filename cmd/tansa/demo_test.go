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
