package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesTestCommand runs "tansa rules test" over Tansa's own rule pack
// (all pass) and over a rule whose case fails (a FAIL line, the count and
// exit status 1).
func TestRulesTestCommand(t *testing.T) {
	out, _, err := runCmd(t, os.Getenv, "rules", "test", "../../rules")
	if err != nil {
		t.Fatalf("rules test ../../rules: %v\n%s", err, out)
	}
	if !strings.Contains(out, " passed, 0 failed") || strings.Contains(out, "FAIL") {
		t.Errorf("output:\n%s", out)
	}

	dir := t.TempDir()
	rule := `title: Failed logon
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
tests:
  - {name: a failed logon, match: true, events: [{fields: {Channel: Security, EventID: 4625}}]}
  - {name: a success, match: true, events: [{fields: {Channel: Security, EventID: 4624}}]}
`
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, os.Getenv, "rules", "test", dir)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	if !strings.Contains(out, "FAIL "+filepath.Join(dir, "r.yml")+": a success: ") || !strings.Contains(out, "1 passed, 1 failed") {
		t.Errorf("output:\n%s", out)
	}

	empty := t.TempDir()
	if _, _, err := runCmd(t, os.Getenv, "rules", "test", empty); err == nil {
		t.Error("no cases found is not an error")
	}
	if _, _, err := runCmd(t, os.Getenv, "rules", "test"); exitCode(err) != 2 {
		t.Errorf("no path: err = %v, want a usage error", err)
	}
}
