package sqlite

import (
	"encoding/binary"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Every field type a parser stores comes back as it was, and so do the
// other columns.
func TestBlockRoundTrip(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var evs []*tansa.Event
	var obs [][]normalize.Observable
	for i := range 300 {
		ev := &tansa.Event{ID: "b-" + string(rune('a'+i%26)), Time: at.Add(time.Duration(i) * time.Second), Received: at.Add(time.Hour), Source: "s", Format: "kv",
			Raw: []byte("x"), Fields: map[string]any{"s": "v", "i": int64(-7), "f": 1.5, "t": true, "n": nil, "l": []string{"a", "b"}}}
		if i%2 == 0 {
			ev.Fields = map[string]any{"only": "even"}
			ev.ParseError = "bad"
			ev.Received = time.Time{}
		}
		evs = append(evs, ev)
		obs = append(obs, []normalize.Observable{{Type: normalize.IP, Value: "192.0.2.1"}})
	}
	dat := c.encodeChunks(new([]byte), len(evs), func(buf []byte, lo, hi int) []byte { return encodeData(buf, evs[lo:hi], obs[lo:hi]) })
	if len(dat) != 3 {
		t.Fatalf("%d chunks for 300 events, want 3", len(dat))
	}
	for ci := range 3 {
		plain, err := c.decode(dat[ci])
		if err != nil {
			t.Fatal(err)
		}
		got, rcv, gobs, err := decodeData(plain, -1)
		if err != nil {
			t.Fatal(err)
		}
		for j, g := range got {
			want := evs[ci*chunkEvents+j]
			if g.ID != want.ID || g.ParseError != want.ParseError || g.Format != "kv" || !reflect.DeepEqual(g.Fields, want.Fields) || !reflect.DeepEqual(gobs[j], obs[0]) {
				t.Fatalf("event %d: got %+v, want %+v", ci*chunkEvents+j, g, want)
			}
			if want.Received.IsZero() != (rcv[j] == noReceived) {
				t.Fatalf("event %d: received %d", j, rcv[j])
			}
		}
	}
	// One event alone comes back whole; the others without fields.
	plain, _ := c.decode(dat[1])
	got, _, gobs, err := decodeData(plain, 5)
	if err != nil || !reflect.DeepEqual(got[5].Fields, evs[chunkEvents+5].Fields) || got[4].Fields != nil || gobs[4] != nil || gobs[5] == nil {
		t.Fatalf("one event: %+v %v", got[4:6], err)
	}
}

// A damaged block is an error, never a panic.
func FuzzDecodeData(f *testing.F) {
	evs := []*tansa.Event{{ID: "x", Fields: map[string]any{"a": "b", "n": int64(1), "l": []string{"c"}}}}
	f.Add(encodeData(nil, evs, [][]normalize.Observable{{{Type: normalize.IP, Value: "192.0.2.1"}}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeData(b, -1)
		decodeData(b, 1)
		decodeTimes(b, 10)
		decodeRaw(b, 5)
		decodePositions(b)
	})
}

// Words are found whole, in order, case-folded, as the index splits them.
func TestMatchText(t *testing.T) {
	for _, c := range []struct {
		text, raw string
		want      bool
	}{
		{"failed ROOT", "Failed password for root from 198.51.100.7", true},
		{"203.0.113.5", "deny 203.0.113.5 -> x", true},
		{"203.0.113.5", "deny 203.0.113.50 -> x", false},
		{"pay*", "GET http://evil.example/payload.exe", true},
		{"Straße", "user=STRASSE", false},
		{"ｆｕｌｌ", "ＦＵＬＬ width", true},
		{"Überweisung", "überweisung ok", true},
		{"admin123", "user=ADMIN123; ok", true},
		{"admin123", "user=admin12 3", false},
		{"k8s", "K8s pods", true}, // the Kelvin sign folds to k
		{"ad*", "x=AdMiNiStRaToR", true},
		{"failed password", "password failed", true},
		{"failed password", "Failed login", false},
	} {
		words, _ := parseText(c.text)
		m := &matcher{words: words}
		if got := m.match([]byte(c.raw)); got != c.want {
			t.Errorf("%q in %q: %v, want %v", c.text, c.raw, got, c.want)
		}
	}
}

// The full-text index and the check agree on words beyond ASCII: every
// word the check accepts is found through the index.
func TestEventsTextUnicode(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
	raws := []string{"ＦＵＬＬ width Überweisung", "ログイン失敗 user=山田", "Ωmega café", "a_b-c.d/e:f"}
	var recs []events.Record
	for i, r := range raws {
		recs = append(recs, events.Record{Event: &tansa.Event{ID: "u" + strconv.Itoa(i), TenantID: "A", Time: time.Now(), Raw: []byte(r), Fields: map[string]any{}}})
	}
	if err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"ｆｕｌｌ": "u0", "überweisung": "u0", "山田": "u1", "ωMEGA": "u2", "CAFÉ": "u2", "caf*": "u2", "b-c": "u3", "e:f": "u3"} {
		evs, total, err := s.Search(ctx, events.Query{Scope: access.Scope{All: true}, Text: q, Page: access.Page{Limit: 5}})
		if err != nil || total != 1 || evs[0].ID != want {
			t.Errorf("%q: %d events (%v), want %s", q, total, err, want)
		}
	}
}

// A page of a frequent word with a count limit reads the newest blocks
// only: the count stops soon after the limit instead of reading all 40
// blocks.
func TestSearchCountLimitStopsEarly(t *testing.T) {
	s, err := OpenEvents(t.Context(), t.TempDir()+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for b := range 40 {
		var recs []events.Record
		for i := range 100 {
			n := b*100 + i
			ev := &tansa.Event{ID: "w-" + strconv.Itoa(n), TenantID: "A", Time: at.Add(time.Duration(n) * time.Second), Source: "s", Format: "raw",
				Raw: []byte("deny tcp from 10.0.0." + strconv.Itoa(i)), Fields: map[string]any{}}
			recs = append(recs, events.Record{Event: ev, Observables: normalize.Observables(ev)})
		}
		if err := s.Put(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	q := events.Query{Scope: access.Scope{Tenants: []string{"A"}}, Text: "deny", CountLimit: 250, Page: access.Page{Limit: 20}}
	evs, total, err := s.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 20 || evs[0].ID != "w-3999" {
		t.Fatalf("page: %d events, first %v", len(evs), evs)
	}
	if total <= 250 || total > 400 {
		t.Fatalf("total %d: want the count to stop within two blocks past the limit of 250", total)
	}
	q.CountLimit = 0
	if _, total, _ := s.Search(t.Context(), q); total != 4000 {
		t.Fatalf("exact total %d, want 4000", total)
	}
}

// The one-pass check that rules records out before tokenizing never
// changes an answer: match with it agrees with the words of tokenize.
func FuzzMatchText(f *testing.F) {
	for _, c := range [][2]string{{"admin123", "user=ADMIN123"}, {"k8s", "\u212a8s"}, {"pay*", "PAYLOAD.exe"}, {"a b", "b a"}, {"İstanbul", "istanbul"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, text, raw string) {
		words, ok := parseText(text)
		if !ok {
			return
		}
		m := &matcher{words: words}
		got := m.match([]byte(raw))
		m.buf, m.spans = tokenize(nil, nil, []byte(raw))
		want := true
		for _, w := range words {
			if !m.has(w) {
				want = false
			}
		}
		if got != want {
			t.Fatalf("%q in %q: match %v, the words say %v", text, raw, got, want)
		}
	})
}

// A dataEncoder, chunkWords and obsRows reused across chunks and blocks
// (as a pooled encodeScratch is) give exactly what fresh ones give: no
// column, word or position of one chunk leaks into the next.
func TestEncodeScratchReuse(t *testing.T) {
	chunk := func(seed int) ([]*tansa.Event, [][]normalize.Observable, [][]byte) {
		var evs []*tansa.Event
		var obs [][]normalize.Observable
		var raws [][]byte
		for i := range 40 + seed {
			f := map[string]any{"n": int64(i), "seed" + strconv.Itoa(seed): "x" + strconv.Itoa(i%3)}
			if i%3 == seed%3 {
				f["odd"] = []string{"a", strconv.Itoa(seed)}
			}
			evs = append(evs, &tansa.Event{ID: strconv.Itoa(seed) + "-" + strconv.Itoa(i), Fields: f})
			obs = append(obs, []normalize.Observable{{Type: normalize.IP, Value: "192.0.2." + strconv.Itoa(i%7)}})
			raws = append(raws, []byte("word"+strconv.Itoa(seed)+" common Ünïcode "+strconv.Itoa(i%5)))
		}
		return evs, obs, raws
	}
	var d dataEncoder
	var w chunkWords
	var o obsRows
	var buf []byte
	for seed := range 5 {
		evs, obs, raws := chunk(seed)
		buf = d.encode(buf[:0], evs, obs)
		if want := encodeData(nil, evs, obs); string(buf) != string(want) {
			t.Fatalf("chunk %d: reused encoder wrote %d bytes unlike a fresh one's %d", seed, len(buf), len(want))
		}
		if got, want := w.document(raws), blockWords(raws); got != want {
			t.Fatalf("chunk %d: words %q, want %q", seed, got, want)
		}
		// The reference: the map of positions insertBlock built before.
		o.reset()
		pos := map[int64][]byte{}
		last := map[int64]int{}
		for i := range evs {
			for _, h := range []int64{int64(i % 7), int64(i % 7), int64(100 + seed), int64(-i)} {
				o.add(i, h)
				if l, ok := last[h]; !ok || l != i+1 {
					pos[h] = binary.AppendUvarint(pos[h], uint64(i+1-l))
					last[h] = i + 1
				}
			}
		}
		order, got := o.rows()
		if len(order) != len(pos) || !slices.IsSorted(order) {
			t.Fatalf("chunk %d: keys %v", seed, order)
		}
		for k, h := range order {
			if string(got[k]) != string(pos[h]) {
				t.Fatalf("chunk %d: key %d positions %v, want %v", seed, h, got[k], pos[h])
			}
		}
	}
}
