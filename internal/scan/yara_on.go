//go:build yara

package scan

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	yara "github.com/Velocidex/go-yara"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// yaraFileTimeout bounds the scan of one file so that one huge or
// pathological file cannot use up the sweep's whole budget.
const yaraFileTimeout = 30 * time.Second

// externals are the variables signature-base's rules (LOKI's set) read;
// each scanned file gets its own values.
var externals = []string{"filename", "filepath", "extension", "filetype", "owner"}

func newCompiler() (*yara.Compiler, error) {
	comp, err := yara.NewCompiler()
	if err != nil {
		return nil, err
	}
	for _, v := range externals {
		if err := comp.DefineVariable(v, ""); err != nil {
			comp.Destroy()
			return nil, err
		}
	}
	return comp, nil
}

// compileRules compiles each rule file alone first, so that one file that
// does not compile (libyara leaves a compiler unusable after an error) is
// reported with its lines and skipped instead of stopping the YARA step,
// then compiles the good ones together, each under its file name as
// namespace.
func compileRules(files []string, r *result.Result) (*yara.Rules, int) {
	type src struct{ name, text string }
	var good []src
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			r.Errorf("yara", f, "%v", err)
			continue
		}
		comp, err := newCompiler()
		if err != nil {
			r.Errorf("yara", "", "compiler: %v", err)
			return nil, 0
		}
		err = comp.AddString(string(data), filepath.Base(f))
		if err != nil {
			for _, m := range comp.Errors {
				r.Errorf("yara", f, "line %d: %s", m.Line, m.Text)
			}
			r.Errorf("yara", f, "rules skipped, they do not compile: %v", err)
		} else {
			good = append(good, src{filepath.Base(f), string(data)})
		}
		comp.Destroy()
	}
	if len(good) == 0 {
		return nil, 0
	}
	comp, err := newCompiler()
	if err != nil {
		r.Errorf("yara", "", "compiler: %v", err)
		return nil, 0
	}
	defer comp.Destroy()
	for _, g := range good {
		if err := comp.AddString(g.text, g.name); err != nil {
			// Rule names are unique per namespace, so files that compile
			// alone compile together; should libyara disagree, say so.
			r.Errorf("yara", g.name, "rules not compiled with the others, no YARA scan done: %v", err)
			return nil, 0
		}
	}
	rules, err := comp.GetRules()
	if err != nil {
		r.Errorf("yara", "", "rules: %v", err)
		return nil, 0
	}
	return rules, len(good)
}

// fileType names a file's format from its first bytes the way LOKI fills
// the filetype external ("EXE", "ELF", "MACH-O"), or "" when unknown.
func fileType(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := f.Read(b)
	b = b[:n]
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		return "EXE"
	case len(b) == 4 && string(b) == "\x7fELF":
		return "ELF"
	case len(b) == 4 && (string(b) == "\xcf\xfa\xed\xfe" || string(b) == "\xce\xfa\xed\xfe" || string(b) == "\xca\xfe\xba\xbe"):
		return "MACH-O"
	case len(b) == 4 && string(b) == "MDMP":
		return "MDMP"
	}
	return ""
}

// scanYARA compiles the rule files (with signature-base's externals
// filename, filepath, extension, filetype and owner) and scans every
// process executable and every recorded executable file with them. Each
// match becomes a finding scored by the rule's integer "score" meta
// (default 80). tick paces the work like the collectors; template is the
// finding's English message.
func scanYARA(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error, template string) {
	if len(files) == 0 {
		return
	}
	rules, _ := compileRules(files, r)
	if rules == nil {
		return
	}
	defer rules.Destroy()
	sc, err := yara.NewScanner(rules)
	if err != nil {
		r.Errorf("yara", "", "scanner: %v", err)
		return
	}
	defer sc.Destroy()
	sc.SetTimeout(yaraFileTimeout)

	targets := map[string]result.Subject{}
	for _, p := range r.Processes {
		if p.Path != "" && !p.Deleted {
			targets[p.Path] = result.Subject{Kind: "process", PID: p.PID, Path: p.Path}
		}
	}
	for _, f := range r.Files {
		if f.Executable {
			if _, ok := targets[f.Path]; !ok {
				targets[f.Path] = result.Subject{Kind: "file", Path: f.Path}
			}
		}
	}
	paths := make([]string, 0, len(targets))
	for p := range targets {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i, p := range paths {
		if err := tick(ctx); err != nil {
			r.Errorf("yara", "", "stopped after %d of %d files: %v", i, len(paths), context.Cause(ctx))
			return
		}
		var matches yara.MatchRules
		ext := filepath.Ext(p)
		for k, v := range map[string]string{"filename": filepath.Base(p), "filepath": filepath.Dir(p), "extension": ext,
			"filetype": fileType(p), "owner": fileOwner(p)} {
			if err := sc.DefineVariable(k, v); err != nil {
				r.Errorf("yara", p, "external %s: %v", k, err)
			}
		}
		if err := sc.SetCallback(&matches).ScanFile(p); err != nil {
			r.Errorf("yara", p, "%v", err)
			continue
		}
		for _, m := range matches {
			score := 80
			for _, meta := range m.Metas {
				if meta.Identifier == "score" {
					switch v := meta.Value.(type) {
					case int:
						score = min(max(v, 0), 100)
					case string:
						if n, err := strconv.Atoi(v); err == nil {
							score = min(max(n, 0), 100)
						}
					}
				}
			}
			args := map[string]string{"path": p, "rule": m.Rule, "namespace": m.Namespace}
			r.Findings = append(r.Findings, result.NewFinding("yara."+m.Rule, score, "yara.match",
				template, args, targets[p]))
		}
	}
}
