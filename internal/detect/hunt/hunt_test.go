package hunt

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tansa-sec/tansa/internal/shareddata"
)

// hunt runs Run and returns its output, its stderr and its summary.
func hunt(t *testing.T, opts Options) ([]byte, string, Summary) {
	t.Helper()
	var out, errb bytes.Buffer
	sum, err := Run(context.Background(), opts, &out, &errb)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errb.String())
	}
	return out.Bytes(), errb.String(), sum
}

// readJSONL parses JSON lines output back into matches.
func readJSONL(t *testing.T, b []byte) []Match {
	t.Helper()
	var ms []Match
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var m Match
		err := dec.Decode(&m)
		if err == io.EOF {
			return ms
		}
		if err != nil {
			t.Fatalf("output line %d does not parse: %v", len(ms)+1, err)
		}
		ms = append(ms, m)
	}
}

var regressionPathRE = regexp.MustCompile(`(?m)^regression_tests_path:\s*(\S+)`)

// TestSigmaHQRegression hunts the SigmaHQ regression EVTX files with every
// rule that references one, all in one run, and requires each rule to
// match its files at least match_count times (once when unset), as the
// rule's own regression record says.
func TestSigmaHQRegression(t *testing.T) {
	base := shareddata.Path(t, "sigma")
	type want struct {
		rule, file string
		count      int
	}
	var rules, files []string
	var wants []want
	seen := map[string]bool{}
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"} {
		filepath.WalkDir(filepath.Join(base, d), func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(p, ".yml") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m := regressionPathRE.FindSubmatch(b)
			if m == nil {
				return nil
			}
			var rule struct {
				ID string `yaml:"id"`
			}
			if err := yaml.Unmarshal(b, &rule); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			ib, err := os.ReadFile(filepath.Join(base, string(m[1])))
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				Tests []struct {
					Type       string `yaml:"type"`
					MatchCount int    `yaml:"match_count"`
					Path       string `yaml:"path"`
				} `yaml:"regression_tests_info"`
			}
			if err := yaml.Unmarshal(ib, &info); err != nil {
				t.Fatalf("%s: %v", m[1], err)
			}
			rules = append(rules, p)
			for _, tc := range info.Tests {
				if tc.Type != "" && tc.Type != "evtx" {
					continue
				}
				f := filepath.Join(base, tc.Path)
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
				wants = append(wants, want{rule.ID, f, max(tc.MatchCount, 1)})
			}
			return nil
		})
	}
	if len(wants) < 100 {
		t.Fatalf("found only %d regression cases", len(wants))
	}
	out, stderr, sum := hunt(t, Options{Rules: rules, Paths: files, Workers: 4})
	if sum.ParseFailures+sum.CompileFailures > 0 {
		t.Errorf("rule failures:\n%s", stderr)
	}
	got := map[[2]string]int{}
	for _, m := range readJSONL(t, out) {
		got[[2]string{m.RuleID, m.File}]++
	}
	pass := 0
	for _, w := range wants {
		if n := got[[2]string{w.rule, w.file}]; n < w.count {
			t.Errorf("rule %s over %s: %d matches, want at least %d", w.rule, w.file, n, w.count)
		} else {
			pass++
		}
	}
	t.Logf("%d of %d regression cases (%d rules, %d files, %d events) pass in one hunt", pass, len(wants), len(rules), len(files), sum.Events)
}

