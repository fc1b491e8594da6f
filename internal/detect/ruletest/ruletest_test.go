package ruletest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/shareddata"
)

const ruleWithTests = `title: Failed logons
name: failed
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
level: low
---
title: Many failed logons
name: many_failed
correlation:
  type: event_count
  rules: [failed]
  group-by: [IpAddress]
  timespan: 1m
  condition: {gte: 3}
level: high
tests:
  - name: three in a minute
    match: true
    count: 1
    events:
      - {repeat: 3, every: 10s, fields: {Channel: Security, EventID: 4625, IpAddress: 10.0.0.1}}
  - name: three over three minutes
    match: false
    events:
      - {repeat: 3, every: 90s, fields: {Channel: Security, EventID: 4625, IpAddress: 10.0.0.1}}
  - name: wrong expectation
    match: false
    events:
      - {repeat: 3, fields: {Channel: Security, EventID: 4625, IpAddress: 10.0.0.1}}
  - name: detection rule by name, on the wrong channel
    rule: failed
    match: true
    events:
      - fields: {Channel: System, EventID: 4625}
  - name: no such rule
    rule: nothing
    match: true
    events: [{fields: {EventID: 1}}]
  - name: no expectation
    events: [{fields: {EventID: 1}}]
`

func write(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTansaCases checks that cases pass and fail for the reasons a rule
// author would expect, each failure naming the file and case.
func TestTansaCases(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "r.yml", ruleWithTests)
	write(t, dir, "plain.yml", "title: x\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n")
	res, err := Run([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 2 || res.Failed != 4 || res.Files != 1 || res.Tansa != 6 || res.MustMatch != 3 || res.MustNot != 2 {
		t.Fatalf("got %+v", res)
	}
	want := []string{
		"wrong expectation: many_failed fired 1 times over 3 events, want none",
		"detection rule by name, on the wrong channel: failed did not fire over 1 events",
		`no such rule: no rule named "nothing" in the file`,
		"no expectation: case has no match: true|false",
	}
	for i, w := range want {
		if got := res.Failures[i].String(); !strings.Contains(got, w) || !strings.Contains(got, "r.yml") {
			t.Errorf("failure %d = %q, want it to contain %q", i, got, w)
		}
	}
}

// TestRecordsAndPlaceholders reads Office 365 records through the o365
// parser and resolves placeholders per case.
func TestRecordsAndPlaceholders(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "r.yml", `title: Download
logsource: {product: m365}
detection:
  sel: {Operation: FileDownloaded, user.name|expand: '%watched%'}
  condition: sel
tests:
  - name: watched user
    match: true
    placeholders: {watched: ['*@contoso.co.jp']}
    events:
      - record: {CreationTime: '{time}', Id: x, Operation: FileDownloaded, RecordType: 6, UserId: a@contoso.co.jp}
  - name: other user
    match: false
    placeholders: {watched: ['*@contoso.co.jp']}
    events:
      - record: {CreationTime: '{time}', Id: x, Operation: FileDownloaded, RecordType: 6, UserId: a@example.com}
  - name: placeholder unset
    match: false
    events:
      - record: {CreationTime: '{time}', Id: x, Operation: FileDownloaded, RecordType: 6, UserId: a@contoso.co.jp}
  - name: not an audit record
    match: false
    placeholders: {watched: [x]}
    events:
      - record: {hello: world}
`)
	res, err := RunFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 2 || res.Failed != 2 {
		t.Fatalf("got %+v", res)
	}
	if !strings.Contains(res.Failures[0].Reason, "placeholders without values: watched") {
		t.Errorf("unset placeholder: %s", res.Failures[0])
	}
	if !strings.Contains(res.Failures[1].Reason, "event 1: record: o365") {
		t.Errorf("bad record: %s", res.Failures[1])
	}
}

// TestBadFiles fails the cases of a file whose rules do not parse, and
// ignores files that merely mention tests.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yml", "title: x\ndetection: {s: {a: b}, condition: s and}\ntests:\n  - {match: true, events: [{fields: {a: b}}]}\n")
	write(t, dir, "mention.yml", "title: x\ndescription: 'tests: none'\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n")
	write(t, dir, "notalist.yml", "title: x\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\ntests: {a: b}\n")
	res, err := Run([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 0 || res.Failed != 2 || res.Files != 2 {
		t.Fatalf("got %+v", res)
	}
	if _, err := Run([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path is not an error")
	}
}

// TestSigmaHQRegression runs SigmaHQ's regression cases the way "tansa
// rules test" does: all 202 must pass.
func TestSigmaHQRegression(t *testing.T) {
	base := shareddata.Path(t, "sigma")
	var dirs []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"} {
		dirs = append(dirs, filepath.Join(base, d))
	}
	res, err := Run(dirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	if res.SigmaHQ < 202 || res.Failed > 0 {
		t.Errorf("%d passed, %d failed over %d SigmaHQ cases; want all of at least 202", res.Passed, res.Failed, res.SigmaHQ)
	}
}

// TestSigmaHQMissingData fails a case whose regression data is absent.
func TestSigmaHQMissingData(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "r.yml", "title: x\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\nregression_tests_path: regression_data/x/info.yml\n")
	res, err := RunFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || !strings.Contains(res.Failures[0].Reason, "not found above the rule file") {
		t.Fatalf("got %+v", res)
	}
}
