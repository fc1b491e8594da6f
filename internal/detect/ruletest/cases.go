package ruletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/normalize/o365"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Case is one Tansa test case (the schema is in rules/README.md).
type Case struct {
	Name string `yaml:"name"`
	// Rule is the name or id of the rule under test; empty means the rule
	// whose document carries the tests.
	Rule string `yaml:"rule"`
	// Match says whether the rule must fire (at least once, or exactly
	// Count times when Count is set) or must not fire at all.
	Match *bool `yaml:"match"`
	Count *int  `yaml:"count"`
	// Placeholders are the tenant's values for %name% placeholders.
	Placeholders map[string][]string `yaml:"placeholders"`
	// Start is the time of the first event; 2026-01-01T00:00:00Z when
	// empty.
	Start  string `yaml:"start"`
	Events []Step `yaml:"events"`
}

// Step is one event of a case, or Repeat copies of it.
type Step struct {
	// Fields is an event as the parsers produce it (dotted names for
	// nested fields).
	Fields map[string]any `yaml:"fields"`
	// Record is a raw Office 365 audit or Entra ID sign-in record, read by
	// the o365 parser exactly as ingest and hunt read it.
	Record map[string]any `yaml:"record"`
	After  string         `yaml:"after"`  // gap after the previous event; 1s when empty
	Repeat int            `yaml:"repeat"` // copies; 1 when zero
	Every  string         `yaml:"every"`  // gap between copies; 1s when empty
}

const defaultStart = "2026-01-01T00:00:00Z"

// runTansa runs the tests: lists of the file's documents. found is false
// when no document has one.
func runTansa(path string, src []byte) (res Result, found bool) {
	type suite struct {
		line  int
		cases []yaml.Node
	}
	var suites []suite
	defer func() {
		// yaml.v3 panics on some malformed input, as sigma.Parse knows.
		if p := recover(); p != nil {
			res.fail(&res.Tansa, path, "tests", "yaml decoder failed: %v", p)
			found = true
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The rule parser reports the same problem with a line; with
			// tests present it fails them.
			res.fail(&res.Tansa, path, "tests", "yaml: %v", err)
			return res, true
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value != "tests" {
				continue
			}
			v := m.Content[i+1]
			if v.Kind != yaml.SequenceNode {
				res.fail(&res.Tansa, path, "tests", "line %d: tests is not a list", v.Line)
				return res, true
			}
			s := suite{line: m.Line}
			for _, c := range v.Content {
				s.cases = append(s.cases, *c)
			}
			suites = append(suites, s)
		}
	}
	if len(suites) == 0 {
		return res, false
	}
	rules, err := sigma.Parse(path, src)
	if err != nil {
		res.fail(&res.Tansa, path, "parse", "%v", err)
		return res, true
	}
	for _, s := range suites {
		var owner *sigma.Rule
		for _, r := range rules {
			if r.Line == s.line {
				owner = r
			}
		}
		for i := range s.cases {
			var c Case
			name := fmt.Sprintf("case %d (line %d)", i+1, s.cases[i].Line)
			if err := s.cases[i].Decode(&c); err != nil {
				res.fail(&res.Tansa, path, name, "%v", err)
				continue
			}
			if c.Name != "" {
				name = c.Name
			}
			if c.Match != nil && *c.Match {
				res.MustMatch++
			} else if c.Match != nil {
				res.MustNot++
			}
			if err := runCase(rules, owner, &c); err != nil {
				res.fail(&res.Tansa, path, name, "%v", err)
				continue
			}
			res.pass(&res.Tansa)
		}
	}
	return res, true
}

