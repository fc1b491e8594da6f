package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
)

// TestRetentionFailureKeepsTheBlock checks that a retention rewrite that
// fails part-way leaves the block where it was, in the database and in
// the block directory, and leaves the writer free: the next Put and
// search work. (The directory once reloaded itself inside the failing
// transaction's deferred cleanup and waited for the writer forever.)
func TestRetentionFailureKeepsTheBlock(t *testing.T) {
	ctx := t.Context()
	s, err := OpenEvents(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		putOne(t, s, i, "203.0.113.5")
	}
	q := events.Query{Scope: access.Scope{All: true}, Observable: "203.0.113.5"}
	if _, n, err := s.Search(ctx, q); err != nil || n != 3 {
		t.Fatalf("before: %d, %v", n, err)
	}
	var b blockInfo
	if err := s.r.QueryRowContext(ctx, "SELECT id, tenant, tmin, tmax, n, errors FROM event_blocks ORDER BY id LIMIT 1").Scan(&b.id, &b.tenant, &b.tmin, &b.tmax, &b.n, &b.errs); err != nil {
		t.Fatal(err)
	}
	// A tenant name event_tenants lacks makes the re-insert fail after the
	// block's rows were deleted inside the transaction.
	done := make(chan error, 1)
	go func() {
		_, err := s.rewriteBlock(ctx, b, "no such tenant", b.tmin)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the rewrite succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the failing rewrite did not return: the writer is stuck")
	}
	if _, n, err := s.Search(ctx, q); err != nil || n != 3 {
		t.Fatalf("after the failed rewrite: %d, %v; want all 3", n, err)
	}
	putOne(t, s, 9, "203.0.113.5")
	if _, n, err := s.Search(ctx, q); err != nil || n != 4 {
		t.Fatalf("after another Put: %d, %v; want 4", n, err)
	}
	// A successful rewrite that keeps the block's event under the same id
	// (it is the newest block) leaves the directory right too.
	var last blockInfo
	if err := s.r.QueryRowContext(ctx, "SELECT id, tenant, tmin, tmax, n, errors FROM event_blocks ORDER BY id DESC LIMIT 1").Scan(&last.id, &last.tenant, &last.tmin, &last.tmax, &last.n, &last.errs); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.rewriteBlock(ctx, last, "A", last.tmin); err != nil || removed != 0 {
		t.Fatalf("rewrite keeping everything: removed %d, %v", removed, err)
	}
	s.dir.mu.RLock()
	got, ok := s.dir.blocks[last.id]
	s.dir.mu.RUnlock()
	if !ok || got.n != 1 || got.tenant != last.tenant {
		t.Fatalf("directory after the rewrite: %+v (present %t); want the new block under id %d", got, ok, last.id)
	}
	if _, n, err := s.Search(ctx, q); err != nil || n != 4 {
		t.Fatalf("after the rewrite: %d, %v; want 4", n, err)
	}
}
