package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
)

// A database written with the row-per-event layout (migrations 1 to 3)
// opens with its events in blocks: searchable by text and observable, with
// fields, and the old tables gone.
func TestEventsConvertV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	w, r, err := openPools(ctx, path, "NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, mustSub(migrations, "events_migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).UnixMicro()
	for i, raw := range []string{"deny tcp 203.0.113.5 -> 10.0.0.8", "Failed password for root"} {
		res, err := w.ExecContext(ctx, `INSERT INTO events (id, tenant_id, time, received, source, format, parse_error, raw, fields)
			VALUES (?, 'A', ?, ?, 'test', 'raw', '', ?, '{"event.action":"deny","destination.port":443}')`, []string{"e1", "e2"}[i], at+int64(i), at+int64(i)+1e6, raw)
		if err != nil {
			t.Fatal(err)
		}
		seq, _ := res.LastInsertId()
		if i == 0 {
			if _, err := w.ExecContext(ctx, `INSERT INTO observables (tenant_id, value, time, seq, type) VALUES ('A', '203.0.113.5', ?, ?, 'ip')`, at, seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Close()
	r.Close()

	s, err := OpenEvents(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := access.Scope{Tenants: []string{"A"}}
	page := access.Page{Limit: 10}
	if evs, total, err := s.Search(ctx, events.Query{Scope: a, Observable: "203.0.113.5", Page: page}); err != nil || total != 1 || evs[0].ID != "e1" {
		t.Fatalf("observable after conversion: %v %d %v", evs, total, err)
	}
	if evs, total, err := s.Search(ctx, events.Query{Scope: a, Text: "password", Page: page}); err != nil || total != 1 || evs[0].ID != "e2" {
		t.Fatalf("text after conversion: %v %d %v", evs, total, err)
	}
	ev, err := s.Event(ctx, "e1")
	if err != nil || ev.Fields["destination.port"] != int64(443) || !ev.Received.Equal(ev.Time.Add(time.Second)) {
		t.Fatalf("event after conversion: %+v %v", ev, err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_v1'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d old tables left (%v)", n, err)
	}
}
