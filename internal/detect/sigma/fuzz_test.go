package sigma

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary rule text to the parser and compiler: they must
// return errors, never panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("title: t\nlogsource: {product: windows}\ndetection:\n    sel: {Image|endswith: '\\cmd.exe'}\n    condition: sel"))
	f.Add([]byte("title: t\ndetection:\n    k: [a, 'b*c']\n    s: {a|re|i: 'x+', b|cidr: 10.0.0.0/8}\n    condition: 1 of them and not k"))
	f.Add([]byte("title: c\ncorrelation: {type: temporal_ordered, rules: [a, b], group-by: [u], timespan: 5m}"))
	f.Add([]byte("---\n---\ntitle: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, _ := Parse("fuzz.yml", b)
		rs, _ := Compile(rules, Options{})
		if rs != nil {
			ev := Fields{"Image": `C:\cmd.exe`, "a": "x", "b": "10.1.1.1", "EventID": int64(1)}
			rs.Match(ev, nil)
		}
		_, _ = NewCorrelator(rules, CorrelatorOptions{})
	})
}

// FuzzCondition checks that condition parsing never panics and that what
// parses prints back to something that parses again.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not b", "1 of sel_* or (x and y)", "all of them", "not not a", "((a)", "a or", "2 of x*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCondition(s)
		if err != nil {
			return
		}
		if _, err := parseCondition(c.String()); err != nil {
			t.Fatalf("%q parsed as %q which does not parse: %v", s, c.String(), err)
		}
	})
}

// FuzzModifiers compiles a value under a modifier chain and matches it
// against a value: no panics, and plain contains must find the value in
// itself.
func FuzzModifiers(f *testing.F) {
	f.Add("contains|all", "abc", "xxabcxx")
	f.Add("windash|contains", " -enc", "ps /enc")
	f.Add("wide|base64offset|contains", "ping", "cABpAG4AZwA")
	f.Add("re|i", "a.*b", "AxxB")
	f.Add("", `a\*b?c*`, "a*bxcdd")
	f.Fuzz(func(t *testing.T, mods, value, event string) {
		it := &Item{Field: "f", Values: []rvalue{{kind: kindString, text: value}}}
		if mods != "" {
			it.Modifiers = splitMods(mods)
		}
		m, err := compileItem(it, &compileOpts{}, false)
		if err != nil {
			return
		}
		m.match(Fields{"f": event})
		m.match(Fields{"f": []string{event, value}})
		m.match(Fields{"f": int64(len(event))})
		if mods == "contains" {
			lit := parseSString(value)
			if !lit.hasWildcards() && !m.match(Fields{"f": "x" + lit.plain() + "y"}) {
				t.Fatalf("contains %q does not match its own text", value)
			}
		}
	})
}

func splitMods(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if r == '|' {
			out = append(out, cur)
			cur = ""
			continue
		}
		cur += string(r)
	}
	return append(out, cur)
}

// allModifiers lists every field modifier of the specification (with the
// re flags), so FuzzEveryModifier reaches each one, alone and in pairs.
var allModifiers = []string{
	"", "contains", "startswith", "endswith", "all", "exists", "cased", "neq", "windash",
	"re", "re|i", "re|m", "re|s", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",
	"lt", "lte", "gt", "gte", "cidr", "expand", "fieldref",
	"minute", "hour", "day", "week", "month", "year",
}

