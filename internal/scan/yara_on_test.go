//go:build yara

package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

func TestYARAMatchesRecordedFiles(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "implant.yar")
	rule := `rule Implant { meta: score = 95 strings: $a = "TANSA-TEST-IMPLANT-MARKER" condition: $a }`
	if err := os.WriteFile(rulesFile, []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "dropper.bin")
	if err := os.WriteFile(bad, []byte("\x7fELF....TANSA-TEST-IMPLANT-MARKER...."), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "clean.bin")
	if err := os.WriteFile(good, []byte("\x7fELF clean"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &result.Result{Files: []result.File{{Path: bad, Executable: true}, {Path: good, Executable: true}}}
	noPause := func(context.Context) error { return nil }
	scanYARA(context.Background(), []string{rulesFile}, r, noPause, "File {path} matches the YARA rule {rule} from {namespace}.")
	if len(r.Findings) != 1 {
		t.Fatalf("findings = %+v, errors = %+v; want one match", r.Findings, r.Errors)
	}
	f := r.Findings[0]
	if f.Rule != "yara.Implant" || f.Score != 95 || f.Subject.Path != bad || f.MessageKey != "yara.match" {
		t.Errorf("finding = %+v", f)
	}
}

func TestYARABadRulesAreReported(t *testing.T) {
	rulesFile := filepath.Join(t.TempDir(), "broken.yar")
	if err := os.WriteFile(rulesFile, []byte("rule { oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &result.Result{}
	scanYARA(context.Background(), []string{rulesFile}, r, func(context.Context) error { return nil }, "")
	if len(r.Errors) == 0 {
		t.Error("a broken rules file produced no error")
	}
}
