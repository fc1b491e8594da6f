package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
)

// blockDir is the block directory in memory: every stored block's tenant,
// time bounds and counts by its id, about 100 bytes a block (12 MB for a
// billion events in blocks of 8,192). A search whose indexes name its
// candidate blocks (an observable, words) looks them up here instead of
// reading thousands of event_blocks rows through SQLite, which cost more
// than the rest of a page of 50 events over 10M stored ones.
//
// Only this process writes the event database (the live observable
// filters rest on the same fact), so the directory follows every change:
// Put adds its blocks and retention swaps a rewritten block, each once its
// transaction has committed. A search that runs between a commit and the
// update misses the blocks just stored, as it would have had it started a
// moment earlier; it never sees a block that is not committed.
type blockDir struct {
	mu     sync.RWMutex
	blocks map[int64]blockInfo
}

// load fills the directory from event_blocks.
func (d *blockDir) load(ctx context.Context, q querier) error {
	rows, err := q.QueryContext(ctx, "SELECT id, tenant, tmin, tmax, n, errors FROM event_blocks")
	if err != nil {
		return fmt.Errorf("block directory: %w", err)
	}
	defer rows.Close()
	blocks := map[int64]blockInfo{}
	for rows.Next() {
		var b blockInfo
		if err := rows.Scan(&b.id, &b.tenant, &b.tmin, &b.tmax, &b.n, &b.errs); err != nil {
			return fmt.Errorf("block directory: %w", err)
		}
		blocks[b.id] = b
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("block directory: %w", err)
	}
	d.mu.Lock()
	d.blocks = blocks
	d.mu.Unlock()
	return nil
}

// update removes the blocks of ids and then adds blocks, under one lock:
// a block rewritten by retention may come back under its old id.
func (d *blockDir) update(ids []int64, blocks []blockInfo) {
	d.mu.Lock()
	for _, id := range ids {
		delete(d.blocks, id)
	}
	for _, b := range blocks {
		d.blocks[b.id] = b
	}
	d.mu.Unlock()
}

// pick returns the blocks among ids that keep accepts, latest first (by
// tmax, then id, as the SQL path orders them).
func (d *blockDir) pick(ids map[int64]bool, keep func(b blockInfo) bool) []blockInfo {
	out := make([]blockInfo, 0, len(ids))
	d.mu.RLock()
	for id := range ids {
		if b, ok := d.blocks[id]; ok && keep(b) {
			out = append(out, b)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(out, func(a, b blockInfo) int {
		if a.tmax != b.tmax {
			return cmp.Compare(b.tmax, a.tmax)
		}
		return cmp.Compare(b.id, a.id)
	})
	return out
}
