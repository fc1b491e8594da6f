package hunt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
)

// levelNames lists Sigma's levels from lowest to highest.
func levelNames() []string { return []string{"informational", "low", "medium", "high", "critical"} }

// levelRank returns the rank of a Sigma level, 0 for informational, empty
// or unknown levels.
func levelRank(level string) int {
	for i, n := range levelNames() {
		if strings.EqualFold(level, n) {
			return i
		}
	}
	return 0
}

// ParseLevel checks a --min-level value and returns its canonical name;
// "" means informational.
func ParseLevel(s string) (string, error) {
	if s == "" {
		return "informational", nil
	}
	for _, n := range levelNames() {
		if strings.EqualFold(s, n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("level %q is not one of %s", s, strings.Join(levelNames(), ", "))
}

// cloudProduct reports whether rules of a Sigma product read Office 365
// audit and Entra ID sign-in records; every other product except windows
// (and none) reads events a hunt never produces.
func cloudProduct(p string) bool {
	switch p {
	case "azure", "m365", "office365", "microsoft365":
		return true
	}
	return false
}

// ruleSet is everything a hunt evaluates: one Ruleset for Windows events
// and one for cloud audit events, so that a rule never sees the events of
// a log source it was not written for (the engine filters only Windows
// log sources), plus the correlations over both.
type ruleSet struct {
	windows, cloud *sigma.Ruleset
	corr           *sigma.Correlator
	corrRules      []*sigma.Rule
	// referenced holds the detection rules that some correlation names.
	referenced map[*sigma.Rule]bool
	// fields lists, per detection rule, the event fields its detection
	// names: the "matched fields" of an output line.
	fields map[*sigma.Rule][]string
	byRef  map[string]*sigma.Rule // id and name → rule

	detection, parseFailures, compileFailures, notApplicable int
}

// loadRules parses every rule file under paths, reports each file that
// does not parse (file, line, reason) and each rule that does not compile
// on w, and compiles the rest. It fails only when no rule at all is left.
func loadRules(paths []string, w io.Writer) (*ruleSet, error) {
	var all []*sigma.Rule
	type ruleKey struct {
		path string
		line int
	}
	loaded := map[ruleKey]bool{}
	rs := &ruleSet{referenced: map[*sigma.Rule]bool{}, fields: map[*sigma.Rule][]string{}, byRef: map[string]*sigma.Rule{}}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules %s: %w", p, err)
		}
		var rules []*sigma.Rule
		var errs []error
		if fi.IsDir() {
			rules, errs = sigma.ParseDir(p)
		} else {
			var err error
			rules, err = sigma.ParseFile(p)
			if err != nil {
				errs = append(errs, err)
			}
		}
		for _, err := range errs {
			rs.parseFailures++
			var pe *sigma.ParseError
			if errors.As(err, &pe) {
				fmt.Fprintf(w, "rule %s:%d: %s\n", pe.Path, pe.Line, pe.Reason)
			} else {
				fmt.Fprintf(w, "rule %v\n", err)
			}
		}
		for _, r := range rules {
			// Overlapping --rules paths name a file twice; it loads once.
			k := ruleKey{abs(r.Path), r.Line}
			if !loaded[k] {
				loaded[k] = true
				all = append(all, r)
			}
		}
	}
	var win, cloud []*sigma.Rule
	for _, r := range all {
		if r.ID != "" {
			rs.byRef[r.ID] = r
		}
		if r.Name != "" {
			rs.byRef[r.Name] = r
		}
		switch {
		case r.Correlation != nil:
			rs.corrRules = append(rs.corrRules, r)
		case r.Filter != nil:
			win, cloud = append(win, r), append(cloud, r)
		case r.Detection != nil:
			p := strings.ToLower(r.Logsource.Product)
			switch {
			case p == "":
				win, cloud = append(win, r), append(cloud, r)
			case p == "windows":
				win = append(win, r)
			case cloudProduct(p):
				cloud = append(cloud, r)
			default:
				rs.notApplicable++
				continue
			}
			rs.fields[r] = r.Detection.FieldNames()
		}
	}
	seen := map[string]bool{}
	report := func(err error) {
		if err == nil {
			return
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			if !seen[e.Error()] {
				seen[e.Error()] = true
				rs.compileFailures++
				fmt.Fprintf(w, "rule %v\n", e)
			}
		}
	}
	var err error
	rs.windows, err = sigma.Compile(win, sigma.Options{})
	report(err)
	rs.cloud, err = sigma.Compile(cloud, sigma.Options{})
	report(err)
	compiled := map[*sigma.Rule]bool{}
	for _, set := range []*sigma.Ruleset{rs.windows, rs.cloud} {
		for _, c := range set.Rules() {
			compiled[c.Rule] = true
		}
	}
	rs.detection = len(compiled)
	rs.corr, err = sigma.NewCorrelator(all, sigma.CorrelatorOptions{})
	report(err)
	for _, c := range rs.corrRules {
		for _, ref := range c.Correlation.Rules {
			if r := rs.byRef[ref]; r != nil && r.Detection != nil {
				rs.referenced[r] = true
			}
		}
	}
	if rs.detection == 0 {
		return nil, fmt.Errorf("no rule could be loaded from %s", strings.Join(paths, ", "))
	}
	return rs, nil
}

// abs returns the absolute form of path, or path when it has none.
func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// fieldFor returns the event field that carries a correlation's group-by
// or value field name for events of rule r, following the aliases.
func (rs *ruleSet) fieldFor(c *sigma.Correlation, name string, r *sigma.Rule) string {
	if m, ok := c.Aliases[name]; ok {
		for ref, f := range m {
			if rs.byRef[ref] == r {
				return f
			}
		}
	}
	return name
}

// refs resolves a correlation's referenced rules.
func (rs *ruleSet) refs(c *sigma.Correlation) []*sigma.Rule {
	var out []*sigma.Rule
	for _, ref := range c.Rules {
		if r := rs.byRef[ref]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// corrFields lists every event field that a correlation reads from the
// events of detection rules: what a hunt keeps of a matched event for the
// time-ordered correlation pass.
func (rs *ruleSet) corrFields() []string {
	set := map[string]bool{}
	for _, cr := range rs.corrRules {
		c := cr.Correlation
		for _, r := range rs.refs(c) {
			for _, g := range c.GroupBy {
				set[rs.fieldFor(c, g, r)] = true
			}
			if c.Field != "" {
				set[rs.fieldFor(c, c.Field, r)] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
