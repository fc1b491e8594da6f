package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCache keeps the statements of the sweep ingest path prepared on the
// writer pool, so that a batch does not compile the same SQL again — the
// multi-row inserts above all, whose compilation was 8 % of a batch's CPU.
// A statement is run unprepared the first time it is seen and prepared
// before the next batch begins: SQLite's writer pool has one connection,
// which a transaction holds, so nothing can be prepared on the pool inside
// one.
type stmtCache struct {
	mu     sync.Mutex
	ready  map[string]*sql.Stmt
	wanted map[string]bool
}

// maxCached bounds the cache; the ingest path has a few dozen statements.
const maxCached = 256

// prepareWanted prepares on the writer pool the statements seen since the
// last call. It must be called outside a write transaction. A statement
// that fails to prepare is left to run unprepared.
func (db *DB) prepareWanted(ctx context.Context) {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.wanted {
		delete(c.wanted, q)
		if len(c.ready) >= maxCached {
			continue
		}
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		if c.ready == nil {
			c.ready = map[string]*sql.Stmt{}
		}
		c.ready[q] = st
	}
}

// cached returns q (already in the dialect's form) prepared, or nil after
// noting that it is wanted.
func (db *DB) cached(q string) *sql.Stmt {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.ready[q]; st != nil {
		return st
	}
	if len(c.ready) < maxCached {
		if c.wanted == nil {
			c.wanted = map[string]bool{}
		}
		c.wanted[q] = true
	}
	return nil
}

// sx is exec through the statement cache.
func (db *DB) sx(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	q = db.d.Q(q)
	if st := db.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// sqRow is QueryRowContext through the statement cache.
func (db *DB) sqRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	q = db.d.Q(q)
	if st := db.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// chunkSizes are the row counts of the multi-row statements insertCached
// splits rows into, largest first, so that only four statements per table
// are ever compiled.
var chunkSizes = [...]int{256, 32, 4, 1}

// insertCached inserts rows as insertMany does, in chunks of chunkSizes
// through the statement cache.
func (db *DB) insertCached(ctx context.Context, tx *sql.Tx, head, tail string, ncol int, rows [][]any) error {
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	for _, size := range chunkSizes {
		if len(rows) < size {
			continue
		}
		q := head + strings.TrimSuffix(strings.Repeat(ph+",", size), ",") + tail
		args := make([]any, 0, size*ncol)
		for len(rows) >= size {
			args = args[:0]
			for _, r := range rows[:size] {
				args = append(args, r...)
			}
			if _, err := db.sx(ctx, tx, q, args...); err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}
