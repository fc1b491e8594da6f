package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/alert/alerttest"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/detect/ruleset/rulesettest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

var _ alert.Store = (*sqlite.DB)(nil)

func TestAlertConformance(t *testing.T) {
	alerttest.Run(t, func(t *testing.T) alert.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}

var _ ruleset.Store = (*sqlite.DB)(nil)

func TestRulesetConformance(t *testing.T) {
	rulesettest.Run(t, func(t *testing.T) ruleset.Store {
		return open(t, filepath.Join(t.TempDir(), "tansa.db"))
	})
}
