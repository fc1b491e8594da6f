// Package postgres is Tansa's storage in cluster mode: a PostgreSQL database
// shared by every node, reached through pgx's database/sql driver with one
// pool that serves both writes and reads (PostgreSQL runs concurrent
// writers itself).
//
// Open runs the embedded migrations and returns the stores the server wires
// in. The schema is the SQLite backend's, with BIGINT microseconds for times,
// an identity column for the audit log's IDs and a trigger that makes the
// audit log append-only (UPDATE, DELETE and TRUNCATE raise). The audit IDs
// grow with every append but, unlike SQLite's, may have gaps, so Counts
// reports an upper bound for the audit log.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open PostgreSQL database.
type DB struct {
	*sqlstore.DB
}

// uniqueViolation is PostgreSQL's SQLSTATE for a unique-constraint violation.
const uniqueViolation = "23505"

// Dialect returns PostgreSQL's flavour of the shared SQL: numbered
// placeholders, and unique violations recognised by their SQLSTATE.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:     "postgres",
		Numbered: true,
		IsUnique: func(err error) bool {
			var e *pgconn.PgError
			return errors.As(err, &e) && e.Code == uniqueViolation
		},
	}
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string as pgx accepts them) and brings its schema up to date.
// The tables are created in the first schema of the connection's
// search_path, which the URL may set with a search_path parameter.
//
// The database must map case beyond ASCII (a UTF-8 LC_CTYPE such as
// C.UTF-8 or en_US.UTF-8), because searches fold case with LOWER; Open
// refuses a database that does not, rather than let searches for accented or
// full-width names silently miss.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if err := checkCase(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return &DB{DB: sqlstore.New(db, db, Dialect())}, nil
}

// checkCase fails unless LOWER maps non-ASCII letters in the database's
// default collation.
func checkCase(ctx context.Context, db *sql.DB) error {
	var got string
	if err := db.QueryRowContext(ctx, "SELECT LOWER('ÄＡ')").Scan(&got); err != nil {
		return fmt.Errorf("check case mapping: %w", err)
	}
	if got != "äａ" {
		return fmt.Errorf("the database does not map case beyond ASCII (LOWER('ÄＡ') = %q); create it with a UTF-8 locale, e.g. CREATE DATABASE … ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0", got)
	}
	return nil
}

// Migration numbers are ranged by area (cases 0004x, fleet 0003x, …), so a
// release can bring a migration numbered below one that a database already
// has: goose applies such a migration instead of refusing the database.
var outOfOrder = goose.WithAllowOutofOrder(true)

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Cluster nodes start together: an advisory lock lets one migrate
	// while the others wait, instead of all racing to create the tables.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker), outOfOrder)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	return db.Writer().Close()
}
