// Package eventstest is the conformance suite of events.Store: every
// backend must behave the same for idempotent writes, tenant scopes,
// free text, observables, field filters, histograms, top values and
// retention.
package eventstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Open returns an empty store for one subtest.
type Open func(t *testing.T) events.Store

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func ev(id, tenant string, at time.Duration, raw string, fields map[string]any) events.Record {
	e := &tansa.Event{ID: id, TenantID: tenant, Time: t0.Add(at), Received: t0.Add(at + time.Second), Source: "test",
		Format: "raw", Raw: []byte(raw), Fields: fields}
	return events.Record{Event: e, Observables: normalize.Observables(e)}
}

// fixture stores six events: four of tenant A, two of tenant B.
func fixture(t *testing.T, s events.Store) {
	t.Helper()
	recs := []events.Record{
		ev("a1", "A", 0, "deny tcp 203.0.113.5 -> 10.0.0.8 port 443", map[string]any{"source.ip": "203.0.113.5", "destination.ip": "10.0.0.8", "event.action": "deny", "destination.port": int64(443)}),
		ev("a2", "A", time.Minute, "Failed password for root from 198.51.100.7", map[string]any{"source.ip": "198.51.100.7", "user.name": "root", "event.action": "login-failed"}),
		ev("a3", "A", 2*time.Minute, "GET http://evil.example/payload.exe", map[string]any{"url.full": "http://evil.example/payload.exe", "url.domain": "evil.example"}),
		ev("a4", "A", 3*time.Minute, "deny udp 203.0.113.5 -> 10.0.0.9", map[string]any{"source.ip": "203.0.113.5", "event.action": "deny"}),
		ev("b1", "B", 0, "deny tcp 203.0.113.5 -> 10.1.0.1 secret-b", map[string]any{"source.ip": "203.0.113.5", "event.action": "deny"}),
		ev("b2", "B", time.Minute, "ok", map[string]any{"event.action": "allow"}),
	}
	recs[1].Event.ParseError = "column 3: unexpected token"
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func onlyA() access.Scope { return access.Scope{Tenants: []string{"A"}} }

func ids(evs []tansa.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.ID)
	}
	return fmt.Sprint(s)
}

