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

// putKeyed stores n events of tenant A, one hit of 203.0.113.7 every 61
// (one in each chunk), the others with an address and a domain of their
// own, 4,096 a Put.
func putKeyed(t *testing.T, s *Events, n int) {
	t.Helper()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var recs []events.Record
	for i := range n {
		ip := fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1)
		if i%61 == 0 {
			ip = "203.0.113.7"
		}
		ev := &tansa.Event{ID: fmt.Sprintf("k%d", i), TenantID: "A", Time: t0.Add(time.Duration(i) * time.Second), Raw: []byte(ip),
			Fields: map[string]any{"n": int64(i), "msg": "a field the keys leave out"}}
		recs = append(recs, events.Record{Event: ev, Observables: []normalize.Observable{
			{Type: normalize.IP, Value: ip}, {Type: normalize.Domain, Value: fmt.Sprintf("d%d.example", i)}}})
	}
	for start := 0; start < n; start += 4096 {
		if err := s.Put(t.Context(), recs[start:min(start+4096, n)]); err != nil {
			t.Fatal(err)
		}
	}
}

func mentionList(t *testing.T, s *Events, values ...string) []string {
	t.Helper()
	ms, err := s.Mentions(t.Context(), "A", retro.Lookup{Values: values})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s=%s@%s", m.Ref, m.Value, m.Time.Format(time.TimeOnly)))
	}
	return out
}

func chunkIDs(t *testing.T, s *Events, table string) []int64 {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), "SELECT id FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// A store written before event_keys existed (its chunks have no keys
// row), or partly before, is hunted through the chunks' data: the same
// mentions as with every chunk's keys.
func TestMentionsChunksWithoutKeys(t *testing.T) {
	ctx := t.Context()
	s, err := OpenEvents(ctx, t.TempDir()+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 10000
	putKeyed(t, s, n)
	if got, want := len(chunkIDs(t, s, "event_keys")), len(chunkIDs(t, s, "event_chunks")); got != want || got == 0 {
		t.Fatalf("%d keys rows for %d chunks", got, want)
	}
	values := []string{"203.0.113.7", "d4242.example", "10.0.1.1", "03.0.113.7", "4242.example"}
	want := mentionList(t, s, values...)
	if len(want) != n/61+1+1+1 {
		t.Fatalf("with keys: %d mentions, want %d: %v", len(want), n/61+3, want)
	}
	for _, c := range []struct{ name, del string }{
		{"half the chunks without keys", "DELETE FROM event_keys WHERE id % 2 = 0"},
		{"no keys at all", "DELETE FROM event_keys"},
	} {
		if _, err := s.w.ExecContext(ctx, c.del); err != nil {
			t.Fatal(err)
		}
		if got := mentionList(t, s, values...); !slices.Equal(got, want) {
			t.Errorf("%s: %d mentions, want the %d found with keys:\n got %v\nwant %v", c.name, len(got), len(want), got, want)
		}
	}
}

// Every chunk has its keys, which hold its events' IDs and observables as
// its data does, after Puts and after retention rewrote a block; a deleted
// block's keys go with it.
func TestEventKeysFollowChunks(t *testing.T) {
	ctx := t.Context()
	s, err := OpenEvents(ctx, t.TempDir()+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	putKeyed(t, s, 10000)
	check := func(when string) {
		t.Helper()
		chunks, keys := chunkIDs(t, s, "event_chunks"), chunkIDs(t, s, "event_keys")
		if !slices.Equal(chunks, keys) {
			t.Fatalf("%s: chunks %v, keys %v", when, chunks, keys)
		}
		for _, id := range chunks {
			var dat, key []byte
			if err := s.r.QueryRowContext(ctx, "SELECT c.data, k.keys FROM event_chunks c JOIN event_keys k ON k.id = c.id WHERE c.id = ?", id).Scan(&dat, &key); err != nil {
				t.Fatal(err)
			}
			plain, err := s.c.decode(dat)
			if err != nil {
				t.Fatal(err)
			}
			evs, _, obs, err := decodeData(plain, -1)
			if err != nil {
				t.Fatal(err)
			}
			kp, err := s.c.decode(key)
			if err != nil {
				t.Fatal(err)
			}
			at := make([]int, len(evs))
			want := map[string]bool{}
			var wantHits []string
			for i := range evs {
				at[i] = i
				for _, o := range obs[i] {
					want[o.Value] = true
					wantHits = append(wantHits, evs[i].ID+"="+o.Value)
				}
			}
			var got []string
			if err := scanKeys(kp, at, want, func(k int, id, value string) { got = append(got, id+"="+value) }); err != nil {
				t.Fatalf("%s: chunk %d: %v", when, id, err)
			}
			if !slices.Equal(got, wantHits) {
				t.Fatalf("%s: chunk %d's keys hold %v, its data %v", when, id, got, wantHits)
			}
		}
	}
	check("after Put")
	before := mentionList(t, s, "203.0.113.7")
	// Retention from 1,000 s in: the first block is written again without
	// its first 1,000 events.
	cut := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(1000 * time.Second)
	if n, err := s.DeleteBefore(ctx, "A", cut); err != nil || n != 1000 {
		t.Fatalf("retention removed %d events, %v; want 1000", n, err)
	}
	check("after retention")
	var kept []string
	for _, m := range before {
		var i int
		fmt.Sscanf(m, "k%d=", &i)
		if i >= 1000 {
			kept = append(kept, m)
		}
	}
	if got := mentionList(t, s, "203.0.113.7"); !slices.Equal(got, kept) {
		t.Errorf("after retention: %d mentions, want the %d kept", len(got), len(kept))
	}
}
