package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/playbook/playbooktest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

var _ playbook.Store = (*sqlite.DB)(nil)

func TestPlaybookConformance(t *testing.T) {
	playbooktest.Run(t, func(t *testing.T) playbook.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}
