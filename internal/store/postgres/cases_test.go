package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/cases/casestest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ cases.Store = (*postgres.DB)(nil)

// TestCasesConformance runs the case store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestCasesConformance(t *testing.T) {
	casestest.Run(t, func(t *testing.T) cases.Store { return open(t) })
}