// Run runs the suite.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	search := func(t *testing.T, s events.Store, q events.Query) ([]tansa.Event, int) {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		evs, total, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return evs, total
	}

	t.Run("search is newest first within the scope", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		evs, total := search(t, s, events.Query{Scope: onlyA()})
		if got, want := ids(evs), "[a4 a3 a2 a1]"; got != want || total != 4 {
			t.Fatalf("got %s (total %d), want %s (total 4)", got, total, want)
		}
		if _, total := search(t, s, events.Query{Scope: access.Scope{All: true}}); total != 6 {
			t.Fatalf("all tenants: total %d, want 6", total)
		}
		if _, total := search(t, s, events.Query{}); total != 0 {
			t.Fatalf("the zero scope found %d events, want none", total)
		}
	})

	t.Run("storing the same events again changes nothing", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		fixture(t, s)
		if _, total := search(t, s, events.Query{Scope: access.Scope{All: true}}); total != 6 {
			t.Fatalf("total after a redelivery = %d, want 6", total)
		}
		if _, total := search(t, s, events.Query{Scope: onlyA(), Observable: "203.0.113.5"}); total != 2 {
			t.Fatalf("observable hits after a redelivery = %d, want 2", total)
		}
	})

	t.Run("an event round-trips", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		got, err := s.Event(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if got.TenantID != "A" || string(got.Raw) != "deny tcp 203.0.113.5 -> 10.0.0.8 port 443" || !got.Time.Equal(t0) ||
			got.Fields["destination.port"] != int64(443) || got.Fields["source.ip"] != "203.0.113.5" {
			t.Fatalf("event = %+v", got)
		}
		if _, err := s.Event(ctx, "nope"); tansa.KindOf(err) != tansa.NotFound {
			t.Fatalf("missing event: %v, want not found", err)
		}
	})

	t.Run("observable lookup is exact and scoped", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		evs, _ := search(t, s, events.Query{Scope: onlyA(), Observable: "203.0.113.5"})
		if got := ids(evs); got != "[a4 a1]" {
			t.Fatalf("got %s, want [a4 a1]", got)
		}
		// A substring of an address is not the address.
		if _, total := search(t, s, events.Query{Scope: onlyA(), Observable: "03.0.113.5"}); total != 0 {
			t.Fatalf("a partial address matched %d events", total)
		}
		if evs, _ := search(t, s, events.Query{Scope: onlyA(), Observable: "EVIL.example"}); ids(evs) != "[a3]" {
			t.Fatalf("domain lookup ignoring case: got %s, want [a3]", ids(evs))
		}
	})

	t.Run("free text matches whole words and prefixes, never across tenants", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		if evs, _ := search(t, s, events.Query{Scope: onlyA(), Text: "failed ROOT"}); ids(evs) != "[a2]" {
			t.Fatalf("two words: got %s, want [a2]", ids(evs))
		}
		if evs, _ := search(t, s, events.Query{Scope: onlyA(), Text: "pay*"}); ids(evs) != "[a3]" {
			t.Fatalf("prefix: got %s, want [a3]", ids(evs))
		}
		if _, total := search(t, s, events.Query{Scope: onlyA(), Text: "secret"}); total != 0 {
			t.Fatalf("tenant A found tenant B's word %d times", total)
		}
		if _, total := search(t, s, events.Query{Scope: onlyA(), Text: `"unbalanced AND OR ( NEAR`}); total != 0 {
			t.Fatalf("query syntax in the text matched %d events", total)
		}
	})

	t.Run("time range, field filters and parse errors", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		evs, _ := search(t, s, events.Query{Scope: onlyA(), Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)})
		if ids(evs) != "[a3 a2]" {
			t.Fatalf("range: got %s, want [a3 a2]", ids(evs))
		}
		evs, _ = search(t, s, events.Query{Scope: onlyA(), Fields: map[string]string{"event.action": "deny", "destination.port": "443"}})
		if ids(evs) != "[a1]" {
			t.Fatalf("fields: got %s, want [a1]", ids(evs))
		}
		evs, _ = search(t, s, events.Query{Scope: onlyA(), ParseErrors: true})
		if ids(evs) != "[a2]" {
			t.Fatalf("parse errors: got %s, want [a2]", ids(evs))
		}
		if _, _, err := s.Search(ctx, events.Query{Scope: onlyA(), Fields: map[string]string{`a"b`: "x"}, Page: access.Page{Limit: 1}}); tansa.KindOf(err) != tansa.Invalid {
			t.Fatalf("a bad field name: %v, want invalid", err)
		}
	})

	t.Run("pagination and count only", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		evs, total := search(t, s, events.Query{Scope: onlyA(), Page: access.Page{Limit: 2, Offset: 1}})
		if ids(evs) != "[a3 a2]" || total != 4 {
			t.Fatalf("page: got %s total %d", ids(evs), total)
		}
		evs, total, err := s.Search(ctx, events.Query{Scope: onlyA()})
		if err != nil || len(evs) != 0 || total != 4 {
			t.Fatalf("count only: %d events, total %d, %v", len(evs), total, err)
		}
	})

	t.Run("a count limit stops the count, never the page", func(t *testing.T) {
		s := open(t)
		// 20 writes of 50 events, a minute apart, so that backends that
		// store each write apart (SQLite's blocks) have many to skip.
		for w := range 20 {
			var recs []events.Record
			for i := range 50 {
				n := w*50 + i
				recs = append(recs, ev(fmt.Sprintf("c%04d", n), "A", time.Duration(n)*time.Minute,
					fmt.Sprintf("deny tcp 203.0.113.5 -> 10.0.%d.%d", n/250, n%250), map[string]any{"source.ip": "203.0.113.5"}))
			}
			if err := s.Put(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []events.Query{{Text: "deny"}, {Observable: "203.0.113.5"}, {}} {
			q.Scope, q.Limit, q.CountLimit = onlyA(), 10, 100
			evs, total := search(t, s, q)
			if total <= 100 || total > 1000 {
				t.Fatalf("%+v: total %d, want over the limit of 100 and at most the 1000 stored", q, total)
			}
			if len(evs) != 10 || evs[0].ID != "c0999" || evs[9].ID != "c0990" {
				t.Fatalf("%+v: the page is not the newest 10: %s", q, ids(evs))
			}
			q.Offset = 995
			if evs, _ := search(t, s, q); len(evs) != 5 || evs[4].ID != "c0000" {
				t.Fatalf("%+v: the last page past the limit: %s", q, ids(evs))
			}
			q.Offset, q.CountLimit = 0, 5000
			if _, total := search(t, s, q); total != 1000 {
				t.Fatalf("%+v: under the limit the total must be exact: %d", q, total)
			}
		}
		_, total, err := s.Search(ctx, events.Query{Scope: onlyA(), Text: "deny", CountLimit: 100})
		if err != nil || total <= 100 {
			t.Fatalf("count only with a limit: total %d, %v", total, err)
		}
	})

	t.Run("histogram and top values", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		bs, err := s.Histogram(ctx, events.Query{Scope: onlyA(), Since: t0, Until: t0.Add(4 * time.Minute)}, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range bs {
			if b.Count != 1 || !b.Start.Equal(t0.Add(time.Duration(i)*time.Minute)) {
				t.Fatalf("bucket %d = %+v, want one event at %v", i, b, t0.Add(time.Duration(i)*time.Minute))
			}
		}
		top, err := s.Top(ctx, events.Query{Scope: onlyA()}, "source.ip", 5)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(top) != "[{203.0.113.5 2} {198.51.100.7 1}]" {
			t.Fatalf("top = %v", top)
		}
	})

	t.Run("retention removes a tenant's old events and their index entries", func(t *testing.T) {
		s := open(t)
		fixture(t, s)
		n, err := s.DeleteBefore(ctx, "A", t0.Add(2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("deleted %d (%v), want 2", n, err)
		}
		if evs, _ := search(t, s, events.Query{Scope: onlyA()}); ids(evs) != "[a4 a3]" {
			t.Fatalf("after retention: %s, want [a4 a3]", ids(evs))
		}
		if _, total := search(t, s, events.Query{Scope: onlyA(), Text: "root"}); total != 0 {
			t.Fatalf("free text still finds a deleted event")
		}
		// The kept events were stored again: the indexes lead to them, and
		// only to them.
		if evs, _ := search(t, s, events.Query{Scope: onlyA(), Observable: "203.0.113.5"}); ids(evs) != "[a4]" {
			t.Fatalf("observable after retention: %s, want [a4]", ids(evs))
		}
		if evs, _ := search(t, s, events.Query{Scope: onlyA(), Text: "deny"}); ids(evs) != "[a4]" {
			t.Fatalf("free text after retention: %s, want [a4]", ids(evs))
		}
		if evs, _ := search(t, s, events.Query{Scope: access.Scope{All: true}, Observable: "203.0.113.5"}); ids(evs) != "[a4 b1]" {
			t.Fatalf("observable across tenants after retention: %s, want [a4 b1]", ids(evs))
		}
		if _, total := search(t, s, events.Query{Scope: access.Scope{Tenants: []string{"B"}}}); total != 2 {
			t.Fatalf("tenant B lost events to A's retention: total %d", total)
		}
	})
}
