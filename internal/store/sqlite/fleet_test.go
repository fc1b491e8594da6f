package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/fleet/fleettest"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ fleet.Store = (*sqlite.DB)(nil)

func TestFleetConformance(t *testing.T) {
	fleettest.Run(t, func(t *testing.T) fleet.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}

// TestFleetPrevalenceForgetsZeroCounts checks that an artifact no endpoint
// has any more leaves fleet_prevalence instead of staying as a zero row
// that the rarest-first index would have to skip.
func TestFleetPrevalenceForgetsZeroCounts(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "tansa.db"))
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	sweep := func(n int, paths ...string) {
		r := &result.Result{Schema: 1, SweepID: fmt.Sprintf("%032x", n), Started: at.Add(time.Duration(n) * time.Hour), Finished: at.Add(time.Duration(n) * time.Hour),
			Host: result.Host{Hostname: "pc-1"}}
		for _, p := range paths {
			r.Processes = append(r.Processes, result.Process{Path: p})
		}
		if err := db.PutSweep(ctx, fleet.Build(r, "t-a", []byte("x"), at, "token:t"), tansa.AuditEntry{Time: at, Action: "sweep.upload"}); err != nil {
			t.Fatal(err)
		}
	}
	sweep(1, "/usr/bin/a", "/tmp/gone")
	sweep(2, "/usr/bin/a")
	var zero, rows int
	if err := db.Reader().QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(assets <= 0), 0) FROM fleet_prevalence").Scan(&rows, &zero); err != nil {
		t.Fatal(err)
	}
	if zero != 0 || rows != 2 {
		t.Errorf("fleet_prevalence has %d rows, %d of them zero; want 2 (/usr/bin/a in the tenant and across tenants), none zero", rows, zero)
	}
}
