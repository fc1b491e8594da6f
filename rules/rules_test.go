package rules_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/detect/ruletest"
	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/rules"
)

// TestRulePack walks every rule file of the pack and runs its test events
// through the real engine: every file must parse, compile, carry must-match
// and must-not-match cases, and pass them all.
func TestRulePack(t *testing.T) {
	files, err := fs.Glob(rules.FS, "*/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no rule files embedded")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(f, ".yml"), func(t *testing.T) {
			src, err := fs.ReadFile(rules.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := sigma.Parse(f, src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if _, err := sigma.Compile(parsed, sigma.Options{}); err != nil {
				t.Fatalf("compile: %v", err)
			}
			if _, err := sigma.NewCorrelator(parsed, sigma.CorrelatorOptions{}); err != nil {
				t.Fatalf("correlations: %v", err)
			}
			res, err := ruletest.RunFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, fl := range res.Failures {
				t.Error(fl)
			}
			if res.Tansa == 0 {
				t.Fatal("the file carries no tests")
			}
			if res.MustMatch == 0 || res.MustNot == 0 {
				t.Errorf("the file has %d must-match and %d must-not-match cases; it needs both", res.MustMatch, res.MustNot)
			}
			t.Logf("%d passed, %d failed", res.Passed, res.Failed)
		})
	}
}
