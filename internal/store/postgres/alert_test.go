package postgres_test

import (
	"testing"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/alert/alerttest"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/detect/ruleset/rulesettest"
	"github.com/tansa-sec/tansa/internal/store/postgres"
)

var _ alert.Store = (*postgres.DB)(nil)

// TestAlertConformance runs the alert store suite when
// TANSA_TEST_POSTGRES_URL names a server, and says why it skipped otherwise.
func TestAlertConformance(t *testing.T) {
	alerttest.Run(t, func(t *testing.T) alert.Store { return open(t) })
}

var _ ruleset.Store = (*postgres.DB)(nil)

// TestRulesetConformance runs the rule set store suite when
// TANSA_TEST_POSTGRES_URL names a server.
func TestRulesetConformance(t *testing.T) {
	rulesettest.Run(t, func(t *testing.T) ruleset.Store { return open(t) })
}
