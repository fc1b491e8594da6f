package sigma

import (
	"github.com/tansa-sec/tansa/internal/shareddata"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var regressionPathRE = regexp.MustCompile(`(?m)^regression_tests_path:\s*(\S+)`)

type regressionInfo struct {
	RegressionTestsInfo []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		MatchCount int    `yaml:"match_count"`
		Path       string `yaml:"path"`
	} `yaml:"regression_tests_info"`
}

// TestSigmaHQRegression runs every SigmaHQ rule that carries
// regression_tests_path over its recorded EVTX and requires at least
// match_count matches (one when unset).
func TestSigmaHQRegression(t *testing.T) { runRegression(t, "evtx") }

// TestSigmaHQRegressionJSON runs the same cases over the <rule-id>.json
// renderings of the recorded events (the event XML as JSON), through
// winevt.ReadJSON, so the JSON normaliser gives rules the same fields.
func TestSigmaHQRegressionJSON(t *testing.T) { runRegression(t, "json") }

func runRegression(t *testing.T, source string) {
	base := shareddata.Path(t, "sigma")
	type tc struct {
		rulePath string
		info     string
	}
	var cases []tc
	for _, d := range ruleDirs {
		dir := shareddata.Path(t, d)
		filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(p, ".yml") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := regressionPathRE.FindSubmatch(b); m != nil {
				cases = append(cases, tc{rulePath: p, info: filepath.Join(base, string(m[1]))})
			}
			return nil
		})
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].rulePath < cases[j].rulePath })
	pass := 0
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c.rulePath), ".yml")
		ok := t.Run(name, func(t *testing.T) {
			rules, err := ParseFile(c.rulePath)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			rs, err := Compile(rules, Options{})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			ib, err := os.ReadFile(c.info)
			if err != nil {
				t.Fatalf("info: %v", err)
			}
			var info regressionInfo
			if err := yaml.Unmarshal(ib, &info); err != nil {
				t.Fatalf("info %s: %v", c.info, err)
			}
			for _, ri := range info.RegressionTestsInfo {
				if ri.Type != "" && ri.Type != "evtx" {
					continue
				}
				want := ri.MatchCount
				if want == 0 {
					want = 1
				}
				got := 0
				var dst []*CompiledRule
				count := func(e *tansa.Event) error {
					dst = rs.Match(e, dst[:0])
					got += len(dst)
					return nil
				}
				path := filepath.Join(base, ri.Path)
				var st winevt.Stats
				if source == "json" {
					path = strings.TrimSuffix(path, ".evtx") + ".json"
					f, err := os.Open(path)
					if os.IsNotExist(err) {
						t.Skipf("no JSON rendering %s", path)
					}
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					st, err = winevt.ReadJSON(f, winevt.Options{}, count)
					if err != nil || st.Failed > 0 {
						t.Fatalf("read %s: %v %v", path, err, st.Failures)
					}
				} else {
					st, err = winevt.ReadEVTXFile(path, winevt.Options{}, count)
					if err != nil {
						t.Fatalf("read %s: %v", path, err)
					}
				}
				if got < want {
					t.Errorf("%s: %d matches over %d events, want at least %d", path, got, st.Events, want)
				}
			}
		})
		if ok {
			pass++
		}
	}
	t.Logf("SigmaHQ regression (%s): %s of %d rules pass", source, strconv.Itoa(pass), len(cases))
}
