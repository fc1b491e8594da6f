package main

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/shareddata"
)

// TestHuntCommand runs "tansa hunt" end to end: a malformed rule and a
// correlation rule beside a detection rule, over an SMB password-guessing
// log, written as CSV to a file.
func TestHuntCommand(t *testing.T) {
	logs := shareddata.Path(t, "evtx/DeepBlueCLI/smb-password-guessing-security.evtx")
	rules, dir := t.TempDir(), t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("failed.yml", `title: Failed Logon
id: 3d5b8f61-8f4e-4b65-9a35-5a8f7d1c2e10
name: failed_logon
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Password Guessing
id: 3d5b8f61-8f4e-4b65-9a35-5a8f7d1c2e11
level: high
correlation:
    type: event_count
    rules: failed_logon
    group-by: [TargetUserName]
    timespan: 5m
    condition: {gte: 5}
`)
	write("broken.yml", "title: Broken\nlogsource:\n    product: windows\ndetection:\n    condition: nothing\n")
	out := filepath.Join(dir, "hits.csv")

	stdout, stderr, err := runCmd(t, testEnv(nil), "hunt", "--rules", rules, "--min-level", "high", "--format", "csv", "--out", out, "--workers", "2", logs)
	if err != nil {
		t.Fatalf("hunt: %v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want the matches in --out only", stdout)
	}
	for _, want := range []string{"broken.yml:", "hunt summary", "files", "events/s"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%d csv rows: %v", len(recs), err)
	}
	for _, rec := range recs[1:] {
		if rec[0] != "3d5b8f61-8f4e-4b65-9a35-5a8f7d1c2e11" || rec[2] != "high" || !strings.Contains(rec[11], `"TargetUserName":"Administrator"`) {
			t.Fatalf("row %v: want only the correlation, grouped by Administrator", rec)
		}
	}
}

// TestHuntUsage checks that --help teaches usage and that a missing
// argument is a usage error.
func TestHuntUsage(t *testing.T) {
	stdout, _, err := runCmd(t, testEnv(nil), "hunt", "--help")
	if err != nil || !strings.Contains(stdout, "Usage: tansa hunt") || !strings.Contains(stdout, "--min-level") {
		t.Errorf("--help: %v\n%s", err, stdout)
	}
	if _, _, err := runCmd(t, testEnv(nil), "hunt", "--rules", "x"); !errors.Is(err, errUsage) {
		t.Errorf("no PATH: %v, want a usage error", err)
	}
	if _, _, err := runCmd(t, testEnv(nil), "hunt", "--rules", "x", "--min-level", "severe", "y"); err == nil || !strings.Contains(err.Error(), "severe") {
		t.Errorf("bad level: %v", err)
	}
}
