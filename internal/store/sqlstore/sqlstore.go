// Package sqlstore implements the access store over database/sql with SQL
// that both SQLite and PostgreSQL accept. The few differences between the
// two — placeholders and how a unique-key violation is reported — are in
// Dialect, which the backend packages (internal/store/sqlite,
// internal/store/postgres) supply together with their connections and
// migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Dialect is what differs between the SQL engines.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, …) instead of ?.
	Numbered bool
	// DenseIDs says that an append-only table's auto-increment IDs have no
	// gaps (SQLite's AUTOINCREMENT rolls back with its transaction), so its
	// highest ID is its row count; PostgreSQL's sequences leave gaps.
	DenseIDs bool
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
}

// DB is the access store over one writer and one reader pool (the same pool
// on engines with concurrent writers).
type DB struct {
	w, r *sql.DB
	d    Dialect
	// sweeps queues concurrent sweep uploads for one transaction (fleet.go).
	sweeps sweepQueue
	// stmts keeps the sweep ingest path's statements prepared (stmtcache.go).
	stmts *Stmts
}

var _ access.Store = (*DB)(nil)

// New returns a store that writes through w and reads through r.
func New(w, r *sql.DB, d Dialect) *DB { return &DB{w: w, r: r, d: d, stmts: NewStmts(w, d)} }

// Writer returns the writer pool, for the backends' own statements.
func (db *DB) Writer() *sql.DB { return db.w }

// Reader returns the reader pool.
func (db *DB) Reader() *sql.DB { return db.r }

// Dialect returns the dialect the store was made with.
func (db *DB) Dialect() Dialect { return db.d }

// Q rewrites a query written with ? placeholders for the dialect.
func (d Dialect) Q(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (db *DB) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, db.d.Q(q), args...)
}

// tx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Micros stores times as microseconds since the epoch: portable, sortable and
// free of time-zone conversions; the zero time is 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func FromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (db *DB) conflict(err error, format string, args ...any) error {
	if db.d.IsUnique != nil && db.d.IsUnique(err) {
		return tansa.Errorf(tansa.Conflict, format, args...)
	}
	return err
}

func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return tansa.Errorf(tansa.NotFound, "%s %q not found", what, id)
	}
	return err
}

// Where collects the conditions of a WHERE clause and their arguments,
// for the backends' own queries too.
type Where struct {
	Conds []string
	Args  []any
	// CountSQL, when set, replaces the COUNT(*) of a list with a cheaper
	// query that gives the same number; CountArgs are its arguments.
	CountSQL  string
	CountArgs []any
}

func (w *Where) Add(cond string, args ...any) {
	w.Conds = append(w.Conds, cond)
	w.Args = append(w.Args, args...)
}

func (w *Where) String() string {
	if len(w.Conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.Conds, " AND ")
}

// Scope adds the tenant condition of sc on column col.
func (w *Where) Scope(col string, sc access.Scope) {
	if sc.All {
		return
	}
	if len(sc.Tenants) == 0 && !sc.Provider {
		w.Add("1 = 0")
		return
	}
	var parts []string
	if len(sc.Tenants) > 0 {
		parts = append(parts, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(sc.Tenants)), ",")+")")
		for _, t := range sc.Tenants {
			w.Args = append(w.Args, t)
		}
	}
	if sc.Provider {
		parts = append(parts, col+" = ''")
	}
	w.Conds = append(w.Conds, "("+strings.Join(parts, " OR ")+")")
}

// like escapes s for a case-insensitive LIKE … ESCAPE '\' substring match.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// list runs a count and, when p.Limit > 0, a page query over the same
// conditions; scan reads one row.
func list[T any](ctx context.Context, db *DB, cols, from string, w *Where, order string, p access.Page, scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	return listPaged(ctx, db, cols, from, w, func(int) *Where { return w }, order, p, scan)
}

// listPaged is list whose page query takes its conditions from page, given
// the count: the same rows, in a form planned for their number.
func listPaged[T any](ctx context.Context, db *DB, cols, from string, w *Where, page func(total int) *Where, order string, p access.Page,
	scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	var total int
	count, args := "SELECT COUNT(*) FROM "+from+w.String(), w.Args
	if w.CountSQL != "" {
		count, args = w.CountSQL, w.CountArgs
	}
	if err := db.r.QueryRowContext(ctx, db.d.Q(count), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", from, err)
	}
	items := []T{}
	if p.Limit <= 0 || p.Offset >= total {
		return items, total, nil
	}
	w = page(total)
	q := "SELECT " + cols + " FROM " + from + w.String() + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), append(w.Args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", from, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan %s: %w", from, err)
		}
		items = append(items, v)
	}
	return items, total, rows.Err()
}
