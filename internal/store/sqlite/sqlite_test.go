package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/store/storetest"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ access.Store = (*sqlite.DB)(nil)

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) access.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}

func appendOne(t *testing.T, db *sqlite.DB) {
	t.Helper()
	a := tansa.AuditEntry{Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Actor: "system", Action: "tenant.create", ObjectType: "tenant", ObjectID: "t-1"}
	if err := db.AppendAudit(t.Context(), a); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "tansa.db"))
	appendOne(t, db)
	for _, q := range []string{
		"UPDATE audit SET actor = 'mallory'",
		"DELETE FROM audit",
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

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tansa.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	appendOne(t, db)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	var versions int
	if err := db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	if versions != len(entries) {
		t.Errorf("applied migrations after re-opening = %d, want %d (each once)", versions, len(entries))
	}
	_, n, err := db.Audit(t.Context(), access.AuditQuery{Scope: access.Scope{All: true}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n != 1 {
		t.Errorf("audit entries after re-opening = %d, want 1", n)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tansa.db")
	garbage := []byte(strings.Repeat("this is not an SQLite file\x00\xff", 200))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), path)
	if err == nil {
		db.Close()
		t.Fatalf("Open of a garbage file succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "damaged or is not a Tansa database") {
		t.Errorf("Open of a garbage file: got %q, want it to say the file is damaged or is not a Tansa database", err)
	}
}

// TestConcurrentOpen opens one new file from several goroutines at once, as
// the server and an administrative command may: every one must succeed.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tansa.db")
	const openers = 4
	dbs := make([]*sqlite.DB, openers)
	errs := make([]error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Go(func() { dbs[i], errs[i] = sqlite.Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: Open: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
}

// TestOpenAppliesLowerMigration: migration numbers are ranged by area, so
// an upgrade can bring a migration numbered below the newest one a
// database has (fleet's 00036 landed after cases' 00046). Open applies it
// instead of refusing the database.
func TestOpenAppliesLowerMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tansa.db")
	db := open(t, path)
	p, err := goose.NewProvider(goose.DialectSQLite3, db.Writer(), os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyVersion(ctx, 36, false); err != nil {
		t.Fatalf("roll back 00036: %v", err)
	}
	var n int
	if err := db.Writer().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'fleet_artsets'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after rolling back 00036: fleet_artsets tables %d, %v", n, err)
	}
	db.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open a database missing a lower migration: %v", err)
	}
	defer db.Close()
	if err := db.Writer().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'fleet_artsets'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("00036 not applied on open: fleet_artsets tables %d, %v", n, err)
	}
}
