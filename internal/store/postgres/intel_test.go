package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/intel/inteltest"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ service.Store = (*postgres.DB)(nil)

// TestIntelConformance runs the intel store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestIntelConformance(t *testing.T) {
	inteltest.Run(t, func(t *testing.T) service.Store { return open(t) })
}
