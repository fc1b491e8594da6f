// Package ruletest runs the regression cases that Sigma rule files carry,
// through the real engine (package sigma): detection, log-source filters,
// placeholders and correlation.
//
// Two conventions are understood, so that one command tests SigmaHQ's rule
// set and Tansa's own:
//
//   - SigmaHQ's: a rule names `regression_tests_path: …/info.yml`; that file
//     lists recorded EVTX files, each with the match_count the rule must
//     reach (at least; one when unset). The path is relative to the rule
//     set's root, found by walking up from the rule file.
//   - Tansa's (rules/README.md): one document of a rule file carries a
//     top-level `tests:` list; each case lists events (field maps as the
//     parsers produce them, or raw Office 365 / Entra ID records that the
//     real o365 parser reads), on a timeline, and says whether a rule of
//     the file must or must not fire.
//
// Rule files enter as paths; results leave as a Result with one Failure per
// failed case, each naming the file, the case and the reason.
package ruletest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Failure is one case that failed.
type Failure struct {
	Path   string // the rule file
	Case   string // the case's name
	Reason string
}

func (f Failure) String() string {
	return fmt.Sprintf("FAIL %s: %s: %s", f.Path, f.Case, f.Reason)
}

// Result counts the cases run under some paths.
type Result struct {
	Passed, Failed int
	Failures       []Failure
	// Files is how many rule files carried at least one case.
	Files int
	// SigmaHQ and Tansa count the cases of each convention.
	SigmaHQ, Tansa int
	// MustMatch and MustNot count the Tansa cases by what they expect.
	MustMatch, MustNot int
}

func (r *Result) add(o Result) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Failures = append(r.Failures, o.Failures...)
	r.Files += o.Files
	r.SigmaHQ += o.SigmaHQ
	r.Tansa += o.Tansa
	r.MustMatch += o.MustMatch
	r.MustNot += o.MustNot
}

func (r *Result) pass(conv *int) { r.Passed++; *conv++ }

func (r *Result) fail(conv *int, path, name, format string, args ...any) {
	r.Failed++
	*conv++
	r.Failures = append(r.Failures, Failure{Path: path, Case: name, Reason: fmt.Sprintf(format, args...)})
}

// Run runs the cases of every rule file (.yml, .yaml) named by paths or
// found below them (directories are walked recursively, in lexical order).
// Files without cases are ignored. The error is non-nil only when a path
// cannot be read; a rule that does not parse fails its file's cases.
func Run(paths []string) (Result, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return Result{}, fmt.Errorf("rules %s: %w", p, err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(q, ".yml") || strings.HasSuffix(q, ".yaml")) {
				files = append(files, q)
			}
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("rules %s: %w", p, err)
		}
	}
	sort.Strings(files)
	var res Result
	for _, f := range files {
		r, err := RunFile(f)
		if err != nil {
			return res, err
		}
		res.add(r)
	}
	return res, nil
}

var regressionPathRE = regexp.MustCompile(`(?m)^regression_tests_path:\s*(\S+)`)

// RunFile runs the cases of one rule file: its SigmaHQ regression data, its
// Tansa tests, or both. A file without cases gives an empty Result.
func RunFile(path string) (Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("rules %s: %w", path, err)
	}
	var res Result
	any := false
	if m := regressionPathRE.FindSubmatch(b); m != nil {
		any = true
		res.add(runSigmaHQ(path, b, string(m[1])))
	}
	if bytes.Contains(b, []byte("tests:")) {
		r, found := runTansa(path, b)
		if found {
			any = true
			res.add(r)
		}
	}
	if any {
		res.Files = 1
	}
	return res, nil
}
