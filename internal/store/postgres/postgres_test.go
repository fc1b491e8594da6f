package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/store/postgres"
	"github.com/tansa-sec/tansa/internal/store/storetest"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ access.Store = (*postgres.DB)(nil)

// open opens a store in a schema of its own, created for t and dropped when
// t ends, so that tests and runs never see each other's rows.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// freshSchema creates an empty schema for t, dropped when t ends, and
// returns the URL of TANSA_TEST_POSTGRES_URL with that schema as its
// search_path.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TANSA_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TANSA_TEST_POSTGRES_URL not set: PostgreSQL conformance skipped")
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("parse TANSA_TEST_POSTGRES_URL: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })

	b := make([]byte, 8)
	rand.Read(b)
	schema := "tansa_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		// t.Context is done by now; the schema must go all the same.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("TANSA_TEST_POSTGRES_URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	if os.Getenv("TANSA_TEST_POSTGRES_URL") == "" {
		t.Skip("TANSA_TEST_POSTGRES_URL not set: PostgreSQL conformance skipped")
	}
	storetest.Run(t, func(t *testing.T) access.Store { return open(t) })
}

func TestAuditAppendOnly(t *testing.T) {
	db := open(t)
	a := tansa.AuditEntry{Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Actor: "system", Action: "tenant.create", ObjectType: "tenant", ObjectID: "t-1"}
	if err := db.AppendAudit(t.Context(), a); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	for _, q := range []string{
		"UPDATE audit SET actor = 'mallory'",
		"DELETE FROM audit",
		"TRUNCATE audit",
	} {
		_, err := db.Writer().ExecContext(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got error %v, want one saying the audit log is append-only", q, err)
		}
	}
	got, n, err := db.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}, Page: access.Page{Limit: 10}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n != 1 || len(got) != 1 || got[0].Actor != "system" {
		t.Errorf("audit log after refused changes: %+v (total %d), want the one entry by %q", got, n, "system")
	}
}

// TestConcurrentOpen starts several nodes on one empty database at once, as
// a cluster does: every one must come up, with the migrations run once.
func TestConcurrentOpen(t *testing.T) {
	url := freshSchema(t)
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	var applied int
	if err := dbs[0].Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("applied migrations after %d concurrent opens = %d, want %d (each once)", nodes, applied, len(files))
	}
}

func TestReopen(t *testing.T) {
	db := open(t)
	// Opening the same schema again runs the migrations again: they must
	// find nothing to do and leave the data alone.
	a := tansa.AuditEntry{Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Actor: "system", Action: "tenant.create"}
	if err := db.AppendAudit(t.Context(), a); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	var path string
	if err := db.Reader().QueryRowContext(t.Context(), "SELECT current_setting('search_path')").Scan(&path); err != nil {
		t.Fatalf("search_path: %v", err)
	}
	u, err := url.Parse(os.Getenv("TANSA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", path)
	u.RawQuery = q.Encode()
	again, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer again.Close()
	_, n, err := again.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n != 1 {
		t.Errorf("audit entries after re-opening = %d, want 1", n)
	}
}
