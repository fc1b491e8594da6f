package server

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestRetentionKeepsEachTenantsWindow stores old and new events for two
// tenants with different retention and checks that the job removes
// exactly the events older than each tenant's own window.
func TestRetentionKeepsEachTenantsWindow(t *testing.T) {
	cfg := Config{Data: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0"}
	s, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sys := access.Caller{Principal: access.System("test")}
	mk := func(name string, days int) tansa.Tenant {
		tn, err := s.Access.CreateTenant(t.Context(), sys, access.TenantInput{Name: &name, RetentionDays: &days})
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	short, long := mk("Short", 7), mk("Long", 365)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var recs []events.Record
	for _, tn := range []tansa.Tenant{short, long} {
		for i, age := range []int{1, 30, 400} {
			recs = append(recs, events.Record{Event: &tansa.Event{ID: tn.Name + string(rune('a'+i)), TenantID: tn.ID,
				Time: now.AddDate(0, 0, -age), Received: now, Format: "raw", Raw: []byte("x"), Fields: map[string]any{}}})
		}
	}
	if err := s.events.Put(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.enforceRetention(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tn   tansa.Tenant
		want int
	}{{short, 1}, {long, 2}} {
		tn, want := c.tn, c.want
		_, total, err := s.events.Search(t.Context(), events.Query{Scope: access.Scope{Tenants: []string{tn.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Errorf("tenant %s (%d days) keeps %d events, want %d", tn.Name, tn.RetentionDays, total, want)
		}
	}
}