// TestMinLevelAndFormats hunts the DeepBlueCLI logs with the SigmaHQ
// Security-log rules: --min-level high keeps exactly the high and critical
// lines, and the CSV output holds the same lines as the JSON lines output.
func TestMinLevelAndFormats(t *testing.T) {
	rules := shareddata.Path(t, "sigma/rules/windows/builtin/security")
	logs := shareddata.Path(t, "evtx/DeepBlueCLI")
	all, _, sumAll := hunt(t, Options{Rules: []string{rules}, Paths: []string{logs}})
	high, _, sumHigh := hunt(t, Options{Rules: []string{rules}, Paths: []string{logs}, MinLevel: "high", Workers: 1})
	allMs, highMs := readJSONL(t, all), readJSONL(t, high)

	var want []Match
	for _, m := range allMs {
		if m.Level == "high" || m.Level == "critical" {
			want = append(want, m)
		}
	}
	if len(want) == 0 || len(want) == len(allMs) {
		t.Fatalf("the test needs lines below and at high: %d of %d", len(want), len(allMs))
	}
	if len(highMs) != len(want) {
		t.Fatalf("--min-level high: %d lines, want %d", len(highMs), len(want))
	}
	for i := range want {
		if highMs[i].RuleID != want[i].RuleID || highMs[i].RecordID != want[i].RecordID || highMs[i].File != want[i].File {
			t.Fatalf("line %d: %s %s, want %s %s", i, highMs[i].RuleID, highMs[i].RecordID, want[i].RuleID, want[i].RecordID)
		}
	}
	if sumHigh.Matches["medium"] != 0 || sumHigh.Total != len(want) || sumAll.Total != len(allMs) {
		t.Errorf("summaries: high %+v, all %d lines", sumHigh.Matches, sumAll.Total)
	}
	for i := 1; i < len(allMs); i++ {
		if allMs[i].Timestamp.Before(allMs[i-1].Timestamp) {
			t.Fatalf("line %d is earlier than line %d: not a timeline", i+1, i)
		}
	}

	csvOut, _, _ := hunt(t, Options{Rules: []string{rules}, Paths: []string{logs}, Format: "csv"})
	recs, err := csv.NewReader(bytes.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatalf("csv output does not parse: %v", err)
	}
	if strings.Join(recs[0], ",") != strings.Join(csvHeader(), ",") {
		t.Errorf("csv header %v", recs[0])
	}
	if len(recs)-1 != len(allMs) {
		t.Fatalf("csv: %d rows, jsonl: %d lines", len(recs)-1, len(allMs))
	}
	for i, rec := range recs[1:] {
		m := allMs[i]
		if rec[0] != m.RuleID || rec[2] != m.Level || rec[7] != m.EventID || rec[8] != m.RecordID || rec[9] != m.File ||
			rec[3] != strings.Join(m.Tags, ";") || rec[4] != m.Timestamp.Format("2006-01-02T15:04:05.999999999Z07:00") {
			t.Fatalf("csv row %d %v differs from jsonl line %+v", i+1, rec, m)
		}
		var fields map[string]any
		if rec[10] != "" {
			if err := json.Unmarshal([]byte(rec[10]), &fields); err != nil {
				t.Fatalf("csv row %d matched_fields: %v", i+1, err)
			}
		}
		if len(fields) != len(m.Fields) {
			t.Fatalf("csv row %d: matched fields %v, jsonl %v", i+1, fields, m.Fields)
		}
	}
}

// TestCorrelation runs testdata/correlation (five failed logons for one
// account within five minutes, over a detection rule that raises nothing
// on its own) on an SMB password-guessing log: the correlation fires,
// names the account and lists five contributing record IDs, and the
// detection rule's own matches stay silent.
func TestCorrelation(t *testing.T) {
	log := shareddata.Path(t, "evtx/DeepBlueCLI/smb-password-guessing-security.evtx")
	out, _, sum := hunt(t, Options{Rules: []string{"testdata/correlation"}, Paths: []string{log}})
	ms := readJSONL(t, out)
	if len(ms) == 0 || sum.CorrelationAlerts != len(ms) {
		t.Fatalf("%d lines, %d correlation alerts; want only correlation alerts", len(ms), sum.CorrelationAlerts)
	}
	m := ms[0]
	c := m.Correlation
	if m.RuleID != "5b0f2a51-0c7e-4d8b-8d8e-6c1e3f4a9b02" || c == nil || c.Type != "event_count" {
		t.Fatalf("first line %+v", m)
	}
	if c.GroupBy["TargetUserName"] != "Administrator" {
		t.Errorf("group by %v, want TargetUserName Administrator", c.GroupBy)
	}
	if c.Value < 5 || c.EventCount != int(c.Value) || len(c.Events) != c.EventCount {
		t.Errorf("value %v, %d events listed of %d", c.Value, len(c.Events), c.EventCount)
	}
	var ids []string
	for _, e := range c.Events {
		if e.RecordID == "" || e.File != log || e.Timestamp.Before(c.Start) || e.Timestamp.After(c.End) {
			t.Errorf("contributing event %+v outside the alert %v–%v", e, c.Start, c.End)
		}
		ids = append(ids, e.RecordID)
	}
	if !sort.StringsAreSorted(ids) || m.Channel != "Security" || m.EventID != "4625" {
		t.Errorf("record IDs %v, channel %q, event ID %q", ids, m.Channel, m.EventID)
	}
}

