package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/fleet/fleettest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

var _ fleet.Store = (*sqlite.DB)(nil)

func TestFleetConformance(t *testing.T) {
	fleettest.Run(t, func(t *testing.T) fleet.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}
