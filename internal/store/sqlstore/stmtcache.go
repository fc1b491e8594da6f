package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// Stmts keeps the statements of a write path prepared on the writer pool,
// so that a batch does not compile the same SQL again — the multi-row
// inserts above all, whose compilation was 8 % of a sweep batch's CPU and
// 5 % of an event Put's. A statement is run unprepared the first time it
// is seen and prepared before the next batch begins (PrepareWanted):
// SQLite's writer pool has one connection, which a transaction holds, so
// nothing can be prepared on the pool inside one. The sweep ingest path
// (fleet.go) and the SQLite event store's Put use it.
type Stmts struct {
	w      *sql.DB
	d      Dialect
	mu     sync.Mutex
	ready  map[string]*sql.Stmt
	wanted map[string]bool
}

// NewStmts returns a cache of statements prepared on w, written with ?
// placeholders and rewritten for d.
func NewStmts(w *sql.DB, d Dialect) *Stmts { return &Stmts{w: w, d: d} }

// maxCached bounds the cache; a write path has a few dozen statements.
const maxCached = 256

// PrepareWanted prepares on the writer pool the statements seen since the
// last call. It must be called outside a write transaction. A statement
// that fails to prepare is left to run unprepared. The lock is not held
// while preparing: that waits for the writer connection, which another
// goroutine's transaction may hold while it looks a statement up here.
func (c *Stmts) PrepareWanted(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.wanted {
		delete(c.wanted, q)
		if c.ready[q] == nil && len(c.ready)+len(qs) < maxCached {
			qs = append(qs, q)
		}
	}
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.w.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.ready == nil {
			c.ready = map[string]*sql.Stmt{}
		}
		if c.ready[q] == nil {
			c.ready[q] = st
			st = nil
		}
		c.mu.Unlock()
		if st != nil {
			st.Close() // another PrepareWanted prepared it meanwhile
		}
	}
}

// Close closes the prepared statements.
func (c *Stmts) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.ready {
		st.Close()
		delete(c.ready, q)
	}
}

// cached returns q (already in the dialect's form) prepared, or nil after
// noting that it is wanted.
func (c *Stmts) cached(q string) *sql.Stmt {
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

// Exec runs q in tx, prepared when it has been before.
func (c *Stmts) Exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	q = c.d.Q(q)
	if st := c.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// QueryRow is Exec's QueryRowContext.
func (c *Stmts) QueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	q = c.d.Q(q)
	if st := c.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// chunkSizes are the row counts of the multi-row statements InsertRows
// splits rows into, largest first, so that only four statements per table
// are ever compiled.
var chunkSizes = [...]int{256, 32, 4, 1}

// InsertRows inserts rows of ncol values each, given one after another in
// args, with head + "(?, …), (?, …)…" + tail statements in chunks of
// chunkSizes.
func (c *Stmts) InsertRows(ctx context.Context, tx *sql.Tx, head, tail string, ncol int, args []any) error {
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	for _, size := range chunkSizes {
		if len(args) < size*ncol {
			continue
		}
		q := head + strings.TrimSuffix(strings.Repeat(ph+",", size), ",") + tail
		for len(args) >= size*ncol {
			if _, err := c.Exec(ctx, tx, q, args[:size*ncol]...); err != nil {
				return err
			}
			args = args[size*ncol:]
		}
	}
	return nil
}

// insertCached inserts rows through the statement cache (Stmts.InsertRows).
func (db *DB) insertCached(ctx context.Context, tx *sql.Tx, head, tail string, ncol int, rows [][]any) error {
	args := make([]any, 0, len(rows)*ncol)
	for _, r := range rows {
		args = append(args, r...)
	}
	return db.stmts.InsertRows(ctx, tx, head, tail, ncol, args)
}
