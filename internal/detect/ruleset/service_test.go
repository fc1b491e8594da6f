package ruleset_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

const twoRules = `title: High one
id: aaaaaaaa-0000-4000-8000-000000000001
status: stable
level: high
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: '\x.exe'}, condition: sel}
---
title: Experimental one
id: aaaaaaaa-0000-4000-8000-000000000002
status: experimental
level: critical
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: '\y.exe'}, condition: sel}
`

func setup(t *testing.T) (*ruleset.Service, *access.Service, string, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := access.New(db, access.Options{})
	sys := access.Caller{Principal: access.System("test")}
	var ids []string
	for _, n := range []string{"One", "Two"} {
		tn, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &n})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tn.ID)
	}
	return ruleset.New(db, acc), acc, ids[0], ids[1]
}

func caller(role tansa.Role, tenant string) access.Caller {
	return access.Caller{Principal: access.Principal{Kind: "token", Name: "t", Role: role, TenantID: tenant}}
}

func TestImportVersionsAndPolicy(t *testing.T) {
	svc, _, t1, t2 := setup(t)
	ctx := context.Background()
	sys := access.Caller{Principal: access.System("test")}
	admin := caller(tansa.RoleTenantAdmin, t1)
	if _, err := svc.Import(ctx, admin, []byte(twoRules), ruleset.ImportInput{TenantID: "", Set: "x"}); err != nil {
		t.Fatal(err) // the tenant admin's own tenant
	}
	if _, err := svc.Import(ctx, admin, []byte(twoRules), ruleset.ImportInput{TenantID: t2, Set: "x"}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("import into another tenant: %v, want NotFound", err)
	}
	v1, err := svc.Import(ctx, sys, []byte(twoRules), ruleset.ImportInput{Set: "sigmahq"})
	if err != nil || v1.Version != 1 || v1.Rules != 2 || v1.TenantID != "" {
		t.Fatalf("global import: %+v, %v", v1, err)
	}
	bad := twoRules + "---\ntitle: broken\ndetection: [\n"
	v2, err := svc.Import(ctx, sys, []byte(bad), ruleset.ImportInput{Set: "sigmahq"})
	if err == nil {
		t.Logf("a file with a broken document: version %d, %d rejected", v2.Version, v2.Result.RejectedCount)
	}
	if _, err := svc.Import(ctx, sys, []byte("title: [\n"), ruleset.ImportInput{Set: "sigmahq"}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("an upload without any rule: %v, want Invalid", err)
	}
	rules, total, err := svc.Rules(ctx, admin, ruleset.RuleQuery{Page: access.Page{Limit: 10}})
	if err != nil || total != 4 {
		t.Fatalf("rules tenant one runs from: %d, %v; want 4 (global and own)", total, err)
	}
	enabled := 0
	for _, r := range rules {
		if r.Enabled {
			enabled++
			if r.Status != "stable" {
				t.Errorf("rule %s (%s) enabled by the default policy, want only stable/test", r.RuleID, r.Status)
			}
		}
	}
	if enabled != 2 {
		t.Errorf("%d rules enabled by default, want 2", enabled)
	}
	if g1, g2 := svc.Generation(t1), svc.Generation(t2); g1 == 0 || g2 == 0 {
		t.Errorf("generations %d, %d after a global import; want both moved", g1, g2)
	}
	before := svc.Generation(t2)
	if _, err := svc.Switch(ctx, admin, "", []string{"aaaaaaaa-0000-4000-8000-000000000002"}, true); err != nil {
		t.Fatal(err)
	}
	if svc.Generation(t2) != before {
		t.Errorf("tenant two's generation moved on tenant one's change")
	}
	lv, err := svc.Live(ctx, t1)
	if err != nil || len(lv.Rules) != 4 || !lv.Settings.Runs("aaaaaaaa-0000-4000-8000-000000000002", "critical", "experimental") {
		t.Errorf("live rules of one: %d rules, settings %+v, %v", len(lv.Rules), lv.Settings, err)
	}
	viewer := caller(tansa.RoleTenantViewer, t1)
	if _, err := svc.Switch(ctx, viewer, "", []string{"x"}, true); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer switching rules: %v, want Forbidden", err)
	}
	if _, err := svc.PutSettings(ctx, admin, ruleset.Settings{MinLevel: "severe"}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("unknown level: %v, want Invalid", err)
	}
	vs, n, err := svc.Versions(ctx, admin, ruleset.VersionQuery{Page: access.Page{Limit: 10}})
	if err != nil || n < 2 {
		t.Fatalf("versions: %d, %v", n, err)
	}
	for _, v := range vs {
		if v.TenantID != "" && v.TenantID != t1 {
			t.Errorf("tenant one sees a version of %s", v.TenantID)
		}
	}
	if _, err := svc.Activate(ctx, admin, v1.ID); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("tenant admin activating a global version: %v, want Forbidden", err)
	}
	if v, err := svc.Activate(ctx, sys, v1.ID); err != nil || !v.Live {
		t.Errorf("activate v1: %+v, %v", v, err)
	}
}

// TestImportSigmaHQ imports SigmaHQ's Windows rules as one version: every
// file parses.
func TestImportSigmaHQ(t *testing.T) {
	dir := shareddata.Path(t, "sigma/rules/windows/process_creation")
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) < 100 {
		t.Fatalf("%d SigmaHQ process_creation rules, %v", len(files), err)
	}
	var up []ruleset.File
	for _, f := range files {
		b, err := readFile(f)
		if err != nil {
			t.Fatal(err)
		}
		up = append(up, ruleset.File{Path: filepath.Base(f), Body: b})
	}
	var tgz bytesBuffer
	if err := ruleset.Pack(&tgz, up); err != nil {
		t.Fatal(err)
	}
	svc, _, _, _ := setup(t)
	v, err := svc.Import(context.Background(), access.Caller{Principal: access.System("test")}, tgz.Bytes(), ruleset.ImportInput{Set: "sigmahq", Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	if v.Result.RejectedCount != 0 || v.Rules != len(files) {
		t.Errorf("imported %d rules of %d files, %d rejected: %+v", v.Rules, len(files), v.Result.RejectedCount, v.Result.Rejected)
	}
}
