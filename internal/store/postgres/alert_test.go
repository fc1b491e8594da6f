package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/alert/alerttest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ alert.Store = (*postgres.DB)(nil)

// TestAlertConformance runs the alert store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestAlertConformance(t *testing.T) {
	alerttest.Run(t, func(t *testing.T) alert.Store { return open(t) })
}
