package sigma

import (
	"regexp"
	"strings"
	"testing"
)

// compileOne builds a rule from a detection block (YAML, indented by four
// spaces) and returns its compiled form.
func compileOne(t testing.TB, detection string, opts Options) *CompiledRule {
	t.Helper()
	src := "title: t\nlogsource: {product: windows}\ndetection:\n" + detection
	rules, err := Parse("t.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	rs, err := Compile(rules, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return rs.Rules()[0]
}

func TestModifiers(t *testing.T) {
	tests := []struct {
		name      string
		detection string
		event     Fields
		want      bool
	}{
		{"equal is case-insensitive", "    sel: {Image: 'C:\\Windows\\cmd.exe'}\n    condition: sel", Fields{"Image": `c:\windows\CMD.EXE`}, true},
		{"equal needs whole value", "    sel: {Image: 'cmd.exe'}\n    condition: sel", Fields{"Image": `c:\cmd.exe`}, false},
		{"contains", "    sel: {CommandLine|contains: ' -enc '}\n    condition: sel", Fields{"CommandLine": "powershell -ENC abc"}, true},
		{"startswith", "    sel: {Image|startswith: 'C:\\Users\\'}\n    condition: sel", Fields{"Image": `c:\users\x\a.exe`}, true},
		{"endswith", "    sel: {Image|endswith: '\\cmd.exe'}\n    condition: sel", Fields{"Image": `C:\Windows\System32\cmd.exe`}, true},
		{"endswith miss", "    sel: {Image|endswith: '\\cmd.exe'}\n    condition: sel", Fields{"Image": `C:\Windows\System32\xcmd.exe`}, false},
		{"list is or", "    sel: {Image|endswith: ['\\a.exe', '\\b.exe']}\n    condition: sel", Fields{"Image": `C:\b.exe`}, true},
		{"all", "    sel: {CommandLine|contains|all: [' -a', ' -b']}\n    condition: sel", Fields{"CommandLine": "x -b -a"}, true},
		{"all miss", "    sel: {CommandLine|contains|all: [' -a', ' -b']}\n    condition: sel", Fields{"CommandLine": "x -a"}, false},
		{"wildcard star", "    sel: {Image: 'C:\\\\*\\cmd.exe'}\n    condition: sel", Fields{"Image": `C:\Windows\System32\cmd.exe`}, true},
		{"wildcard question", "    sel: {Image: 'a?c'}\n    condition: sel", Fields{"Image": "abc"}, true},
		{"wildcard question one char", "    sel: {Image: 'a?c'}\n    condition: sel", Fields{"Image": "abbc"}, false},
		{"escaped star is literal", "    sel: {Image: 'a\\*c'}\n    condition: sel", Fields{"Image": "abc"}, false},
		{"escaped star matches star", "    sel: {Image: 'a\\*c'}\n    condition: sel", Fields{"Image": "a*c"}, true},
		{"double backslash before star", "    sel: {Image: 'a\\\\*'}\n    condition: sel", Fields{"Image": `a\xyz`}, true},
		{"cased", "    sel: {Image|cased: 'CMD'}\n    condition: sel", Fields{"Image": "cmd"}, false},
		{"cased hit", "    sel: {Image|contains|cased: 'CMD'}\n    condition: sel", Fields{"Image": "xCMDx"}, true},
		{"exists true", "    sel: {Image|exists: true}\n    condition: sel", Fields{"Image": ""}, true},
		{"exists false", "    sel: {Image|exists: false}\n    condition: sel", Fields{"Other": "x"}, true},
		{"exists false present", "    sel: {Image|exists: false}\n    condition: sel", Fields{"Image": "x"}, false},
		{"null matches absent", "    sel: {Image: null}\n    condition: sel", Fields{"Other": "x"}, true},
		{"null matches empty", "    sel: {Image: null}\n    condition: sel", Fields{"Image": ""}, true},
		{"null misses value", "    sel: {Image: null}\n    condition: sel", Fields{"Image": "x"}, false},
		{"empty string", "    sel: {Image: ''}\n    condition: sel", Fields{"Image": ""}, true},
		{"neq", "    sel: {Image|neq: 'a'}\n    condition: sel", Fields{"Image": "b"}, true},
		{"neq equal", "    sel: {Image|neq: 'a'}\n    condition: sel", Fields{"Image": "A"}, false},
		{"windash slash", "    sel: {CommandLine|contains|windash: ' -enc'}\n    condition: sel", Fields{"CommandLine": "ps /enc x"}, true},
		{"windash en dash", "    sel: {CommandLine|contains|windash: ' -enc'}\n    condition: sel", Fields{"CommandLine": "ps \u2013enc x"}, true},
		{"windash keeps inner dash", "    sel: {CommandLine|windash: 'a-b'}\n    condition: sel", Fields{"CommandLine": "a/b"}, false},
		{"re", "    sel: {CommandLine|re: 'ab+c'}\n    condition: sel", Fields{"CommandLine": "xabbbcx"}, true},
		{"re is cased", "    sel: {CommandLine|re: 'ABC'}\n    condition: sel", Fields{"CommandLine": "abc"}, false},
		{"re i", "    sel: {CommandLine|re|i: 'ABC'}\n    condition: sel", Fields{"CommandLine": "abc"}, true},
		{"re m", "    sel: {CommandLine|re|m: '^b$'}\n    condition: sel", Fields{"CommandLine": "a\nb\nc"}, true},
		{"re s", "    sel: {CommandLine|re|s: 'a.c'}\n    condition: sel", Fields{"CommandLine": "a\nc"}, true},
		{"re without s", "    sel: {CommandLine|re: 'a.c'}\n    condition: sel", Fields{"CommandLine": "a\nc"}, false},
		{"base64", "    sel: {CommandLine|base64|contains: 'http://'}\n    condition: sel", Fields{"CommandLine": "x aHR0cDovLw== y"}, true},
		{"base64offset 0", "    sel: {CommandLine|base64offset|contains: 'http://'}\n    condition: sel", Fields{"CommandLine": "aHR0cDovL"}, true},
		{"base64offset 1", "    sel: {CommandLine|base64offset|contains: 'http://'}\n    condition: sel", Fields{"CommandLine": "IGh0dHA6Ly"}, true},
		{"base64offset 2", "    sel: {CommandLine|base64offset|contains: 'http://'}\n    condition: sel", Fields{"CommandLine": "ICBodHRwOi8v"}, true},
		{"utf16le", "    sel: {Data|utf16le: 'cmd'}\n    condition: sel", Fields{"Data": "c\x00m\x00d\x00"}, true},
		{"wide", "    sel: {Data|wide: 'cmd'}\n    condition: sel", Fields{"Data": "c\x00m\x00d\x00"}, true},
		{"utf16be", "    sel: {Data|utf16be: 'cmd'}\n    condition: sel", Fields{"Data": "\x00c\x00m\x00d"}, true},
		{"utf16 bom", "    sel: {Data|utf16: 'cmd'}\n    condition: sel", Fields{"Data": "\xff\xfec\x00m\x00d\x00"}, true},
		{"wide base64offset", "    sel: {CommandLine|wide|base64offset|contains: 'ping'}\n    condition: sel", Fields{"CommandLine": "-enc cABpAG4AZwA"}, true},
		{"lt", "    sel: {Count|lt: 10}\n    condition: sel", Fields{"Count": int64(9)}, true},
		{"lte", "    sel: {Count|lte: 10}\n    condition: sel", Fields{"Count": "10"}, true},
		{"gt", "    sel: {Count|gt: 10}\n    condition: sel", Fields{"Count": 10.5}, true},
		{"gte miss", "    sel: {Count|gte: 10}\n    condition: sel", Fields{"Count": int64(9)}, false},
		{"number equals string", "    sel: {EventID: 4688}\n    condition: sel", Fields{"EventID": "4688"}, true},
		{"number equals int", "    sel: {EventID: 4688}\n    condition: sel", Fields{"EventID": int64(4688)}, true},
		{"hex pattern on integer", "    sel: {Status: '0xc000006d'}\n    condition: sel", Fields{"Status": int64(0xc000006d)}, true},
		{"unquoted hex on text", "    sel: {GrantedAccess: 0x1410}\n    condition: sel", Fields{"GrantedAccess": "0x1410"}, true},
		{"unquoted hex on integer", "    sel: {GrantedAccess: 0x1410}\n    condition: sel", Fields{"GrantedAccess": int64(0x1410)}, true},
		{"bool", "    sel: {Signed: true}\n    condition: sel", Fields{"Signed": "true"}, true},
		{"cidr v4", "    sel: {DestinationIp|cidr: 10.0.0.0/8}\n    condition: sel", Fields{"DestinationIp": "10.1.2.3"}, true},
		{"cidr miss", "    sel: {DestinationIp|cidr: 10.0.0.0/8}\n    condition: sel", Fields{"DestinationIp": "11.1.2.3"}, false},
		{"cidr v6", "    sel: {DestinationIp|cidr: 'fe80::/10'}\n    condition: sel", Fields{"DestinationIp": "fe80::1"}, true},
		{"fieldref", "    sel: {ParentImage|fieldref: Image}\n    condition: sel", Fields{"Image": "A", "ParentImage": "a"}, true},
		{"fieldref miss", "    sel: {ParentImage|fieldref: Image}\n    condition: sel", Fields{"Image": "A", "ParentImage": "b"}, false},
		{"fieldref neq", "    sel: {ParentImage|fieldref|neq: Image}\n    condition: sel", Fields{"Image": "A", "ParentImage": "b"}, true},
		{"fieldref endswith", "    sel: {TargetFilename|fieldref|endswith: Name}\n    condition: sel", Fields{"TargetFilename": `C:\x\evil.dll`, "Name": "evil.dll"}, true},
		{"hour", "    sel: {UtcTime|hour: 3}\n    condition: sel", Fields{"UtcTime": "2024-05-06 03:04:05.000"}, true},
		{"minute", "    sel: {UtcTime|minute: 4}\n    condition: sel", Fields{"UtcTime": "2024-05-06T03:04:05Z"}, true},
		{"day", "    sel: {UtcTime|day: 6}\n    condition: sel", Fields{"UtcTime": "2024-05-06T03:04:05Z"}, true},
		{"week", "    sel: {UtcTime|week: 19}\n    condition: sel", Fields{"UtcTime": "2024-05-06T03:04:05Z"}, true},
		{"month", "    sel: {UtcTime|month: 5}\n    condition: sel", Fields{"UtcTime": "2024-05-06T03:04:05Z"}, true},
		{"year", "    sel: {UtcTime|year: 2024}\n    condition: sel", Fields{"UtcTime": "2024-05-06T03:04:05Z"}, true},
		{"hour gte", "    sel: {UtcTime|hour|gte: 22}\n    condition: sel", Fields{"UtcTime": "2024-05-06T23:04:05Z"}, true},
		{"list value field", "    sel: {Data|contains: evil}\n    condition: sel", Fields{"Data": []string{"good", "EVIL stuff"}}, true},
		{"keyword", "    keywords: ['mimikatz']\n    condition: keywords", Fields{"CommandLine": "run MimiKatz now"}, true},
		{"keyword miss", "    keywords: ['mimikatz']\n    condition: keywords", Fields{"CommandLine": "run now"}, false},
		{"keyword scalar", "    keywords: 'sekurlsa'\n    condition: keywords", Fields{"x": "a sekurlsa::logonpasswords"}, true},
		{"keyword with modifier", "    keywords:\n        '|all': [foo, bar]\n    condition: keywords", Fields{"a": "foo", "b": "bar"}, true},
		{"missing field", "    sel: {Image|contains: x}\n    condition: sel", Fields{}, false},
		{"and across fields", "    sel: {a: 1, b: 2}\n    condition: sel", Fields{"a": int64(1), "b": int64(3)}, false},
		{"list of maps is or", "    sel:\n        - {a: 1}\n        - {b: 2}\n    condition: sel", Fields{"b": int64(2)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := compileOne(t, tt.detection, Options{NoLogsourceFilter: true})
			if got := cr.Match(tt.event); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpandPlaceholders(t *testing.T) {
	det := "    sel: {User|expand: '%admins%'}\n    condition: sel"
	cr := compileOne(t, det, Options{Placeholders: map[string][]string{"admins": {"root", "admin*"}}})
	if !cr.Match(Fields{"User": "administrator"}) || !cr.Match(Fields{"User": "ROOT"}) || cr.Match(Fields{"User": "bob"}) {
		t.Error("placeholder values not expanded")
	}
	cr = compileOne(t, det, Options{})
	if cr.Match(Fields{"User": "%admins%"}) || len(cr.Unresolved) != 1 || cr.Unresolved[0] != "admins" {
		t.Errorf("unresolved placeholder: unresolved=%v", cr.Unresolved)
	}
	cr = compileOne(t, "    sel: {Path|expand: '%dir%\\x.exe'}\n    condition: sel", Options{Placeholders: map[string][]string{"dir": {`C:\a`, `C:\b`}}})
	if !cr.Match(Fields{"Path": `c:\b\x.exe`}) {
		t.Error("placeholder inside a value not expanded")
	}
}

func TestConditions(t *testing.T) {
	searches := "    sel_a: {a: 1}\n    sel_b: {b: 1}\n    filter: {c: 1}\n    _hidden: {d: 1}\n"
	tests := []struct {
		cond string
		ev   Fields
		want bool
	}{
		{"sel_a and sel_b", Fields{"a": "1", "b": "1"}, true},
		{"sel_a and sel_b", Fields{"a": "1"}, false},
		{"sel_a or sel_b", Fields{"b": "1"}, true},
		{"sel_a and not filter", Fields{"a": "1", "c": "1"}, false},
		{"sel_a and not filter", Fields{"a": "1"}, true},
		{"not sel_a", Fields{}, true},
		{"sel_a or sel_b and filter", Fields{"a": "1"}, true},       // and binds tighter
		{"(sel_a or sel_b) and filter", Fields{"a": "1"}, false},    // parentheses
		{"not sel_a or sel_b", Fields{"a": "1", "b": "1"}, true},    // not binds tightest
		{"not (sel_a or sel_b)", Fields{"a": "1"}, false},           // negated group
		{"1 of sel_*", Fields{"b": "1"}, true},                      // wildcard
		{"all of sel_*", Fields{"b": "1"}, false},                   // all of
		{"all of sel_*", Fields{"a": "1", "b": "1"}, true},          // all of
		{"1 of them", Fields{"c": "1"}, true},                       // them
		{"1 of them", Fields{"d": "1"}, false},                      // them skips _
		{"all of them", Fields{"a": "1", "b": "1", "c": "1"}, true}, // all of them
		{"2 of sel_* or filter", Fields{"a": "1"}, false},           // counts
		{"1 of sel_* and not 1 of filter*", Fields{"a": "1"}, true}, // combined
		{"SEL_A AND NOT filter", Fields{"a": "1"}, false},           // identifiers are case sensitive
		{"sel_a AND NOT filter", Fields{"a": "1"}, true},            // keywords are not
		{"_hidden", Fields{"d": "1"}, true},                         // direct reference
		{"((sel_a))", Fields{"a": "1"}, true},                       // nesting
		{"sel_a and (sel_b or not filter)", Fields{"a": "1"}, true}, // mixed
		{"all of sel_* and not filter", Fields{"a": "1", "b": "1", "c": "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			src := "title: t\nlogsource: {product: windows}\ndetection:\n" + searches + "    condition: " + tt.cond
			rules, err := Parse("t.yml", []byte(src))
			if strings.HasPrefix(tt.cond, "SEL_A") {
				if err == nil {
					t.Fatal("undefined identifier accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rs, err := Compile(rules, Options{NoLogsourceFilter: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := rs.Rules()[0].Match(tt.ev); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionList(t *testing.T) {
	cr := compileOne(t, "    a: {x: 1}\n    b: {y: 1}\n    condition:\n        - a\n        - b", Options{NoLogsourceFilter: true})
	if !cr.Match(Fields{"y": "1"}) {
		t.Error("a list of conditions is an or")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		line int
		frag string
	}{
		{"title: t\ndetection:\n    sel: {a|nosuch: 1}\n    condition: sel\n", 3, "unknown modifier"},
		{"title: t\ndetection:\n    sel: {a: 1}\n    condition: sel and\n", 4, "condition"},
		{"title: t\ndetection:\n    sel: {a: 1}\n    condition: other\n", 4, "undefined"},
		{"title: t\ndetection:\n    sel: {a: 1}\n", 3, "no condition"},
		{"title: t\ndetection:\n    sel: {a|re: '(['}\n    condition: sel\n", 3, "regular expression"},
		{"title: t\ndetection:\n    sel: {a|cidr: 'x/99'}\n    condition: sel\n", 3, "cidr"},
		{"title: t\ndetection:\n    sel: {a|exists: maybe}\n    condition: sel\n", 3, "exists"},
		{"title: t\ndetection:\n  sel: [a\n", 2, "yaml"},
		{"detection:\n    sel: {a: 1}\n    condition: sel\n", 1, "title"},
		{"title: t\ncorrelation: {type: nope, rules: [a], timespan: 1m}\n", 2, "correlation type"},
		{"title: t\ncorrelation: {type: event_count, rules: [a], timespan: 5x, condition: {gte: 1}}\n", 2, "timespan"},
	}
	for _, tt := range tests {
		_, err := Parse("r.yml", []byte(tt.src))
		pe, ok := err.(*ParseError)
		if !ok {
			t.Errorf("%q: error %v is not a *ParseError", tt.src, err)
			continue
		}
		if pe.Line != tt.line || !strings.Contains(strings.ToLower(pe.Error()), strings.ToLower(tt.frag)) || pe.Path != "r.yml" {
			t.Errorf("%q: got %v (line %d), want line %d mentioning %q", tt.src, pe, pe.Line, tt.line, tt.frag)
		}
	}
}

func TestLogsourceFilter(t *testing.T) {
	src := "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel: {Image|endswith: '\\cmd.exe'}\n    condition: sel"
	rules, err := Parse("t.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   Fields
		want bool
	}{
		{"sysmon 1", Fields{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": int64(1), "Image": `C:\cmd.exe`}, true},
		{"sysmon 11", Fields{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": int64(11), "Image": `C:\cmd.exe`}, false},
		{"security 4688 mapped", Fields{"Channel": "Security", "EventID": int64(4688), "NewProcessName": `C:\cmd.exe`}, true},
		{"ecs", Fields{"winlog.channel": "Microsoft-Windows-Sysmon/Operational", "winlog.event_id": int64(1), "process.executable": `C:\cmd.exe`}, true},
		{"nxlog", Fields{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": int64(1), "Image": `C:\cmd.exe`, "SourceName": "Microsoft-Windows-Sysmon"}, true},
	}
	for _, tt := range tests {
		if got := len(rs.Match(tt.ev, nil)) == 1; got != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestContainsFoldAgreesWithLower(t *testing.T) {
	alphabet := "aAbB-/ x"
	seed := uint32(1)
	next := func() uint32 { seed = seed*1664525 + 1013904223; return seed >> 8 }
	gen := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[next()%uint32(len(alphabet))]
		}
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		s, p := gen(int(next()%12)), strings.ToLower(gen(int(next()%4)))
		want := strings.Contains(strings.ToLower(s), p)
		if got := containsFold(s, p); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", s, p, got, want)
		}
		g := compileSString(parseSString("*"+p+"*?"+p), false)
		re := regexp.MustCompile("(?is)^.*" + regexp.QuoteMeta(p) + ".*." + regexp.QuoteMeta(p) + "$")
		if got, want := g.match(s), re.MatchString(s); got != want {
			t.Fatalf("glob *%s*?%s on %q = %v, want %v", p, p, s, got, want)
		}
	}
}

func TestGlobalFilter(t *testing.T) {
	src := `title: rar
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource: {product: windows, category: process_creation}
detection:
    sel: {Image|endswith: '\rar.exe'}
    condition: sel
---
title: Filter Administrator account
logsource: {product: windows, category: process_creation}
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
    selection:
        User|startswith: 'adm_'
    condition: selection
`
	rules, err := Parse("f.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules, Options{NoLogsourceFilter: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rs.Match(Fields{"Image": `C:\rar.exe`, "User": "bob"}, nil)); n != 1 {
		t.Errorf("unfiltered user: %d matches, want 1", n)
	}
	if n := len(rs.Match(Fields{"Image": `C:\rar.exe`, "User": "adm_bob"}, nil)); n != 0 {
		t.Errorf("filtered user: %d matches, want 0", n)
	}
	bad := "title: f\nlogsource: {product: windows}\nfilter:\n    rules: [nope]\n    s: {a: 1}\n    condition: s\n"
	br, err := Parse("b.yml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(br, Options{}); err == nil {
		t.Error("filter with unknown reference accepted")
	}
}
