package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	tansarules "github.com/tansa-sec/tansa/rules"
)

// demoRules are Sigma rules written for the demo's own sample events (sshd,
// FortiGate IPS), so that the demo tenants have alerts in the queue.
//
//go:embed rules/*.yml
var demoRules embed.FS

// seedRules imports, as global rule sets, Tansa's rule pack (rules/) and
// the demo's rules, before the events step sends events through live
// detection.
func seedRules(ctx context.Context, e *Env) error {
	if e.Rules == nil {
		return nil
	}
	sys := access.Caller{Principal: access.System("demo")}
	for _, set := range []struct {
		name string
		fsys fs.FS
	}{{"tansa", tansarules.FS}, {"demo", demoRules}} {
		var files []ruleset.File
		err := fs.WalkDir(set.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(set.fsys, p)
			if err != nil {
				return err
			}
			files = append(files, ruleset.File{Path: p, Body: b})
			return nil
		})
		if err != nil {
			return err
		}
		var tgz bytes.Buffer
		if err := ruleset.Pack(&tgz, files); err != nil {
			return err
		}
		if _, err := e.Rules.Import(ctx, sys, tgz.Bytes(), ruleset.ImportInput{Set: set.name, Source: "tansa demo"}); err != nil {
			return fmt.Errorf("import the %s rules: %w", set.name, err)
		}
	}
	return nil
}
