package retro_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel/retro"
)

// countingIndex counts the lookups a hunt makes and which of them found something.
type countingIndex struct {
	retro.Index
	mu    sync.Mutex
	calls int
	hitAt []int
}

func (c *countingIndex) Mentions(ctx context.Context, tenant string, l retro.Lookup) ([]retro.Mention, error) {
	c.mu.Lock()
	slow := len(c.hitAt) > 0
	c.mu.Unlock()
	if slow {
		// Lookups after the first finding take a while, as on a large
		// store, so that the failed store of that finding is known long
		// before the last batch whatever the machine's load.
		time.Sleep(25 * time.Millisecond)
	}
	ms, err := c.Index.Mentions(ctx, tenant, l)
	c.mu.Lock()
	c.calls++
	if len(ms) > 0 {
		c.hitAt = append(c.hitAt, c.calls)
	}
	c.mu.Unlock()
	return ms, err
}

// TestHuntStopsAtFirstStoreFailure: when storing a batch's findings
// fails, the hunt stops there, not after looking up every remaining batch
// (those that find nothing used not to look at the store's error).
func TestHuntStopsAtFirstStoreFailure(t *testing.T) {
	f := newFixture(t)
	idx := &countingIndex{Index: f.evs}
	f.hunts = retro.New(f.db, f.db, f.intel, idx, f.alerts, f.db, retro.Options{Batch: 2})
	var doc []string
	for i := range 40 { // 20 batches of two
		ip := fmt.Sprintf("45.77.9.%d", i+1)
		if i < 2 {
			f.event(f.A, fmt.Sprintf("s-%d", i), time.Hour, map[string]any{"source.ip": ip})
		}
		doc = append(doc, ip)
	}
	f.alerts.fail = errors.New("the alert queue is down")
	jobs := f.importAndHunt(f.A, strings.Join(doc, "\n"))
	j := jobs[0]
	if j.Status != retro.StatusFailed {
		t.Fatalf("job %+v: want failed", j)
	}
	t.Logf("lookups %d, lookups that found something: %v, Done %d, Hits %d", idx.calls, idx.hitAt, j.Done, j.Hits)
	if len(idx.hitAt) != 1 || idx.hitAt[0] != 1 {
		t.Fatalf("lookups that found something: %v, want the first only", idx.hitAt)
	}
	if idx.calls >= 20 {
		t.Errorf("storing batch 1's findings failed, yet the hunt went on to all %d lookups", idx.calls)
	}
}
