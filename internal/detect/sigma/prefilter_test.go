package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestPrefilterSameMatches runs every SigmaHQ Windows rule with and without
// the literal prefilter over SigmaHQ's regression events and (unless -short
// or under the race detector) the 315 attack-sample EVTX files, and
// requires the same rules to match every event. The slow side runs without
// the log-source group index too (groupindex.go).
func TestPrefilterSameMatches(t *testing.T) {
	var win []*Rule
	for _, d := range ruleDirs {
		rules, _ := ParseDir(shareddata.Path(t, d))
		for _, r := range rules {
			if r.Logsource.Product == "windows" || r.Filter != nil {
				win = append(win, r)
			}
		}
	}
	fast, err := Compile(win, Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := Compile(win, Options{NoPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	if fast.gi == nil {
		t.Fatal("no log-source group index built for the Windows rules")
	}
	t.Logf("%d log-source groups, indexed by %d Channels and %d EventIDs", len(fast.groups), len(fast.gi.keys[0].slots), len(fast.gi.keys[1].slots))
	slow.gi = nil
	indexed := 0
	for _, r := range fast.Rules() {
		if r.clauses != nil {
			indexed++
		}
	}
	t.Logf("%d rules, %d with a prefilter condition, %d literals, scanning %d fields (0: all)", len(fast.Rules()), indexed, len(fast.pf.lits), len(fast.pf.byField))
	if indexed < len(fast.Rules())/2 {
		t.Errorf("only %d of %d rules have a prefilter condition", indexed, len(fast.Rules()))
	}
	roots := []string{shareddata.Path(t, "sigma/regression_data")}
	if !testing.Short() && !raceEnabled {
		roots = append(roots, shareddata.Path(t, "evtx"))
	}
	events, matches := 0, 0
	var a, b []*CompiledRule
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
				return nil
			}
			winevt.ReadEVTXFile(p, winevt.Options{}, func(e *tansa.Event) error {
				events++
				a = fast.Match(e, a[:0])
				b = slow.Match(e, b[:0])
				matches += len(b)
				if len(a) != len(b) {
					t.Errorf("%s record %v: %d matches with the prefilter, %d without", p, e.Fields["EventRecordID"], len(a), len(b))
					return nil
				}
				for i := range a {
					if a[i].Rule != b[i].Rule {
						t.Errorf("%s record %v: %s with the prefilter, %s without", p, e.Fields["EventRecordID"], a[i].Rule.Path, b[i].Rule.Path)
					}
				}
				return nil
			})
			return nil
		})
	}
	t.Logf("%d events, %d matches, the same with and without the prefilter", events, matches)
	if events == 0 || matches == 0 {
		t.Fatal("nothing compared")
	}
}