// runCase compiles the file's rules with the case's placeholders, feeds the
// case's events in time order to the rule set and a fresh correlator, and
// checks how often the rule under test fired.
func runCase(rules []*sigma.Rule, owner *sigma.Rule, c *Case) error {
	if c.Match == nil {
		return errors.New("case has no match: true|false")
	}
	if len(c.Events) == 0 {
		return errors.New("case has no events")
	}
	target := owner
	if c.Rule != "" {
		target = nil
		for _, r := range rules {
			if r.ID == c.Rule || r.Name == c.Rule {
				target = r
			}
		}
		if target == nil {
			return fmt.Errorf("no rule named %q in the file", c.Rule)
		}
	}
	if target == nil {
		return errors.New("the document carrying the tests is not a rule; name one with rule:")
	}
	rs, err := sigma.Compile(rules, sigma.Options{Placeholders: c.Placeholders})
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	for _, cr := range rs.Rules() {
		if cr.Rule == target && len(cr.Unresolved) > 0 {
			return fmt.Errorf("placeholders without values: %s", strings.Join(cr.Unresolved, ", "))
		}
	}
	corr, err := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	if err != nil {
		return fmt.Errorf("correlations: %w", err)
	}
	events, err := c.build()
	if err != nil {
		return err
	}
	fired := 0
	var dst []*sigma.CompiledRule
	var matched []*sigma.Rule
	for _, ev := range events {
		dst = rs.Match(ev, dst[:0])
		matched = matched[:0]
		for _, h := range dst {
			matched = append(matched, h.Rule)
			if h.Rule == target {
				fired++
			}
		}
		for _, a := range corr.Observe(ev, ev.Time, matched) {
			if a.Rule == target {
				fired++
			}
		}
	}
	switch {
	case c.Count != nil && fired != *c.Count:
		return fmt.Errorf("%s fired %d times over %d events, want exactly %d", label(target), fired, len(events), *c.Count)
	case *c.Match && fired == 0:
		return fmt.Errorf("%s did not fire over %d events, want it to", label(target), len(events))
	case !*c.Match && fired > 0:
		return fmt.Errorf("%s fired %d times over %d events, want none", label(target), fired, len(events))
	}
	return nil
}

func label(r *sigma.Rule) string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID != "" {
		return r.ID
	}
	return strconv.Quote(r.Title)
}

// build turns the case's steps into events on its timeline.
func (c *Case) build() ([]*tansa.Event, error) {
	start := c.Start
	if start == "" {
		start = defaultStart
	}
	t, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	var out []*tansa.Event
	for si, s := range c.Events {
		after, err := gap(s.After)
		if err != nil {
			return nil, fmt.Errorf("event %d: after: %w", si+1, err)
		}
		every, err := gap(s.Every)
		if err != nil {
			return nil, fmt.Errorf("event %d: every: %w", si+1, err)
		}
		if (s.Fields == nil) == (s.Record == nil) {
			return nil, fmt.Errorf("event %d: give exactly one of fields and record", si+1)
		}
		n := max(s.Repeat, 1)
		for i := 1; i <= n; i++ {
			if len(out) > 0 {
				if i == 1 {
					t = t.Add(after)
				} else {
					t = t.Add(every)
				}
			}
			sub := strings.NewReplacer("{i}", strconv.Itoa(i), "{time}", t.UTC().Format(time.RFC3339Nano))
			ev := &tansa.Event{Time: t, Received: t, Source: "test", Format: "test", Fields: map[string]any{}}
			if s.Fields != nil {
				for k, v := range s.Fields {
					x, err := fieldValue(v, sub)
					if err != nil {
						return nil, fmt.Errorf("event %d: field %s: %w", si+1, k, err)
					}
					ev.Fields[k] = x
				}
			} else {
				b, err := json.Marshal(substitute(s.Record, sub))
				if err != nil {
					return nil, fmt.Errorf("event %d: record: %w", si+1, err)
				}
				if err := o365.Parse(string(b), ev); err != nil {
					return nil, fmt.Errorf("event %d: record: %w", si+1, err)
				}
				// The case's timeline decides; records name {time} to agree.
				ev.Time = t
			}
			out = append(out, ev)
		}
	}
	return out, nil
}

func gap(s string) (time.Duration, error) {
	if s == "" {
		return time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}

// fieldValue converts a YAML value to the types parsers store: string,
// int64, float64, bool, []string or nil.
func fieldValue(v any, sub *strings.Replacer) (any, error) {
	switch x := v.(type) {
	case nil, bool, float64:
		return x, nil
	case string:
		return sub.Replace(x), nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list item %v is not a string", e)
			}
			out = append(out, sub.Replace(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%T is not a field value (use dotted names for nested fields)", v)
}

// substitute replaces {i} and {time} in every string of a record.
func substitute(v any, sub *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return sub.Replace(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = substitute(e, sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, sub)
		}
		return out
	}
	return v
}
