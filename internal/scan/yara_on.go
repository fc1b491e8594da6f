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

// scanYARA compiles the rule files and scans every process executable and
// every recorded executable file with them. Each match becomes a finding
// scored by the rule's integer "score" meta (default 80). tick paces the
// work like the collectors; template is the finding's English message.
func scanYARA(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error, template string) {
	if len(files) == 0 {
		return
	}
	comp, err := yara.NewCompiler()
	if err != nil {
		r.Errorf("yara", "", "compiler: %v", err)
		return
	}
	defer comp.Destroy()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			r.Errorf("yara", f, "%v", err)
			return
		}
		// libyara leaves a compiler unusable after an error, so the first
		// bad file stops the YARA step; the message says where.
		if err := comp.AddString(string(data), filepath.Base(f)); err != nil {
			for _, m := range comp.Errors {
				r.Errorf("yara", f, "line %d: %s", m.Line, m.Text)
			}
			r.Errorf("yara", f, "rules not compiled, no YARA scan done: %v", err)
			return
		}
	}
	rules, err := comp.GetRules()
	if err != nil {
		r.Errorf("yara", "", "rules: %v", err)
		return
	}
	defer rules.Destroy()

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
		if err := rules.ScanFile(p, 0, yaraFileTimeout, &matches); err != nil {
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
