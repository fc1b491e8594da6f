package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/fleet/fleettest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ fleet.Store = (*postgres.DB)(nil)

// TestFleetConformance runs the fleet store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestFleetConformance(t *testing.T) {
	fleettest.Run(t, func(t *testing.T) fleet.Store { return open(t) })
}
