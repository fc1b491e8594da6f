package ingest

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A tenant is busy above MaxBacklog and stays busy until its backlog is
// below half of it; other tenants are not held back.
func TestBusyFollowsTheBacklog(t *testing.T) {
	p := New(nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), Options{Workers: 1, Messages: 1, MaxBacklog: 100})
	for _, c := range []struct {
		backlog uint64
		want    bool
	}{{50, false}, {101, true}, {60, true}, {49, false}, {0, false}} {
		p.noteBacklog(map[string]uint64{"a": c.backlog, "b": 1})
		if p.Busy("a") != c.want || p.Busy("b") {
			t.Fatalf("backlog %d: busy %v, want %v", c.backlog, p.Busy("a"), c.want)
		}
	}
}