// TestPrefilterConditions checks the necessary conditions derived from
// condition shapes that must not constrain a rule (negation, numbers,
// regular expressions, short literals) and ones that must.
func TestPrefilterConditions(t *testing.T) {
	cases := []struct {
		det     string
		indexed bool
		hit     Fields
		miss    Fields
	}{
		{"sel: {CommandLine|contains: mimikatz}\n  condition: sel", true, Fields{"CommandLine": "x MimiKatz y"}, Fields{"CommandLine": "notepad"}},
		{"sel: {CommandLine|contains|all: [' -enc', 'hidden']}\n  condition: sel", true, Fields{"CommandLine": "ps -ENC x -w HIDDEN"}, Fields{"CommandLine": "ps -enc"}},
		{"a: {Image|endswith: '\\evil.exe'}\n  b: {Image|endswith: '\\bad.exe'}\n  condition: a or b", true, Fields{"Image": `C:\BAD.exe`}, Fields{"Image": `C:\good.exe`}},
		{"sel: {CommandLine|contains: mimikatz}\n  condition: not sel", false, Fields{"CommandLine": "notepad"}, Fields{"CommandLine": "mimikatz"}},
		{"sel: {EventID: 4688}\n  condition: sel", false, Fields{"EventID": int64(4688)}, Fields{"EventID": int64(1)}},
		{"sel: {GrantedAccess: '0x1410'}\n  condition: sel", false, Fields{"GrantedAccess": int64(0x1410)}, Fields{"GrantedAccess": int64(1)}},
		{"sel: {GrantedAccess|startswith: '0x14'}\n  condition: sel", true, Fields{"GrantedAccess": int64(0x1410)}, Fields{"GrantedAccess": int64(0x1010)}},
		{"sel: {Port|endswith: '445'}\n  condition: sel", true, Fields{"Port": int64(1445)}, Fields{"Port": int64(443)}},
		{"sel: {CommandLine|re: 'mimi.*katz'}\n  condition: sel", true, Fields{"CommandLine": "mimiXkatz"}, Fields{"CommandLine": "x"}},
		{"sel: {CommandLine|re|i: '(Invoke|IEX)-?Expression'}\n  condition: sel", true, Fields{"CommandLine": "iex-EXPRESSION"}, Fields{"CommandLine": "ex"}},
		{"sel: {CommandLine|re: '(abcd|x)y'}\n  condition: sel", false, Fields{"CommandLine": "xy"}, Fields{"CommandLine": "y"}},
		{"sel: {CommandLine|re: 'a*b?.+'}\n  condition: sel", false, Fields{"CommandLine": "q"}, Fields{"CommandLine": ""}},
		{"sel: {CommandLine|re|i: 'ПРИВЕТ'}\n  condition: sel", false, Fields{"CommandLine": "привет"}, Fields{"CommandLine": "x"}},
		{"sel: {CommandLine|re: 'ПРИВЕТ'}\n  condition: sel", true, Fields{"CommandLine": "ПРИВЕТ"}, Fields{"CommandLine": "привет"}},
		{"sel: {CommandLine|re|i: 'mimikatz'}\n  condition: sel", true, Fields{"CommandLine": "MIMI\u212aATZ"}, Fields{"CommandLine": "mimi"}},
		{"sel: {Port|re: '^44[0-9]{3}$'}\n  condition: sel", false, Fields{"Port": int64(44123)}, Fields{"Port": int64(4)}},
		{"sel: {CommandLine|contains: '<'}\n  condition: sel", false, Fields{"CommandLine": "a < b"}, Fields{"CommandLine": "a"}},
		{"sel: {CommandLine|cased: 'Invoke-Mimikatz'}\n  condition: sel", true, Fields{"CommandLine": "Invoke-Mimikatz"}, Fields{"CommandLine": "invoke-mimikatz"}},
		{"sel: {CommandLine: 'ПРИВЕТ'}\n  condition: sel", false, Fields{"CommandLine": "привет"}, Fields{"CommandLine": "x"}},
		{"sel: {Tags: 'malware'}\n  condition: sel", true, Fields{"Tags": []string{"x", "MALWARE"}}, Fields{"Tags": []string{"x"}}},
		{"kw: ['evilcorp']\n  condition: kw", true, Fields{"a": "see EvilCorp"}, Fields{"a": "x"}},
		{"sel: {CommandLine|base64offset|contains: 'IEX ('}\n  condition: sel", true, Fields{"CommandLine": "powershell -e SUVYICgoTmV3"}, Fields{"CommandLine": "x"}},
		{"a: {x: 'abcd'}\n  b: {y: 'efgh'}\n  condition: 1 of them", true, Fields{"y": "EFGH"}, Fields{"x": "abc"}},
		{"a: {x: 'abcd'}\n  b: {y|exists: true}\n  condition: 1 of them", false, Fields{"y": ""}, Fields{"z": "1"}},
		{"sel: {Image|endswith: '\\evil.exe'}\n  condition: sel", true, Fields{"process.executable": `C:\EVIL.exe`}, Fields{"Image": "x", "CommandLine": `C:\evil.exe`}},
		{"sel: {Image|endswith: '\\evil.exe'}\n  kw: ['evilcorp']\n  condition: sel and kw", true, Fields{"Image": `C:\evil.exe`, "CommandLine": "EvilCorp"}, Fields{"Image": `C:\evil.exe`}},
	}
	for _, c := range cases {
		src := "title: t\nlogsource: {product: windows}\ndetection:\n  " + c.det + "\n"
		rules, err := Parse("t.yml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.det, err)
		}
		rs, err := Compile(rules, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.det, err)
		}
		if got := rs.Rules()[0].clauses != nil; got != c.indexed {
			t.Errorf("%q: indexed = %v, want %v (%v)", c.det, got, c.indexed, rs.Rules()[0].clauses)
		}
		if n := len(rs.Match(c.hit, nil)); n != 1 {
			t.Errorf("%q: %v does not match", c.det, c.hit)
		}
		if n := len(rs.Match(c.miss, nil)); n != 0 {
			t.Errorf("%q: %v matches", c.det, c.miss)
		}
	}
}

// TestPrefilterFieldTied checks that a literal counts only in the field it
// was written for (or one of that field's mapped names): an image name in
// CommandLine does not make an Image rule a candidate, while keyword
// literals count in any field.
func TestPrefilterFieldTied(t *testing.T) {
	src := `title: img
logsource: {product: windows}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: kw
logsource: {product: windows}
detection:
  kw: ['whoami.exe']
  condition: kw
`
	rules, err := Parse("t.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, kw := rs.Rules()[0], rs.Rules()[1]
	cases := []struct {
		e       Fields
		img, kw bool
	}{
		{Fields{"Image": `C:\x\notepad.exe`, "CommandLine": `cmd /c C:\x\WHOAMI.exe`}, false, true},
		{Fields{"Image": `C:\x\whoami.exe`}, true, true},
		{Fields{"process.executable": `C:\x\whoami.exe`}, true, true},
		{Fields{"ParentImage": `C:\x\whoami.exe`}, false, true},
		{Fields{"Image": `C:\x\notepad.exe`}, false, false},
	}
	for _, c := range cases {
		sc := rs.pf.get()
		if !rs.pf.scan(c.e, sc) {
			t.Fatal("scan refused a Fields event")
		}
		if got := sc.candidate(img); got != c.img {
			t.Errorf("%v: Image rule candidate %v, want %v", c.e, got, c.img)
		}
		if got := sc.candidate(kw); got != c.kw {
			t.Errorf("%v: keyword rule candidate %v, want %v", c.e, got, c.kw)
		}
		rs.pf.pool.Put(sc)
	}
}
