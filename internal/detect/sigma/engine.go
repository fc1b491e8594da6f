package sigma

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Options tune compiling.
type Options struct {
	// Placeholders gives the values of %name% placeholders used with the
	// expand modifier, per tenant. A placeholder without values matches
	// nothing and is listed in CompiledRule.Unresolved.
	Placeholders map[string][]string
	// Layouts selects the field-mapping layouts tried after a field's own
	// name; nil means all of Layouts.
	Layouts []string
	// NoLogsourceFilter disables the log-source filters, so rules see every
	// event (useful when events carry no Channel or EventID).
	NoLogsourceFilter bool
	// NoPrefilter evaluates every rule on every event instead of skipping
	// the rules whose literals the event lacks (see prefilter.go); results
	// are the same, only slower. For tests and measurements.
	NoPrefilter bool
}

// CompiledRule is a detection rule ready to evaluate.
type CompiledRule struct {
	Rule       *Rule
	Unresolved []string // placeholders without values
	Filters    []*Rule  // global filters applied to this rule
	cond       matcher
	filterKey  string
	idx        int      // position in the Ruleset
	clauses    []clause // the prefilter's necessary condition; nil: none
}

// Match evaluates the rule's condition, without its log-source filter.
func (c *CompiledRule) Match(e Event) bool { return c.cond.match(e) }

// Ruleset evaluates compiled detection rules against events. It is safe for
// concurrent use: evaluation never writes to it.
type Ruleset struct {
	groups []*ruleGroup
	rules  []*CompiledRule
	pf     *prefilter
	gi     *groupIndex // nil: every event runs every group
}

// ruleGroup shares one log-source filter between rules, so the filter runs
// once per event rather than once per rule.
type ruleGroup struct {
	filter matcher // nil: no filter
	rules  []*CompiledRule
	// indexed is true when some rule of the group has prefilter clauses,
	// so the event's literals are worth scanning.
	indexed bool
}

// Compile builds a Ruleset from the detection rules among rules and applies
// the global filters among them; correlation rules are skipped (give them
// to NewCorrelator). A rule that fails to
// compile is left out and reported in the joined error; the others still
// work.
func Compile(rules []*Rule, opts Options) (*Ruleset, error) {
	layouts := opts.Layouts
	if layouts == nil {
		layouts = Layouts
	}
	mapping, err := loadMappings(layouts)
	if err != nil {
		return nil, err
	}
	table, err := loadLogsources()
	if err != nil {
		return nil, err
	}
	copts := &compileOpts{mapping: mapping, placeholders: opts.Placeholders}
	rs := &Ruleset{}
	groups := map[string]*ruleGroup{}
	var errs []error
	for _, r := range rules {
		if r.Detection == nil {
			continue
		}
		copts.unresolved = map[string]bool{}
		cr, err := compileRule(r, copts)
		if err != nil {
			errs = append(errs, fmt.Errorf("compile rule %s: %w", r.Path, err))
			continue
		}
		for p := range copts.unresolved {
			cr.Unresolved = append(cr.Unresolved, p)
		}
		sort.Strings(cr.Unresolved)
		var keys []string
		if !opts.NoLogsourceFilter {
			for _, k := range filterKeys(r.Logsource) {
				if _, ok := table[k]; ok {
					keys = append(keys, k)
				}
			}
		}
		cr.filterKey = strings.Join(keys, "+")
		g := groups[cr.filterKey]
		if g == nil {
			g = &ruleGroup{}
			var fs []matcher
			for _, k := range keys {
				m, err := compileSearch(table[k], copts)
				if err != nil {
					return nil, fmt.Errorf("compile logsource %s: %w", k, err)
				}
				fs = append(fs, m)
			}
			switch len(fs) {
			case 0:
			case 1:
				g.filter = fs[0]
			default:
				g.filter = andMatch(fs)
			}
			groups[cr.filterKey] = g
			rs.groups = append(rs.groups, g)
		}
		cr.idx = len(rs.rules)
		g.rules = append(g.rules, cr)
		rs.rules = append(rs.rules, cr)
	}
	errs = append(errs, rs.applyFilters(rules, copts)...)
	rs.gi = buildGroupIndex(rs.groups, rs.rules)
	if !opts.NoPrefilter {
		rs.pf = buildPrefilter(rs.rules)
		for _, g := range rs.groups {
			for _, r := range g.rules {
				g.indexed = g.indexed || r.clauses != nil
			}
		}
	}
	return rs, errors.Join(errs...)
}

