//go:build yara

package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/shareddata"
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

// TestYARAExternalsAndBadFiles checks that rules reading signature-base's
// externals compile and see each file's values, and that one rule file
// that does not compile is reported and skipped while the others scan.
func TestYARAExternalsAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ext := write("ext.yar", `rule DroppedELF { condition: filetype == "ELF" and extension == ".bin" and filename == "dropper.bin" and filepath contains "drop" }`)
	broken := write("broken.yar", "rule { oops")
	bin := filepath.Join(dir, "drop", "dropper.bin")
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("\x7fELF\x02\x01\x01"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := write("clean.bin", "\x7fELF\x02\x01\x01")
	r := &result.Result{Files: []result.File{{Path: bin, Executable: true}, {Path: other, Executable: true}}}
	scanYARA(context.Background(), []string{broken, ext}, r, func(context.Context) error { return nil }, "{path} {rule}")
	if len(r.Findings) != 1 || r.Findings[0].Rule != "yara.DroppedELF" || r.Findings[0].Subject.Path != bin {
		t.Errorf("findings %+v, errors %+v; want DroppedELF on %s only", r.Findings, r.Errors, bin)
	}
	skipped := false
	for _, e := range r.Errors {
		if e.Target == broken && strings.Contains(e.Message, "skipped") {
			skipped = true
		}
	}
	if !skipped {
		t.Errorf("the broken file is not reported as skipped: %+v", r.Errors)
	}
}

// TestYARASignatureBase compiles Florian Roth's signature-base the way a
// responder passes it with --yara: every file, with the externals.
func TestYARASignatureBase(t *testing.T) {
	dir := shareddata.Path(t, "yara/signature-base")
	files, err := filepath.Glob(filepath.Join(dir, "*.yar"))
	if err != nil || len(files) < 100 {
		t.Fatalf("%d rule files in %s: %v", len(files), dir, err)
	}
	r := &result.Result{}
	rules, n := compileRules(context.Background(), files, r, func(context.Context) error { return nil })
	if rules == nil {
		t.Fatalf("nothing compiled: %+v", r.Errors[:min(len(r.Errors), 5)])
	}
	defer rules.Destroy()
	skipped := map[string]bool{}
	for _, e := range r.Errors {
		skipped[e.Target] = true
	}
	t.Logf("%d of %d signature-base files compile; skipped: %v", n, len(files), skipped)
	if n+len(skipped) != len(files) || n < len(files)*9/10 {
		t.Errorf("%d files compiled and %d skipped of %d", n, len(skipped), len(files))
	}
}

// TestYARARulesAroundBrokenFiles: rule files before, between and after
// two that do not compile all end up in the one set of rules, and each
// broken file is reported once.
func TestYARARulesAroundBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, text := range []string{
		`rule First { strings: $a = "MARK-FIRST" condition: $a }`,
		"rule { oops",
		`rule Middle { strings: $a = "MARK-MIDDLE" condition: $a }`,
		`import "nosuchmodule" rule Broken2 { condition: true }`,
		`rule Last { strings: $a = "MARK-LAST" condition: $a }`,
	} {
		p := filepath.Join(dir, string(rune('a'+i))+".yar")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	bin := filepath.Join(dir, "implant.bin")
	if err := os.WriteFile(bin, []byte("\x7fELF MARK-FIRST MARK-MIDDLE MARK-LAST"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &result.Result{Files: []result.File{{Path: bin, Executable: true}}}
	scanYARA(context.Background(), files, r, func(context.Context) error { return nil }, "{rule}")
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Rule)
	}
	if strings.Join(got, " ") != "yara.First yara.Middle yara.Last" {
		t.Errorf("findings %v, errors %+v; want First, Middle and Last", got, r.Errors)
	}
	skipped := map[string]int{}
	for _, e := range r.Errors {
		if strings.Contains(e.Message, "skipped") {
			skipped[e.Target]++
		}
	}
	if len(skipped) != 2 || skipped[files[1]] != 1 || skipped[files[3]] != 1 {
		t.Errorf("skipped files reported %v, want %s and %s once each; errors %+v", skipped, files[1], files[3], r.Errors)
	}
}

// TestYARAFilesOverTheSizeLimit: a file bigger than the limit is not
// mapped and scanned but named in the errors, and a smaller one still is.
func TestYARAFilesOverTheSizeLimit(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "mark.yar")
	if err := os.WriteFile(rulesFile, []byte(`rule Mark { strings: $a = "TANSA-MARK" condition: $a }`), 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.bin")
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(small, []byte("\x7fELF TANSA-MARK"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte("\x7fELF TANSA-MARK"+strings.Repeat(" ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &result.Result{Files: []result.File{{Path: small, Executable: true}, {Path: big, Executable: true}}}
	noPause := func(context.Context) error { return nil }
	y := loadYARA(context.Background(), []string{rulesFile}, r, noPause)
	defer y.close()
	y.scan(context.Background(), r, noPause, "{path}", 64)
	if len(r.Findings) != 1 || r.Findings[0].Subject.Path != small {
		t.Errorf("findings %+v; want Mark on %s only", r.Findings, small)
	}
	reported := false
	for _, e := range r.Errors {
		if e.Target == big && strings.Contains(e.Message, "not scanned with YARA") && strings.Contains(e.Message, "--yara-max-mb") {
			reported = true
		}
	}
	if !reported {
		t.Errorf("the file over the limit is not named in the errors: %+v", r.Errors)
	}
}
