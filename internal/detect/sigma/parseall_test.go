package sigma

import (
	"github.com/tansa-sec/tansa/internal/shareddata"
	"testing"
)

// TestParseAllSigmaHQRules parses and compiles every rule of the four
// SigmaHQ rule directories. Rules listed in docs/sigma-rule-rejections.md
// would be the only acceptable failures; today there are none.
func TestParseAllSigmaHQRules(t *testing.T) {
	total, failed := 0, 0
	var all []*Rule
	for _, d := range ruleDirs {
		dir := shareddata.Path(t, d)
		rules, errs := ParseDir(dir)
		total += len(rules) + len(errs)
		failed += len(errs)
		for _, err := range errs {
			t.Errorf("parse: %v", err)
		}
		all = append(all, rules...)
	}
	rs, err := Compile(all, Options{})
	if err != nil {
		t.Errorf("compile: %v", err)
	}
	corr := 0
	for _, r := range all {
		if r.Correlation != nil {
			corr++
		}
	}
	if _, err := NewCorrelator(all, CorrelatorOptions{}); err != nil {
		t.Errorf("correlator: %v", err)
	}
	t.Logf("parsed %d rule documents (%d correlation), %d failures; %d detection rules compiled", total, corr, failed, len(rs.Rules()))
}
