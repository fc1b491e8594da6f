package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/playbook/playbooktest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ playbook.Store = (*postgres.DB)(nil)

// TestPlaybookConformance runs the playbook store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestPlaybookConformance(t *testing.T) {
	playbooktest.Run(t, func(t *testing.T) playbook.Store { return open(t) })
}
