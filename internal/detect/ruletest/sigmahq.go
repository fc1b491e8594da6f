package ruletest

import (
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// regressionInfo is SigmaHQ's info.yml.
type regressionInfo struct {
	RegressionTestsInfo []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		MatchCount int    `yaml:"match_count"`
		Path       string `yaml:"path"`
	} `yaml:"regression_tests_info"`
}

// findRoot returns the directory above the rule file under which rel
// exists: the rule set's root, where SigmaHQ keeps regression_data beside
// rules. It returns "" when no ancestor has it.
func findRoot(rulePath, rel string) string {
	dir, err := filepath.Abs(filepath.Dir(rulePath))
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// runSigmaHQ is one case: the rule file, compiled alone, must match each
// recorded EVTX of its info.yml at least match_count times.
func runSigmaHQ(path string, src []byte, rel string) Result {
	var res Result
	name := "regression " + rel
	fail := func(format string, args ...any) Result {
		res.fail(&res.SigmaHQ, path, name, format, args...)
		return res
	}
	root := findRoot(path, rel)
	if root == "" {
		return fail("regression data %s not found above the rule file", rel)
	}
	rules, err := sigma.Parse(path, src)
	if err != nil {
		return fail("parse: %v", err)
	}
	rs, err := sigma.Compile(rules, sigma.Options{})
	if err != nil {
		return fail("compile: %v", err)
	}
	ib, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return fail("info: %v", err)
	}
	var info regressionInfo
	if err := yaml.Unmarshal(ib, &info); err != nil {
		return fail("info %s: %v", rel, err)
	}
	ran := 0
	for _, ri := range info.RegressionTestsInfo {
		if ri.Type != "" && ri.Type != "evtx" {
			continue
		}
		ran++
		want := max(ri.MatchCount, 1)
		got := 0
		var dst []*sigma.CompiledRule
		st, err := winevt.ReadEVTXFile(filepath.Join(root, filepath.FromSlash(ri.Path)), winevt.Options{}, func(e *tansa.Event) error {
			dst = rs.Match(e, dst[:0])
			got += len(dst)
			return nil
		})
		if err != nil {
			return fail("read %s: %v", ri.Path, err)
		}
		if got < want {
			return fail("%s: %d matches over %d events, want at least %d", ri.Path, got, st.Events, want)
		}
	}
	if ran == 0 {
		return fail("info %s lists no EVTX test", rel)
	}
	res.pass(&res.SigmaHQ)
	return res
}
