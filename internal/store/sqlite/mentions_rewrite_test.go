package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestMentionsBlockRewrittenUnderTheSameID: retention rewrites a block
// between a hunt's index lookup and its chunk reads. The tenant's kept
// events go into a new block which, the old one being the latest, takes
// the same id with fewer events. The hunt skips the changed chunks, as it
// does a deleted block's, instead of failing on positions past the new
// chunk's events ("fewer events than the index says") or reporting events
// by positions that now name others.
func TestMentionsBlockRewrittenUnderTheSameID(t *testing.T) {
	ctx := t.Context()
	s := openTestEvents(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const ip = "10.9.9.9"
	var recs []events.Record
	for i := range 10 {
		ev := &tansa.Event{ID: fmt.Sprintf("r%d", i), TenantID: "A", Time: t0.Add(time.Duration(i) * time.Hour), Raw: []byte(ip), Fields: map[string]any{}}
		recs = append(recs, events.Record{Event: ev, Observables: []normalize.Observable{{Type: normalize.IP, Value: ip}}})
	}
	if err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	tid := tenantIDOf(t, s, "A")
	h := obsHash("A", ip)
	positions, err := s.observablePositions(ctx, []int64{h})
	if err != nil {
		t.Fatal(err)
	}
	var before []int64
	for b := range positions {
		before = append(before, b)
	}
	reads, err := s.huntReads(ctx, tid, 0, positions, false)
	if err != nil {
		t.Fatal(err)
	}
	readsT, err := s.huntReads(ctx, tid, 0, positions, true)
	if err != nil {
		t.Fatal(err)
	}
	// Retention runs now, after the blocks were read and before their
	// chunks are: the five oldest go, the block is stored again.
	if n, err := s.DeleteBefore(ctx, "A", t0.Add(5*time.Hour)); err != nil || n != 5 {
		t.Fatalf("DeleteBefore: %d, %v", n, err)
	}
	var after int64
	if err := s.r.QueryRowContext(ctx, "SELECT id FROM event_blocks").Scan(&after); err != nil {
		t.Fatal(err)
	}
	t.Logf("block ids before %v, after %d", before, after)
	ms, rest, err := s.readKeys(ctx, tid, reads, map[int64][]string{h: {ip}}, 0)
	if err != nil {
		t.Errorf("keys v2 path: a block rewritten by retention fails the hunt: %v", err)
	}
	if len(ms) != 0 || len(rest) != 0 {
		t.Errorf("keys v2 path: %d mentions and %d chunks left to read from a rewritten block, want none", len(ms), len(rest))
	}
	ms, err = s.readHits(ctx, tid, readsT, map[string]bool{ip: true})
	if err != nil {
		t.Errorf("data path: a block rewritten by retention fails the hunt: %v", err)
	}
	if len(ms) != 0 {
		t.Errorf("data path: %d mentions from a rewritten block, want none", len(ms))
	}
}