// TestMalformedRule hunts with a folder holding a rule that does not parse
// beside one that does: the bad file is reported with its line, counted,
// and the good rule still matches.
func TestMalformedRule(t *testing.T) {
	log := shareddata.Path(t, "evtx/DeepBlueCLI/smb-password-guessing-security.evtx")
	out, stderr, sum := hunt(t, Options{Rules: []string{"testdata/broken"}, Paths: []string{log}})
	if sum.ParseFailures != 1 || sum.Rules != 1 {
		t.Errorf("parse failures %d, rules %d; want 1 and 1", sum.ParseFailures, sum.Rules)
	}
	if want := filepath.Join("testdata", "broken", "malformed.yml") + ":11: "; !strings.Contains(stderr, want) {
		t.Errorf("stderr does not name %q:\n%s", want, stderr)
	}
	ms := readJSONL(t, out)
	if len(ms) == 0 || ms[0].RuleID != "0f6f6e0a-3b7e-4d5e-8f1a-0c2d9e8b7a03" {
		t.Errorf("the good rule did not run: %d lines", len(ms))
	}
}

// TestJSONInputs needs no shared data: gzipped Winlogbeat lines and an
// Office 365 audit file, each matched by a rule of its own log source
// only, and a file of another kind skipped.
func TestJSONInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("rules.yml", `title: Whoami
id: 11111111-1111-4111-8111-111111111111
level: medium
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
---
title: Failed Office 365 Login
id: 22222222-2222-4222-8222-222222222222
level: high
logsource:
    product: m365
    service: audit
detection:
    selection:
        Operation: UserLoginFailed
    condition: selection
`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"@timestamp":"2026-11-20T08:00:00Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"record_id":42,"computer_name":"pc1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}}}
{"@timestamp":"2026-11-20T08:00:01Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"record_id":43,"computer_name":"pc1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\Windows\\notepad.exe"}}}
`)
	zw.Close()
	write("winlogbeat.jsonl.gz", gz.String())
	write("ual.jsonl", `{"CreationTime":"2026-11-20T08:16:02","Id":"aaaa-1","Operation":"UserLoginFailed","RecordType":15,"Workload":"AzureActiveDirectory","UserId":"a@example.com","ClientIP":"203.0.113.9"}
{"CreationTime":"2026-11-20T08:17:02","Id":"aaaa-2","Operation":"UserLoggedIn","RecordType":15,"Workload":"AzureActiveDirectory","UserId":"a@example.com","ClientIP":"203.0.113.9"}
`)
	write("notes.txt", "not a log\n")

	out, stderr, sum := hunt(t, Options{Rules: []string{rules}, Paths: []string{dir}, Workers: 2})
	ms := readJSONL(t, out)
	if len(ms) != 2 || sum.Files != 2 || sum.Skipped != 2 || sum.Events != 4 {
		t.Fatalf("%d lines, summary %+v\n%s\n%s", len(ms), sum, out, stderr)
	}
	w, o := ms[0], ms[1]
	if w.RuleID != "11111111-1111-4111-8111-111111111111" || w.RecordID != "42" || w.Computer != "pc1" || w.EventID != "1" ||
		w.Fields[`Image`] != `C:\Windows\System32\whoami.exe` {
		t.Errorf("winlogbeat line %+v", w)
	}
	if o.RuleID != "22222222-2222-4222-8222-222222222222" || o.RecordID != "aaaa-1" || o.EventID != "UserLoginFailed" || o.Fields["Operation"] != "UserLoginFailed" {
		t.Errorf("o365 line %+v", o)
	}
}

// TestOptions checks the errors of invalid options.
func TestOptions(t *testing.T) {
	for _, o := range []Options{
		{Rules: []string{"testdata/correlation"}, Paths: []string{"."}, MinLevel: "severe"},
		{Rules: []string{"testdata/correlation"}, Paths: []string{"."}, Format: "xml"},
		{Paths: []string{"."}},
		{Rules: []string{"testdata/correlation"}},
		{Rules: []string{"testdata/none"}, Paths: []string{"."}},
		{Rules: []string{"testdata/correlation"}, Paths: []string{"testdata/none"}},
	} {
		if _, err := Run(context.Background(), o, io.Discard, io.Discard); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestChainedCorrelation needs no shared data: failed logons and a
// success for one account, split over two NXLog files read by two
// workers, raise "two failures" (referenced only, so silent) and then the
// temporal "failures, then a success" chained on it, whose line lists
// the events of both. The rule folder named twice loads once.
func TestChainedCorrelation(t *testing.T) {
	dir, rules := t.TempDir(), t.TempDir()
	write := func(dir, name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(rules, "chain.yml", `title: Failed
id: aaaaaaaa-0000-4000-8000-000000000001
name: failed
level: low
logsource: {product: windows, service: security}
detection: {s: {EventID: 4625}, condition: s}
---
title: Success
id: aaaaaaaa-0000-4000-8000-000000000002
name: success
level: informational
logsource: {product: windows, service: security}
detection: {s: {EventID: 4624}, condition: s}
---
title: Two Failures
id: aaaaaaaa-0000-4000-8000-000000000003
name: two_failures
level: medium
correlation:
    type: event_count
    rules: failed
    group-by: [TargetUserName]
    timespan: 10m
    condition: {gte: 2}
---
title: Failures Then Success
id: aaaaaaaa-0000-4000-8000-000000000004
level: critical
correlation:
    type: temporal_ordered
    rules: [two_failures, success]
    group-by: [TargetUserName]
    timespan: 10m
`)
	line := func(rec int, min string, id int, user string) string {
		return `{"EventTime":"2026-11-20T10:` + min + `:00Z","EventID":` + strconv.Itoa(id) + `,"Channel":"Security","Hostname":"dc1","RecordNumber":` +
			strconv.Itoa(rec) + `,"TargetUserName":"` + user + `"}` + "\n"
	}
	// Each file alone is in order; together they interleave.
	write(dir, "a.jsonl", line(1, "00", 4625, "bob")+line(3, "02", 4625, "eve")+line(5, "04", 4624, "bob"))
	write(dir, "b.jsonl", line(2, "01", 4625, "bob")+line(4, "03", 4624, "eve"))

	out, stderr, sum := hunt(t, Options{Rules: []string{rules, rules}, Paths: []string{dir}, MinLevel: "medium", Workers: 2})
	ms := readJSONL(t, out)
	if sum.Rules != 2 || sum.Correlations != 2 || len(ms) != 1 {
		t.Fatalf("rules %d+%d, %d lines:\n%s\n%s", sum.Rules, sum.Correlations, len(ms), out, stderr)
	}
	c := ms[0].Correlation
	if ms[0].RuleID != "aaaaaaaa-0000-4000-8000-000000000004" || c == nil || c.GroupBy["TargetUserName"] != "bob" {
		t.Fatalf("line %s", out)
	}
	var got []string
	for _, e := range c.Events {
		got = append(got, filepath.Base(e.File)+":"+e.RecordID)
	}
	if want := "a.jsonl:1 b.jsonl:2 a.jsonl:5"; strings.Join(got, " ") != want || ms[0].Computer != "dc1" {
		t.Errorf("contributing events %v, want %s; computer %q", got, want, ms[0].Computer)
	}
}