// FuzzEveryModifier writes a rule "f|<a>|<b>: value" through the real rule
// parser (so numbers, booleans and null get their YAML kinds), compiles it
// with a placeholder, and matches events whose f holds the fuzzed text as a
// string, a number, a list and a timestamp. Beyond "no panic" it checks
// laws a user relies on: cased implies the case-insensitive match, and on a
// plain literal contains/startswith/endswith find it in a longer value,
// neq is the negation of equality, lt splits the numbers, and the literal
// prefilter never changes a decision.
func FuzzEveryModifier(f *testing.F) {
	f.Add(uint8(1), uint8(0), "abc", "xxABCxx")
	f.Add(uint8(19), uint8(0), "5", "4")
	f.Add(uint8(23), uint8(0), "10.0.0.0/8", "10.1.2.3")
	f.Add(uint8(25), uint8(0), "g", "x")
	f.Add(uint8(24), uint8(0), "%dc%", "DC01")
	f.Add(uint8(8), uint8(1), " -enc ", "powershell /enc AAA")
	f.Add(uint8(18), uint8(15), "ping", "cABpAG4AZwA")
	f.Add(uint8(26), uint8(20), "30", "2026-01-01T10:30:00Z")
	f.Add(uint8(4), uint8(1), "a", "b")
	f.Fuzz(func(t *testing.T, a, b uint8, value, event string) {
		if !utf8.ValidString(value) {
			return // YAML text is UTF-8; yaml.Marshal would write !!binary
		}
		mods := ""
		for _, i := range []uint8{a, b} {
			if m := allModifiers[int(i)%len(allModifiers)]; m != "" {
				mods += "|" + m
			}
		}
		var v any = value
		if n, err := strconv.ParseFloat(value, 64); err == nil && !strings.ContainsAny(value, "xXnN_") {
			v = n
		}
		body, err := yaml.Marshal(map[string]any{"f" + mods: v})
		if err != nil {
			return
		}
		src := "title: fuzz\nname: fuzz\nlogsource: {product: windows}\ndetection:\n  sel:\n" +
			indent(string(body)) + "  condition: sel\n"
		rules, err := Parse("fuzz.yml", []byte(src))
		if err != nil {
			return
		}
		rs, err := Compile(rules, Options{Placeholders: map[string][]string{"dc": {"DC01", "dc*.corp"}}})
		if err != nil || len(rs.Rules()) != 1 {
			return
		}
		r := rs.Rules()[0]
		events := []Fields{
			{"f": event, "g": event},
			{"f": strings.ToUpper(event), "g": value},
			{"f": []string{event, value}},
			{"f": int64(len(event)), "g": float64(len(value))},
			{"f": nil},
			{},
		}
		if n, err := strconv.ParseFloat(event, 64); err == nil {
			events = append(events, Fields{"f": n})
		}
		for _, e := range events {
			// The prefilter (Ruleset.Match) must never drop a match of
			// the plain evaluation (CompiledRule.Match).
			if got, want := len(rs.Match(e, nil)) == 1, r.Match(e); got != want {
				t.Fatalf("%s %q on %v: prefiltered %v, plain %v", mods, value, e, got, want)
			}
		}
		s, isStr := v.(string)
		lit := parseSString(s)
		plain := isStr && !lit.hasWildcards() && !strings.ContainsAny(s, "%")
		text := lit.plain()
		match := func(e Fields) bool { return r.Match(e) }
		switch mods {
		case "|contains":
			if plain && !match(Fields{"f": "x" + text + "y"}) {
				t.Fatalf("contains %q does not match x%sy", s, text)
			}
		case "|startswith":
			if plain && !match(Fields{"f": text + "y"}) {
				t.Fatalf("startswith %q does not match %sy", s, text)
			}
		case "|endswith":
			if plain && !match(Fields{"f": "x" + text}) {
				t.Fatalf("endswith %q does not match x%s", s, text)
			}
		case "|neq":
			if plain && match(Fields{"f": text}) {
				t.Fatalf("neq %q matches its own text", s)
			}
		case "|cased", "|cased|contains", "|contains|cased":
			e := Fields{"f": event}
			if match(e) {
				loose, err := Compile([]*Rule{withoutCased(rules[0])}, Options{})
				if err == nil && len(loose.Rules()) == 1 && !loose.Rules()[0].Match(e) {
					t.Fatalf("%s matches %q but the case-insensitive rule does not", mods, event)
				}
			}
		case "|lt":
			if n, ok := v.(float64); ok {
				lt := match(Fields{"f": n - 1})
				eq := match(Fields{"f": n})
				if !lt || eq {
					t.Fatalf("lt %v: %v-1 → %v, %v → %v", n, n, lt, n, eq)
				}
			}
		}
	})
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// withoutCased returns a copy of r whose items drop the cased modifier.
func withoutCased(r *Rule) *Rule {
	d := *r.Detection
	d.Searches = map[string]*Search{}
	for name, s := range r.Detection.Searches {
		ns := *s
		ns.Maps = nil
		for _, m := range s.Maps {
			var nm []*Item
			for _, it := range m {
				x := *it
				x.Modifiers = nil
				for _, mod := range it.Modifiers {
					if mod != "cased" {
						x.Modifiers = append(x.Modifiers, mod)
					}
				}
				nm = append(nm, &x)
			}
			ns.Maps = append(ns.Maps, nm)
		}
		d.Searches[name] = &ns
	}
	c := *r
	c.Detection = &d
	return &c
}

// FuzzCorrelation parses a correlation rule built from fuzzed type,
// condition and timespan over fixed detection rules, feeds it fuzzed
// events out of order, snapshots and restores it: no panic, and the
// restored correlator accepts the same events.
func FuzzCorrelation(f *testing.F) {
	f.Add("event_count", "gte: 2", "5m", "u1", "h1", int64(10), int64(-3))
	f.Add("value_count", "{field: Host, gte: 2}", "1h", "u1", "h2", int64(1), int64(5))
	f.Add("temporal_ordered", "gte: 2", "10s", "", "", int64(0), int64(0))
	f.Add("value_percentile", "{field: Host, lte: 50}", "1d", "a", "b", int64(1<<40), int64(-1<<40))
	f.Add("value_avg", "{field: N, gt: 1.5}", "30m", "u", "1e308", int64(7), int64(7))
	f.Fuzz(func(t *testing.T, typ, cond, span, user, host string, dt1, dt2 int64) {
		src := "title: a\nname: a\nlogsource: {product: windows}\ndetection: {s: {EventID: 1}, condition: s}\n---\n" +
			"title: b\nname: b\nlogsource: {product: windows}\ndetection: {s: {EventID: 2}, condition: s}\n---\n" +
			"title: c\nname: c\ncorrelation:\n  type: " + strconv.Quote(typ) + "\n  rules: [a, b]\n  group-by: [User]\n  timespan: " +
			strconv.Quote(span) + "\n  condition: " + cond + "\n"
		rules, err := Parse("fuzz.yml", []byte(src))
		if err != nil {
			return
		}
		c, err := NewCorrelator(rules, CorrelatorOptions{Lateness: time.Minute, MaxGroups: 4})
		if err != nil {
			return
		}
		var a, b *Rule
		for _, r := range rules {
			switch r.Name {
			case "a":
				a = r
			case "b":
				b = r
			}
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		evs := []struct {
			dt int64
			r  *Rule
			h  string
		}{{0, a, host}, {dt1, b, host}, {dt2, a, user}, {dt1 + dt2, b, "x"}}
		for _, e := range evs {
			c.Observe(Fields{"User": user, "Host": e.h, "N": float64(len(e.h))}, t0.Add(time.Duration(e.dt)), []*Rule{e.r})
		}
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := NewCorrelator(rules, CorrelatorOptions{Lateness: time.Minute, MaxGroups: 4})
		if _, err := c2.Restore(snap); err != nil {
			t.Fatalf("restore own snapshot: %v", err)
		}
		c2.Observe(Fields{"User": user}, t0, []*Rule{a, b})
		c2.Restore([]byte(user + host))
	})
}
