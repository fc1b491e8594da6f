package postgres_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/events/eventstest"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/postgres"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// openEvents opens an event store in a schema of its own, created for t
// and dropped when t ends.
func openEvents(t *testing.T) *postgres.Events {
	t.Helper()
	s, err := postgres.OpenEvents(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatalf("OpenEvents: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestEventsConformance(t *testing.T) {
	if os.Getenv("TANSA_TEST_POSTGRES_URL") == "" {
		t.Skip("TANSA_TEST_POSTGRES_URL not set: PostgreSQL event store conformance skipped")
	}
	eventstest.Run(t, func(t *testing.T) events.Store { return openEvents(t) })
}

func rec(id, tenant string, at time.Time, raw string, fields map[string]any) events.Record {
	e := &tansa.Event{ID: id, TenantID: tenant, Time: at, Received: at, Source: "test", Format: "raw", Raw: []byte(raw), Fields: fields}
	return events.Record{Event: e, Observables: normalize.Observables(e)}
}

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// TestEventsHostileInput stores what a TEXT or JSONB column refuses, and
// an observable too long for a B-tree entry, and searches with tsquery
// syntax: nothing may fail, and the raw event must come back exactly.
func TestEventsHostileInput(t *testing.T) {
	s := openEvents(t)
	ctx := t.Context()
	long := "http://evil.example/" + strings.Repeat("a", 3000)
	raw := "nul\x00 bad\xff utf8 " + long
	r := rec("h1", "A", day0, raw, map[string]any{"message": "x\x00y", "bad": "\xff", "url.full": long})
	r.Event.Source = "file:\x00"
	empty := rec("h2", "A", day0, "", nil)
	empty.Event.Raw = nil
	if err := s.Put(ctx, []events.Record{r, empty}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.Event(ctx, "h1")
	if err != nil {
		t.Fatalf("Event: %v", err)
	}
	if string(got.Raw) != raw {
		t.Errorf("raw = %q, want %q", got.Raw, raw)
	}
	if got.Fields["message"] != "x\uFFFDy" {
		t.Errorf("message = %q, want NUL as U+FFFD", got.Fields["message"])
	}
	all := access.Scope{All: true}
	if _, n, err := s.Search(ctx, events.Query{Scope: all, Observable: long}); err != nil || n != 1 {
		t.Errorf("long observable: %d events, %v; want 1", n, err)
	}
	if top, err := s.Top(ctx, events.Query{Scope: all}, "bad", -1); err != nil || len(top) != 1 {
		t.Errorf("top with no limit: %v, %v; want one value", top, err)
	}
	if evs, _, err := s.Search(ctx, events.Query{Scope: all, Page: access.Page{Limit: 1, Offset: -1}}); err != nil || len(evs) != 1 {
		t.Errorf("a negative offset: %d events, %v; want the first", len(evs), err)
	}
	for _, text := range []string{`'`, `\`, `a:*`, `!utf8`, `nul <-> bad`, `nul & | ( ) : *`, `''' \' :A`} {
		if _, _, err := s.Search(ctx, events.Query{Scope: all, Text: text}); err != nil {
			t.Errorf("text %q: %v", text, err)
		}
	}
	for text, want := range map[string]int{"NUL": 1, "utf8 nul": 1, "evil.example": 1, "example.evil": 0, "evil.exa*": 1, "(": 0, "*": 2} {
		if _, n, err := s.Search(ctx, events.Query{Scope: all, Text: text}); err != nil || n != want {
			t.Errorf("text %q: %d events, %v; want %d", text, n, err, want)
		}
	}
}

// TestEventsIdempotentAcrossDays redelivers an event with another time,
// as one without a time of its own gets (it takes Received): the time
// chooses the partition, and the event must still be stored once.
func TestEventsIdempotentAcrossDays(t *testing.T) {
	s := openEvents(t)
	ctx := t.Context()
	if err := s.Put(ctx, []events.Record{rec("e1", "A", day0, "first", nil)}); err != nil {
		t.Fatal(err)
	}
	again := []events.Record{rec("e1", "A", day0.Add(72*time.Hour), "first", nil), rec("e2", "A", day0.Add(72*time.Hour), "second", nil),
		rec("e2", "A", day0, "second, duplicated within the batch", nil)}
	if err := s.Put(ctx, again); err != nil {
		t.Fatal(err)
	}
	evs, n, err := s.Search(ctx, events.Query{Scope: access.Scope{All: true}, Page: access.Page{Limit: 10}})
	if err != nil || n != 2 {
		t.Fatalf("total %d (%v), want 2", n, err)
	}
	if !evs[1].Time.Equal(day0) || string(evs[0].Raw) != "second" {
		t.Errorf("got %+v, want e1 at its first time and e2 as first given", evs)
	}
}

// TestEventsConcurrentNodes has several nodes store the same batches at
// once, over days that have no partitions yet: each event is stored once
// and no node fails on another's partitions.
func TestEventsConcurrentNodes(t *testing.T) {
	url := freshSchema(t)
	const nodes, days, perDay = 4, 5, 200
	var batches [][]events.Record
	for d := range days {
		var b []events.Record
		for i := range perDay {
			at := day0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Minute)
			b = append(b, rec(fmt.Sprintf("d%d-%d", d, i), "A", at, fmt.Sprintf("deny 10.0.%d.%d", d, i%250), nil))
		}
		batches = append(batches, b)
	}
	stores := make([]*postgres.Events, nodes)
	for i := range stores {
		s, err := postgres.OpenEvents(t.Context(), url)
		if err != nil {
			t.Fatalf("node %d: OpenEvents: %v", i, err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, nodes*days)
	for i, s := range stores {
		wg.Go(func() {
			for j := range batches {
				// Each node walks the days in its own order.
				if err := s.Put(t.Context(), batches[(i+j)%days]); err != nil {
					errs <- fmt.Errorf("node %d: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, n, err := stores[0].Search(t.Context(), events.Query{Scope: access.Scope{All: true}}); err != nil || n != days*perDay {
		t.Errorf("total %d (%v), want %d", n, err, days*perDay)
	}
}

// TestEventsRetentionSlices removes more events than one slice holds,
// across partitions and with many events in one microsecond.
func TestEventsRetentionSlices(t *testing.T) {
	s := openEvents(t)
	ctx := t.Context()
	var recs []events.Record
	for i := range 12000 {
		at := day0.Add(time.Duration(i/4000)*24*time.Hour + time.Duration(i%4000/2)*time.Second)
		if i >= 4000 && i < 10000 {
			at = day0.Add(36 * time.Hour) // 6000 events in one microsecond
		}
		recs = append(recs, rec(fmt.Sprintf("r%d", i), "A", at, "deny 203.0.113.5", map[string]any{"source.ip": "203.0.113.5"}))
	}
	recs = append(recs, rec("b", "B", day0, "deny 203.0.113.5", map[string]any{"source.ip": "203.0.113.5"}))
	for b := range slices.Chunk(recs, 1000) {
		if err := s.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	cut := day0.Add(48*time.Hour + 1001*time.Second) // two events of the third day
	n, err := s.DeleteBefore(ctx, "A", cut)
	if want := 10002; err != nil || n != want {
		t.Fatalf("deleted %d (%v), want %d", n, err, want)
	}
	all := access.Scope{All: true}
	for _, q := range []events.Query{{Scope: all}, {Scope: all, Observable: "203.0.113.5"}, {Scope: all, Text: "deny"}} {
		if _, got, err := s.Search(ctx, q); err != nil || got != 12001-n {
			t.Errorf("%+v after retention: %d (%v), want %d", q, got, err, 12001-n)
		}
	}
	// A deleted ID may be stored again, as SQLite's store allows.
	if err := s.Put(ctx, recs[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Event(ctx, "r0"); err != nil {
		t.Errorf("an event stored again after retention: %v", err)
	}
}