// applyFilters adds every global filter to the rules it names: a filtered
// rule matches when its condition holds and the filter's does not.
func (rs *Ruleset) applyFilters(rules []*Rule, copts *compileOpts) []error {
	byRef := map[string][]*CompiledRule{}
	for _, cr := range rs.rules {
		if cr.Rule.ID != "" {
			byRef[cr.Rule.ID] = append(byRef[cr.Rule.ID], cr)
		}
		if cr.Rule.Name != "" {
			byRef[cr.Rule.Name] = append(byRef[cr.Rule.Name], cr)
		}
	}
	var errs []error
	for _, r := range rules {
		if r.Filter == nil {
			continue
		}
		fc, err := compileRule(&Rule{Path: r.Path, Title: r.Title, Detection: r.Filter.Detection}, copts)
		if err != nil {
			errs = append(errs, fmt.Errorf("compile filter %s: %w", r.Path, err))
			continue
		}
		for _, ref := range r.Filter.Rules {
			targets, ok := byRef[ref]
			if !ok {
				errs = append(errs, fmt.Errorf("filter %s (%s): unknown rule reference %q", r.Title, r.Path, ref))
				continue
			}
			for _, cr := range targets {
				cr.cond = andMatch{cr.cond, notMatch{fc.cond}}
				cr.Filters = append(cr.Filters, r)
			}
		}
	}
	return errs
}

func compileRule(r *Rule, opts *compileOpts) (*CompiledRule, error) {
	d := r.Detection
	names := make([]string, 0, len(d.Searches))
	searches := map[string]matcher{}
	for name, s := range d.Searches {
		m, err := compileSearch(s, opts)
		if err != nil {
			return nil, err
		}
		searches[name] = m
		names = append(names, name)
	}
	sort.Strings(names)
	var conds []matcher
	for _, c := range d.Conditions {
		m, err := compileCond(c, searches, names)
		if err != nil {
			return nil, err
		}
		conds = append(conds, m)
	}
	cr := &CompiledRule{Rule: r}
	if len(conds) == 1 {
		cr.cond = conds[0]
	} else {
		cr.cond = orMatch(conds)
	}
	return cr, nil
}

type notMatch struct{ m matcher }

func (n notMatch) match(e Event) bool { return !n.m.match(e) }

// countMatch is "N of …": true when at least n of ms match.
type countMatch struct {
	n  int
	ms []matcher
}

func (c countMatch) match(e Event) bool {
	hits := 0
	for _, m := range c.ms {
		if m.match(e) {
			hits++
			if hits >= c.n {
				return true
			}
		}
	}
	return false
}

func compileCond(c cond, searches map[string]matcher, names []string) (matcher, error) {
	switch x := c.(type) {
	case condIdent:
		m, ok := searches[x.name]
		if !ok {
			return nil, fmt.Errorf("condition names undefined search identifier %q", x.name)
		}
		return m, nil
	case condNot:
		m, err := compileCond(x.x, searches, names)
		if err != nil {
			return nil, err
		}
		return notMatch{m}, nil
	case condAnd, condOr:
		var xs []cond
		if a, ok := x.(condAnd); ok {
			xs = a.xs
		} else {
			xs = x.(condOr).xs
		}
		ms := make([]matcher, 0, len(xs))
		for _, y := range xs {
			m, err := compileCond(y, searches, names)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		if _, ok := x.(condAnd); ok {
			return andMatch(ms), nil
		}
		return orMatch(ms), nil
	case condOf:
		targets := resolveOf(x.pattern, names)
		if len(targets) == 0 {
			return nil, fmt.Errorf("condition pattern %q matches no search identifier", x.pattern)
		}
		ms := make([]matcher, len(targets))
		for i, t := range targets {
			ms[i] = searches[t]
		}
		if x.all {
			return andMatch(ms), nil
		}
		return countMatch{n: x.n, ms: ms}, nil
	}
	return nil, fmt.Errorf("unknown condition node %T", c)
}

// Rules returns the compiled rules in compile order.
func (rs *Ruleset) Rules() []*CompiledRule { return rs.rules }

// Match appends to dst every rule whose log-source filter and condition
// match e, and returns the extended slice. Passing a reused dst[:0] keeps
// evaluation free of allocations.
//
// Rules whose prefilter clauses the event cannot satisfy are skipped
// without evaluation; the event's values are scanned for the rule set's
// literals once, and only when a group whose log-source filter passed has
// such rules. Groups whose log-source filter needs another EventID or
// Channel than the event's are skipped without running it, and so are rules
// whose condition needs another EventID (see groupindex.go).
func (rs *Ruleset) Match(e Event, dst []*CompiledRule) []*CompiledRule {
	var sc *scratch
	everyRule := false
	groups, eid := rs.groups, slotUnknown
	if rs.gi != nil {
		groups, eid = rs.gi.pick(e)
	}
	for _, g := range groups {
		if g.filter != nil && !g.filter.match(e) {
			continue
		}
		if g.indexed && sc == nil {
			sc = rs.pf.get()
			everyRule = !rs.pf.scan(e, sc)
		}
		for _, r := range g.rules {
			if eid != slotUnknown && rs.gi.skips(r.idx, eid) {
				continue
			}
			if r.clauses != nil && !everyRule && !sc.candidate(r) {
				continue
			}
			if r.cond.match(e) {
				dst = append(dst, r)
			}
		}
	}
	if sc != nil {
		rs.pf.pool.Put(sc)
	}
	return dst
}
