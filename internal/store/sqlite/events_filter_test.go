package sqlite

import (
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// putOne stores one event of tenant A mentioning ip as its own block.
func putOne(t *testing.T, s *Events, i int, ip string) {
	t.Helper()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ev := &tansa.Event{ID: fmt.Sprintf("f%d", i), TenantID: "A", Time: t0.Add(time.Duration(i) * time.Minute), Raw: []byte(ip), Fields: map[string]any{}}
	if err := s.Put(t.Context(), []events.Record{{Event: ev, Observables: []normalize.Observable{{Type: normalize.IP, Value: ip}}}}); err != nil {
		t.Fatal(err)
	}
}

func filterEpochs(t *testing.T, s *Events) []int64 {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), "SELECT epoch FROM event_filters ORDER BY epoch")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var e int64
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Closed epochs get a filter as events are stored; hunts through the
// filters find every stored value exactly and nothing else; a damaged or
// missing filter is built again by the next hunt, which still finds
// everything meanwhile; an epoch that receives a block again (ids reused
// after retention emptied the store) loses its filter.
func TestEventFilters(t *testing.T) {
	ctx := t.Context()
	path := t.TempDir() + "/events.db"
	s, err := OpenEvents(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	n := 2<<epochBits + 5 // two closed epochs and an open one
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.7", i/256, i%256) }
	for i := range n {
		putOne(t, s, i, ip(i))
	}
	s.bg.Wait() // Put builds filters in the background
	if got := fmt.Sprint(filterEpochs(t, s)); got != "[0 1]" {
		t.Fatalf("filters of epochs %s, want [0 1] (epoch 2 is open)", got)
	}
	hunt := func(s *Events, values ...string) map[string]int {
		t.Helper()
		ms, err := s.Mentions(ctx, "A", retro.Lookup{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, m := range ms {
			out[m.Value]++
		}
		return out
	}
	all := make([]string, 0, n+2)
	for i := range n {
		all = append(all, ip(i))
	}
	all = append(all, "10.0.0.8", "0.10.0.7") // stored nowhere
	check := func(s *Events) {
		t.Helper()
		got := hunt(s, all...)
		if len(got) != n {
			t.Errorf("%d values found, want %d", len(got), n)
		}
		for i := range n {
			if got[ip(i)] != 1 {
				t.Errorf("%s found %d times, want once", ip(i), got[ip(i)])
			}
		}
	}
	check(s)
	// Every key of a filtered epoch is in its filter.
	fs, _, err := s.epochFilters(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT epoch, h FROM event_observables WHERE epoch < 2")
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for rows.Next() {
		var e, h int64
		if err := rows.Scan(&e, &h); err != nil {
			t.Fatal(err)
		}
		keys++
		if !fs[e].has(h) {
			t.Fatalf("epoch %d's filter lacks key %x", e, h)
		}
	}
	rows.Close()
	if keys == 0 {
		t.Fatal("no index rows")
	}
	var mm int64
	if err := s.r.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mm); err != nil || mm == 0 {
		t.Errorf("readers do not map the file: mmap_size %d, %v", mm, err)
	}
	s.Close()

	// Damage epoch 0's filter (all bits clear: it would rule every key
	// out) and drop epoch 1's; a fresh process must neither trust the
	// first nor miss the second's events.
	if s, err = OpenEvents(ctx, path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE event_filters SET filter = zeroblob(length(filter)) WHERE epoch = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM event_filters WHERE epoch = 1"); err != nil {
		t.Fatal(err)
	}
	check(s)
	if got := fmt.Sprint(filterEpochs(t, s)); got != "[0 1]" {
		t.Fatalf("after the hunt, filters of epochs %s, want [0 1]", got)
	}
	if _, missing, err := s.epochFilters(ctx, true); err != nil || len(missing) != 0 {
		t.Errorf("after the hunt, epochs %v still lack a sound filter (%v)", missing, err)
	}
	check(s)

	// Retention empties the store; block ids start again in epoch 0.
	if _, err := s.DeleteBefore(ctx, "A", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	putOne(t, s, 0, "192.0.2.55")
	if got := hunt(s, "192.0.2.55"); got["192.0.2.55"] != 1 {
		t.Errorf("a block stored in a filtered epoch is not found: %v", got)
	}
	s.Close()
}

// A filter holds every key added and rules out nearly all others: a
// filter that let most keys through would keep hunts exact but seek
// everything.
func TestEpochFilterRate(t *testing.T) {
	f := newEpochFilter(20000)
	for i := range 20000 {
		f.add(obsHash("A", fmt.Sprint("in-", i)))
	}
	for i := range 20000 {
		if !f.has(obsHash("A", fmt.Sprint("in-", i))) {
			t.Fatalf("key %d added but ruled out", i)
		}
	}
	fp := 0
	const probes = 1000000
	for i := range probes {
		if f.has(obsHash("A", fmt.Sprint("out-", i))) {
			fp++
		}
	}
	// At 24 bits per key about 1 in 10,000; 16 bits per key gave 1 in 1,000.
	if rate := float64(fp) / probes; rate > 0.0004 {
		t.Errorf("false-positive rate %.5f, want about 0.0001", rate)
	} else {
		t.Logf("false-positive rate %.5f", rate)
	}
	b, err := unmarshalFilter(f.marshal(), int64(crc32.Checksum(f.marshal(), castagnoli)))
	if err != nil || len(b.blocks) != len(f.blocks) || b.blocks[len(b.blocks)/2] != f.blocks[len(f.blocks)/2] {
		t.Errorf("a filter does not read back as written: %v", err)
	}
}

// The open epoch, which has no stored filter, has a live one: built from
// its rows when the store opens and fed by every Put after, it holds every
// key of its epoch (so hunts stay exact) and rules out values stored
// nowhere (so hunts do not seek them).
func TestLiveFilters(t *testing.T) {
	ctx := t.Context()
	path := t.TempDir() + "/events.db"
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.9", i/256, i%256) }
	live := func(s *Events, e int64) *liveFilter {
		s.fmu.Lock()
		defer s.fmu.Unlock()
		return s.live[e]
	}
	check := func(s *Events, n int) {
		t.Helper()
		s.bg.Wait()
		rows, err := s.r.QueryContext(ctx, "SELECT h FROM event_observables WHERE epoch = ?", epoch(int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		f := live(s, epoch(int64(n)))
		if f == nil {
			t.Fatalf("the open epoch %d has no live filter", epoch(int64(n)))
		}
		keys := 0
		for rows.Next() {
			var h int64
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			keys++
			if !f.has(h) {
				t.Fatalf("the live filter lacks key %x", h)
			}
		}
		rows.Close()
		if keys == 0 {
			t.Fatal("no index rows in the open epoch")
		}
		absent := 0
		for i := range 10000 {
			if !f.has(obsHash("A", fmt.Sprintf("192.0.%d.%d", i/256, i%256))) {
				absent++
			}
		}
		if absent < 9900 {
			t.Errorf("the live filter rules out %d of 10,000 absent values, want nearly all", absent)
		}
		values := []string{"10.250.0.1"} // stored nowhere
		for i := range n {
			values = append(values, ip(i))
		}
		ms, err := s.Mentions(ctx, "A", retro.Lookup{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, m := range ms {
			got[m.Value]++
		}
		for i := range n {
			if got[ip(i)] != 1 {
				t.Errorf("%s found %d times, want once", ip(i), got[ip(i)])
			}
		}
		if len(got) != n {
			t.Errorf("%d values found, want %d", len(got), n)
		}
	}
	s, err := OpenEvents(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	n := 1<<epochBits + 3 // one closed epoch and three blocks of the open one
	for i := range n {
		putOne(t, s, i, ip(i))
	}
	check(s, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened: the open epoch's filter is built from its rows, and Puts
	// keep adding to it.
	if s, err = OpenEvents(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, n)
	for i := n; i < n+5; i++ {
		putOne(t, s, i, ip(i))
	}
	check(s, n+5)
	// A stored filter replaces the live one once the epoch closes.
	for i := n + 5; i < 2<<epochBits+1; i++ {
		putOne(t, s, i, ip(i))
	}
	s.bg.Wait()
	if _, err := s.Mentions(ctx, "A", retro.Lookup{Values: []string{ip(0)}}); err != nil {
		t.Fatal(err)
	}
	if f := live(s, 1); f != nil {
		t.Error("epoch 1 keeps its live filter after its stored one was built")
	}
}
