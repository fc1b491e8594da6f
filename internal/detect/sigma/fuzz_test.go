package sigma

import (
	"testing"
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
