package sqlite_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestFleetArtifactSetsMigrate checks migration 00036 on a database whose
// artifact sets are rows of the old fleet_artifacts: an endpoint found by
// its artifact before is found after, and its next sweep moves the counts
// from the migrated set (what it no longer has is counted down and gone).
func TestFleetArtifactSetsMigrate(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tansa.db")
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	sweep := func(n int, paths ...string) *fleet.StoredSweep {
		r := &result.Result{Schema: 1, SweepID: string(rune('a'+n)) + "0000000000000000000000000000000", Started: at.Add(time.Duration(n) * time.Hour),
			Finished: at.Add(time.Duration(n) * time.Hour), Host: result.Host{Hostname: "pc-1"}}
		for _, p := range paths {
			r.Processes = append(r.Processes, result.Process{Path: p})
		}
		return fleet.Build(r, "t-a", []byte("x"), at, "token:t")
	}

	// The old shape, written as the store before 00036 did.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 35); err != nil {
		t.Fatalf("migrate to 00035: %v", err)
	}
	first := sweep(1, "/usr/bin/keep", "/tmp/gone")
	for _, q := range []string{
		`INSERT INTO fleet_assets (id, tenant_id, host_key, hostname, created, last_started, sweeps) VALUES ('as-1', 't-a', 'pc-1|', 'pc-1', 1, 1, 1)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range first.Artifacts {
		v := vid(t, a)
		for _, q := range []string{
			"INSERT INTO fleet_artifacts (asset_id, vid) VALUES ('as-1', ?)",
			"INSERT INTO fleet_prevalence (tenant_id, vid, kind, assets) VALUES ('t-a', ?, '" + a.Kind + "', 1)",
			"INSERT INTO fleet_prevalence (tenant_id, vid, kind, assets) VALUES ('', ?, '" + a.Kind + "', 1)",
		} {
			if _, err := raw.ExecContext(ctx, q, v); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := raw.ExecContext(ctx, "INSERT INTO fleet_values (vid, kind, value) VALUES (?, ?, ?)", v, a.Kind, a.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := open(t, path)
	count := func(value string) int {
		ps, _, err := db.Prevalence(ctx, fleet.PrevalenceQuery{Scope: access.Scope{All: true}, Kind: fleet.KindProcess, Text: value, Page: access.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			return 0
		}
		as, _, err := db.Assets(ctx, fleet.AssetQuery{Scope: access.Scope{All: true}, Artifact: ps[0].ID, Page: access.Page{Limit: 10}})
		if err != nil || len(as) != 1 || as[0].ID != "as-1" {
			t.Errorf("endpoints holding %s = %+v, %v; want as-1", value, as, err)
		}
		return ps[0].Assets
	}
	if n := count("/tmp/gone"); n != 1 {
		t.Errorf("/tmp/gone on %d endpoints after migrating, want 1", n)
	}
	if err := db.PutSweep(ctx, sweep(2, "/usr/bin/keep", "/opt/new"), tansa.AuditEntry{Time: at, Action: "sweep.upload"}); err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]int{"/usr/bin/keep": 1, "/opt/new": 1, "/tmp/gone": 0} {
		if n := count(v); n != want {
			t.Errorf("%s on %d endpoints after the next sweep, want %d", v, n, want)
		}
	}
}

// vid is the store's interned ID of a (sqlstore's vidOf).
func vid(t *testing.T, a fleet.Artifact) int64 {
	t.Helper()
	h := sha256.Sum256([]byte(a.Kind + "\x00" + a.Value))
	return int64(binary.BigEndian.Uint64(h[:8]) &^ (1 << 63))
}
