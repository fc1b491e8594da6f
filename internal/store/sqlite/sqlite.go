// Package sqlite is Tansa's embedded storage: one SQLite file in the data
// directory, opened with modernc.org/sqlite (pure Go), in WAL mode with one
// writer connection and a pool of readers.
//
// Open runs the embedded migrations and returns the stores the server
// wires in. Several processes may open the same file (the server and the
// administrative commands): SQLite's locking serialises their writers.
//
// Tansa's connections replace SQLite's ASCII-only LOWER with Go's Unicode
// case mapping, so that searches ignore case beyond ASCII (full-width Latin
// letters, accented names) as they do on PostgreSQL.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

//go:embed migrations/*.sql events_migrations/*.sql
var migrations embed.FS

// DB is an open SQLite database.
type DB struct {
	*sqlstore.DB
}

// Dialect is SQLite's flavour of the shared SQL.
var Dialect = sqlstore.Dialect{
	Name:     "sqlite",
	DenseIDs: true,
	IsUnique: func(err error) bool {
		var e *sqlite3.Error
		return errors.As(err, &e) && (e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
}

// dsn names the database at path. busy_timeout lets the writer of another
// process (a CLI command next to the server) finish instead of failing at
// once. synchronous is FULL for the access tables (every commit durable
// before it returns, even across power loss) and NORMAL for events.
func dsn(path string, readOnly bool, sync string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		if sync == "FULL" {
			// The main database's writer keeps 32 MiB of pages (the
			// default is 2 MiB): a sweep upload moves a few thousand
			// index entries spread over the file (prevalence counts,
			// observables), and re-reading those pages through the OS
			// for every batch cost a third of its CPU. The event store
			// (NORMAL) keeps its own settings.
			q.Add("_pragma", "cache_size(-32768)")
			// A sweep batch keeps each sweep under a savepoint, and
			// SQLite copies every page a savepoint first changes into a
			// statement journal: a temporary file by default, a tenth
			// of the batch's CPU in pwrite calls. In memory it is a
			// copy; it never outlives the transaction, so durability
			// is the WAL's as before.
			q.Add("_pragma", "temp_store(MEMORY)")
			// Checkpoint every 8,192 WAL pages (32 MiB) instead of
			// 1,000: the pages that every batch rewrites (prevalence
			// counts, the tails of the holder index) are then copied
			// into the database once per checkpoint instead of up to
			// eight times. Readers find pages in the WAL through its
			// index either way.
			q.Add("_pragma", "wal_autocheckpoint(8192)")
		}
	}
	if sync == "NORMAL" {
		// The event store's index lookups (searches, retro-hunts) seek
		// all over a file of gigabytes: mapped, a page read is a memory
		// access instead of a pread system call and a copy into the
		// page cache, which the default 2 MiB cache makes for most
		// seeks. SQLite caps the size at its compiled limit.
		q.Add("_pragma", "mmap_size(68719476736)")
		q.Add("_pragma", "cache_size(-16384)")
	}
	return "file:" + path + "?" + q.Encode()
}

// connector opens connections to one DSN through a driver of Tansa's own,
// whose functions reach only Tansa's connections.
type connector struct {
	d   *sqlite3.Driver
	dsn string
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.d.Open(c.dsn)
}

func (c connector) Driver() driver.Driver { return c.d }

// newDriver returns a driver whose connections have a Unicode LOWER.
func newDriver() (*sqlite3.Driver, error) {
	d := &sqlite3.Driver{}
	err := d.RegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		default:
			return v, nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("register lower: %w", err)
	}
	return d, nil
}

// Open opens (creating when absent) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	w, r, err := openPools(ctx, path, "FULL")
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		r.Close()
		return nil, describe(path, err)
	}
	return &DB{DB: sqlstore.New(w, r, Dialect)}, nil
}

// openPools opens the writer (one connection: SQLite has one writer, and
// queueing here beats SQLITE_BUSY) and the readers of the file at path.
func openPools(ctx context.Context, path, sync string) (w, r *sql.DB, err error) {
	drv, err := newDriver()
	if err != nil {
		return nil, nil, err
	}
	w = sql.OpenDB(connector{d: drv, dsn: dsn(path, false, sync)})
	w.SetMaxOpenConns(1)
	if err := ping(ctx, w); err != nil {
		w.Close()
		return nil, nil, describe(path, err)
	}
	r = sql.OpenDB(connector{d: drv, dsn: dsn(path, true, sync)})
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return w, r, nil
}

// busyWait is how long Open waits for another process that holds the file,
// the same as the busy_timeout pragma in dsn.
const busyWait = 10 * time.Second

// ping opens the writer's connection. Its pragmas switch a new file to WAL,
// which needs the file to itself for a moment; when another process is
// opening the same file, SQLite reports SQLITE_BUSY at once instead of
// calling the busy handler, so ping waits and tries again as busy_timeout
// would.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyWait)
	for {
		err := db.PingContext(ctx)
		var e *sqlite3.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3lib.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// describe turns SQLite's terse errors about a damaged or foreign file into
// a message that tells the operator what is wrong.
func describe(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "file is not a database") || strings.Contains(msg, "malformed") {
		return fmt.Errorf("%s is damaged or is not a Tansa database (%v); restore it from a backup", path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Migration numbers are ranged by area (cases 0004x, fleet 0003x, …), so a
// release can bring a migration numbered below one that a database already
// has: goose applies such a migration instead of refusing the database.
var outOfOrder = goose.WithAllowOutofOrder(true)

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"), outOfOrder)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Another process opening the same new file (the server and a command
	// started together) may apply a migration between goose's look at the
	// schema's version and its own attempt, which then fails on tables that
	// exist. Each migration runs in a transaction, so the failed attempt
	// left nothing behind: try again for as long as the other process is
	// making progress.
	for {
		before := applied(ctx, p)
		_, err := p.Up(ctx)
		if err == nil {
			return nil
		}
		if applied(ctx, p) <= before {
			return fmt.Errorf("migrate: %w", err)
		}
	}
}

// applied counts the migrations the database has, or -1 before the first.
// It is a count, not the highest version, because a migration applied out
// of order is progress that leaves the highest version where it was.
func applied(ctx context.Context, p *goose.Provider) int {
	st, err := p.Status(ctx)
	if err != nil {
		return -1
	}
	n := 0
	for _, m := range st {
		if m.State == goose.StateApplied {
			n++
		}
	}
	return n
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.Reader().Close(), db.Writer().Close())
}
