package sqlite

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// openTestEvents opens an event store in a fresh directory, closed when
// the test ends.
func openTestEvents(t *testing.T) *Events {
	t.Helper()
	s, err := OpenEvents(t.Context(), t.TempDir()+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tenantIDOf returns the small integer s stores tenant under.
func tenantIDOf(t *testing.T, s *Events, tenant string) int64 {
	t.Helper()
	names, err := s.tenantNames(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range names {
		if n == tenant {
			return id
		}
	}
	t.Fatalf("tenant %q is not stored", tenant)
	return 0
}

// Hunts find a tenant's events by value and by address prefix, newest
// first, within the look-back and the per-value bound, never another
// tenant's.
func TestMentions(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var recs []events.Record
	for i, c := range []struct{ tenant, ip string }{{"A", "10.1.2.3"}, {"A", "10.1.9.9"}, {"A", "10.2.0.1"}, {"B", "10.1.2.3"}, {"A", "2001:db8:1::5"}, {"A", "10.1.2.3"}} {
		ev := &tansa.Event{ID: fmt.Sprintf("m%d", i), TenantID: c.tenant, Time: t0.Add(time.Duration(i) * time.Hour), Raw: []byte(c.ip), Fields: map[string]any{}}
		recs = append(recs, events.Record{Event: ev, Observables: []normalize.Observable{{Type: normalize.IP, Value: c.ip}, {Type: normalize.User, Value: "alice"}}})
	}
	if err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got := func(l retro.Lookup) string {
		ms, err := s.Mentions(ctx, "A", l)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Ref+"="+m.Value)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		l    retro.Lookup
		want string
	}{
		{retro.Lookup{Values: []string{"10.1.2.3"}}, "[m5=10.1.2.3 m0=10.1.2.3]"},
		{retro.Lookup{Values: []string{"10.1.2.3"}, Max: 1}, "[m5=10.1.2.3]"},
		{retro.Lookup{Values: []string{"10.1.2.3"}, Since: t0.Add(time.Hour)}, "[m5=10.1.2.3]"},
		{retro.Lookup{Prefixes: []string{"10.1."}}, "[m5=10.1.2.3 m1=10.1.9.9 m0=10.1.2.3]"},
		{retro.Lookup{Prefixes: []string{"10."}, Max: 2}, "[m5=10.1.2.3 m2=10.2.0.1]"},
		{retro.Lookup{Prefixes: []string{"2001:db8:"}}, "[m4=2001:db8:1::5]"},
		{retro.Lookup{Prefixes: []string{"2001:db8:1:2:3:"}}, "[]"},
		{retro.Lookup{Values: []string{"192.0.2.1"}}, "[]"},
	} {
		if g := got(c.l); g != c.want {
			t.Errorf("%+v: got %s, want %s", c.l, g, c.want)
		}
	}
	if ms, _ := s.Mentions(ctx, "nobody", retro.Lookup{Values: []string{"10.1.2.3"}}); len(ms) != 0 {
		t.Errorf("an unknown tenant has mentions: %v", ms)
	}
}

// A hunt whose hits lie in more data chunks than one query reads (they are
// read in groups, side by side) finds every one, newest first, and none of
// another tenant's.
func TestMentionsManyChunks(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	// A hit every 61 events puts one in each chunk of 128.
	const n = 10000
	want := 0
	for _, tenant := range []string{"A", "B"} {
		var recs []events.Record
		for i := range n {
			ip := fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1)
			if i%61 == 0 {
				ip = "203.0.113.7"
				if tenant == "A" {
					want++
				}
			}
			ev := &tansa.Event{ID: fmt.Sprintf("%s%d", tenant, i), TenantID: tenant, Time: t0.Add(time.Duration(i) * time.Second), Raw: []byte(ip), Fields: map[string]any{}}
			recs = append(recs, events.Record{Event: ev, Observables: []normalize.Observable{{Type: normalize.IP, Value: ip}}})
		}
		for start := 0; start < n; start += 4096 {
			if err := s.Put(ctx, recs[start:min(start+4096, n)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n/chunkEvents <= huntChunkGroup {
		t.Fatalf("the test needs hits in more than %d chunks, has %d", huntChunkGroup, n/chunkEvents)
	}
	ms, err := s.Mentions(ctx, "A", retro.Lookup{Values: []string{"203.0.113.7", "03.0.113.7"}})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for k, m := range ms {
		if m.Value != "203.0.113.7" || m.Ref[0] != 'A' {
			t.Fatalf("mention %d: %+v is not a hit of tenant A", k, m)
		}
		got++
		if k > 0 && ms[k-1].Time.Before(m.Time) {
			t.Fatalf("mentions %d and %d are not newest first", k-1, k)
		}
	}
	if got != want {
		t.Errorf("found %d mentions of 203.0.113.7, want %d", got, want)
	}
}

// A hunt reads the data chunks after the blocks that name them. A block
// that retention deletes in between is skipped rather than failing the
// hunt, and a block whose id another tenant's block took in between
// reports nothing of that tenant's events (the tenant wall).
// Both with the chunks' keys and, for a store written before them, without.
func TestMentionsBlocksChangedBeforeChunks(t *testing.T) {
	for _, keys := range []bool{true, false} {
		t.Run(fmt.Sprintf("keys=%v", keys), func(t *testing.T) { testMentionsBlocksChangedBeforeChunks(t, keys) })
	}
}

func testMentionsBlocksChangedBeforeChunks(t *testing.T, keys bool) {
	ctx := t.Context()
	s := openTestEvents(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const ip = "10.9.9.9"
	// Three Puts, three blocks: two of A's and one of B's.
	for i, tenant := range []string{"A", "A", "B"} {
		ev := &tansa.Event{ID: fmt.Sprintf("c%d", i), TenantID: tenant, Time: t0.Add(time.Duration(i) * time.Hour), Raw: []byte(ip), Fields: map[string]any{}}
		if err := s.Put(ctx, []events.Record{{Event: ev, Observables: []normalize.Observable{{Type: normalize.IP, Value: ip}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.BuildFilters(ctx); err != nil {
		t.Fatal(err)
	}
	if !keys {
		if _, err := s.w.ExecContext(ctx, "DELETE FROM event_keys"); err != nil {
			t.Fatal(err)
		}
	}
	tidA, tidB := tenantIDOf(t, s, "A"), tenantIDOf(t, s, "B")
	// A's hunt reads its blocks…
	positions, err := s.observablePositions(ctx, []int64{obsHash("A", ip)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for b := range positions {
		ids = append(ids, b)
	}
	slices.Sort(ids)
	reads, err := s.huntBlocks(ctx, tidA, 0, ids, positions, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 2 {
		t.Fatalf("A's hunt reads %d chunks, want 2 (one per block of A's)", len(reads))
	}
	want := map[string]bool{ip: true}
	if ms, err := s.readHits(ctx, tidA, reads, want); err != nil || len(ms) != 2 {
		t.Fatalf("before any change: %v, %v; want two mentions", ms, err)
	}
	byHash := map[int64][]string{obsHash("A", ip): {ip}}
	if ms, rest, err := s.readKeys(ctx, tidA, reads, byHash, 0); err != nil || (keys && (len(ms) != 2 || len(rest) != 0)) || (!keys && (len(ms) != 0 || len(rest) != 2)) {
		t.Fatalf("before any change, from the keys: %v, %d left, %v", ms, len(rest), err)
	}
	// …then retention deletes the first, and the second's id is taken by
	// a block of B's (its chunk and keys are B's now; here they keep their bytes,
	// which makes a leak visible).
	first, second := reads[0].id>>6, reads[1].id>>6
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM event_chunks WHERE id >= ? AND id < ?", []any{chunkID(first, 0), chunkID(first+1, 0)}},
		{"DELETE FROM event_keys WHERE id >= ? AND id < ?", []any{chunkID(first, 0), chunkID(first+1, 0)}},
		{"DELETE FROM event_blocks WHERE id = ?", []any{first}},
		{"UPDATE event_blocks SET tenant = ? WHERE id = ?", []any{tidB, second}},
	} {
		if _, err := s.w.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.readHits(ctx, tidA, reads, want)
	if err != nil {
		t.Fatalf("a block deleted by retention fails the hunt: %v", err)
	}
	if len(ms) != 0 {
		t.Errorf("A's hunt reports %v from blocks no longer A's", ms)
	}
	ms, rest, err := s.readKeys(ctx, tidA, reads, byHash, 0)
	if err != nil {
		t.Fatalf("a block deleted by retention fails the hunt's keys read: %v", err)
	}
	if len(ms) != 0 || len(rest) != 2 {
		t.Errorf("A's hunt reports %v from the keys of blocks no longer A's (%d chunks left for the data)", ms, len(rest))
	}
}
