package sqlite

import (
	"encoding/binary"
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

// keysToV1 rewrites the keys rows matching where in version 1, as hunt5
// wrote them: zstd of the event count, the IDs, then each event's
// observables' types and values, all taken from the chunk's data.
func keysToV1(t *testing.T, s *Events, where string) {
	t.Helper()
	ctx := t.Context()
	ids := chunkIDs(t, s, "event_keys WHERE "+where)
	for _, id := range ids {
		var dat []byte
		if err := s.r.QueryRowContext(ctx, "SELECT data FROM event_chunks WHERE id = ?", id).Scan(&dat); err != nil {
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
		buf := binary.AppendUvarint(nil, uint64(len(evs)))
		for _, ev := range evs {
			buf = appendString(buf, ev.ID)
		}
		for i := range evs {
			buf = binary.AppendUvarint(buf, uint64(len(obs[i])))
			for _, o := range obs[i] {
				buf = appendString(buf, string(o.Type))
				buf = appendString(buf, o.Value)
			}
		}
		if _, err := s.w.ExecContext(ctx, "UPDATE event_keys SET keys = ? WHERE id = ?", s.c.enc.EncodeAll(buf, nil), id); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no keys rows where %s", where)
	}
}

// A store written before event_keys existed (its chunks have no keys
// row), or partly before, is hunted through the chunks' data, and one
// written with version 1 keys (hunt5) through those: the same mentions as
// with every chunk's version 2 keys.
func TestMentionsChunksWithoutKeys(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
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
	for _, c := range []struct{ name, v1, del string }{
		{"a third of the chunks with version 1 keys", "id % 3 = 0", ""},
		{"every chunk with version 1 keys", "1", ""},
		{"half the chunks without keys, the others version 1", "", "DELETE FROM event_keys WHERE id % 2 = 0"},
		{"no keys at all", "", "DELETE FROM event_keys"},
	} {
		if c.v1 != "" {
			keysToV1(t, s, c.v1)
		}
		if _, err := s.w.ExecContext(ctx, c.del); c.del != "" && err != nil {
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
	s := openTestEvents(t)
	putKeyed(t, s, 10000)
	check := func(when string) {
		t.Helper()
		chunks, keys := chunkIDs(t, s, "event_chunks"), chunkIDs(t, s, "event_keys")
		if !slices.Equal(chunks, keys) {
			t.Fatalf("%s: chunks %v, keys %v", when, chunks, keys)
		}
		for _, id := range chunks {
			var dat, key, tb []byte
			var n int
			if err := s.r.QueryRowContext(ctx, "SELECT c.data, k.keys, b.times, b.n FROM event_chunks c JOIN event_keys k ON k.id = c.id JOIN event_blocks b ON b.id = c.id >> 6 WHERE c.id = ?", id).Scan(&dat, &key, &tb, &n); err != nil {
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
			times, err := decodeTimes(tb, n)
			if err != nil {
				t.Fatal(err)
			}
			if key[0] != keysV2 {
				t.Fatalf("%s: chunk %d's keys are not version 2 (first byte %#x)", when, id, key[0])
			}
			at := make([]int, len(evs))
			var wantHits, got []string
			for i := range evs {
				at[i] = i
				hit := fmt.Sprintf("%s@%d:", evs[i].ID, times[int(id&63)*chunkEvents+i])
				for _, o := range obs[i] {
					hit += fmt.Sprintf(" %x", uint64(obsHash("A", o.Value)))
				}
				wantHits = append(wantHits, hit)
			}
			err = scanKeysV2(key, at, func(k int, h keyHit) {
				hit := fmt.Sprintf("%s@%d:", h.id, h.t)
				for j := 0; j < len(h.hashes); j += 8 {
					hit += fmt.Sprintf(" %x", binary.LittleEndian.Uint64(h.hashes[j:]))
				}
				got = append(got, hit)
			})
			if err != nil {
				t.Fatalf("%s: chunk %d: %v", when, id, err)
			}
			if !slices.Equal(got, wantHits) {
				t.Fatalf("%s: chunk %d's keys hold %v, its data and block %v", when, id, got, wantHits)
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

// When two of a hunt's values share a hash, the version 2 keys (hashes
// only) cannot say which one an event holds: those chunks are read from
// their data and the values compared, so each value gets its own events
// and no other's. (A real 64-bit collision cannot be written down here:
// the shared hash is forged in the lookup.)
func TestMentionsValuesSharingAHash(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
	const n = 3000
	putKeyed(t, s, n)
	tid := tenantIDOf(t, s, "A")
	const ip, twin, other = "203.0.113.7", "shares-its-hash", "d1000.example"
	h := obsHash("A", ip)
	values := []string{ip, twin, other}
	want := map[string]bool{ip: true, twin: true, other: true}
	byHash := map[int64][]string{h: {twin, ip}, obsHash("A", other): {other}}
	ms, err := s.mentionsOfHashes(ctx, tid, values, want, byHash, []int64{h, obsHash("A", other)}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ms {
		count[m.Value]++
	}
	if count[ip] != (n+60)/61 || count[twin] != 0 || count[other] != 1 {
		t.Errorf("mentions per value %v; want %d of %s, none of %s, one of %s", count, (n+60)/61, ip, twin, other)
	}
	// The same lookup without the shared hash: the same mentions.
	if got, want := mentionList(t, s, values...), mentionList(t, s, ip, other); !slices.Equal(got, want) || len(got) != len(ms) {
		t.Errorf("without a shared hash %d mentions, with it %d", len(got), len(ms))
	}
}

// FuzzScanKeysV2 feeds damaged version 2 keys rows to the hunt's decoder:
// an error, never a panic, and every hash it hands out lies in the row.
func FuzzScanKeysV2(f *testing.F) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var recs []events.Record
	for i := range 5 {
		recs = append(recs, events.Record{Event: &tansa.Event{ID: fmt.Sprintf("batch-%d", i), TenantID: "A", Time: t0.Add(time.Duration(i) * time.Second)},
			Observables: []normalize.Observable{{Type: normalize.IP, Value: fmt.Sprintf("10.0.0.%d", i)}}[:i%2]})
	}
	row := appendKeysV2(nil, recs, obsHashes(recs))
	f.Add(row, uint8(0b10101))
	f.Add(row[:len(row)-3], uint8(0xff))
	f.Add([]byte{keysV2}, uint8(1))
	f.Add([]byte{keysV2, 200, 1}, uint8(1))
	f.Add(append(slices.Clone(row[:2]), 0xff, 0xff, 0xff, 0xff, 0x0f), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, mask uint8) {
		var at []int
		for i := range 8 {
			if mask&(1<<i) != 0 {
				at = append(at, i)
			}
		}
		err := scanKeysV2(b, at, func(k int, h keyHit) {
			if len(h.hashes)%8 != 0 || len(h.hashes) > len(b) {
				t.Fatalf("event %d: %d bytes of hashes from a row of %d", k, len(h.hashes), len(b))
			}
		})
		if err == nil && (len(b) == 0 || b[0] != keysV2) {
			t.Fatal("a row that is not version 2 was read")
		}
	})
}
