package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/cases/casestest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

var _ cases.Store = (*sqlite.DB)(nil)

func TestCasesConformance(t *testing.T) {
	casestest.Run(t, func(t *testing.T) cases.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}
