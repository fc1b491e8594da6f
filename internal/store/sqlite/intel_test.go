package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/intel/inteltest"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

var _ service.Store = (*sqlite.DB)(nil)

func TestIntelConformance(t *testing.T) {
	inteltest.Run(t, func(t *testing.T) service.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}
