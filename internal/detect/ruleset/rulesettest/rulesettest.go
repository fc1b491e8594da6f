// Package rulesettest is the behavioural conformance suite for
// ruleset.Store. Every storage backend runs it from its own tests:
//
//	func TestRulesetConformance(t *testing.T) {
//		rulesettest.Run(t, func(t *testing.T) ruleset.Store { … })
//	}
//
// It checks version numbering per set, the live version, the rules of
// live versions by tenant, settings and the detector's saved state.
package rulesettest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) ruleset.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ruleset.Store)
	}{
		{"Versions", testVersions},
		{"SettingsAndState", testSettings},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func create(t *testing.T, s ruleset.Store, tenant, set string, ruleIDs ...string) ruleset.Version {
	t.Helper()
	v := ruleset.Version{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Set: set, Time: t0, Actor: "user:test", Source: "test",
		Rules: len(ruleIDs), Result: ruleset.Result{Files: 1, Rules: len(ruleIDs), Rejected: []ruleset.Rejection{}}}
	nv := ruleset.NewVersion{Version: v, Files: []ruleset.File{{Path: "a.yml", Body: []byte("title: " + set)}}}
	for _, id := range ruleIDs {
		nv.Rules = append(nv.Rules, ruleset.Rule{RuleID: id, Title: "Rule " + id, Level: "high", Status: "test", Kind: "detection", Tags: []string{"attack.t1"}, Path: "a.yml"})
	}
	n, err := s.CreateVersion(context.Background(), nv, tansa.AuditEntry{Time: t0, TenantID: tenant, Actor: "user:test", Action: "rules.import", ObjectType: "rule-version", ObjectID: v.ID})
	if err != nil {
		t.Fatalf("CreateVersion: %v", err)
	}
	v.Version = n
	return v
}

func testVersions(t *testing.T, s ruleset.Store) {
	ctx := context.Background()
	g1 := create(t, s, "", "sigmahq", "g-a", "g-b")
	g2 := create(t, s, "", "sigmahq", "g-a")
	own := create(t, s, "t1", "local", "t-a")
	create(t, s, "t2", "local", "other")
	if g1.Version != 1 || g2.Version != 2 || own.Version != 1 {
		t.Errorf("versions %d, %d, %d; want 1, 2 and 1 (numbered per set)", g1.Version, g2.Version, own.Version)
	}
	live, err := s.LiveVersions(ctx, "t1")
	if err != nil || len(live) != 2 {
		t.Fatalf("LiveVersions(t1): %d, %v; want the global set's and t1's", len(live), err)
	}
	for _, v := range live {
		if v.ID != g2.ID && v.ID != own.ID {
			t.Errorf("live version %s (%s v%d), want %s or %s", v.ID, v.Set, v.Version, g2.ID, own.ID)
		}
	}
	rules, total, err := s.Rules(ctx, ruleset.RuleQuery{Tenant: "t1", Page: access.Page{Limit: 10}})
	if err != nil || total != 2 {
		t.Errorf("rules of t1: %d, %v; want g-a (live global v2) and t-a", total, err)
	}
	for _, r := range rules {
		if r.Title == "" || len(r.Tags) != 1 || r.Set == "" {
			t.Errorf("rule listed without its fields: %+v", r)
		}
	}
	if err := s.SetLive(ctx, g1.ID, tansa.AuditEntry{Time: t0, Actor: "user:test", Action: "rules.activate", ObjectType: "rule-version", ObjectID: g1.ID}); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.Rules(ctx, ruleset.RuleQuery{Tenant: "t1", Text: "g-"}); total != 2 {
		t.Errorf("after rolling back to v1: %d global rules, want 2", total)
	}
	if v, _ := s.RuleVersion(ctx, g1.ID); !v.Live {
		t.Errorf("version 1 not live after SetLive")
	}
	if v, _ := s.RuleVersion(ctx, g2.ID); v.Live {
		t.Errorf("version 2 still live after SetLive of version 1")
	}
	files, err := s.VersionFiles(ctx, own.ID)
	if err != nil || len(files) != 1 || string(files[0].Body) != "title: local" {
		t.Errorf("VersionFiles: %v, %v", files, err)
	}
	if _, n, _ := s.RuleVersions(ctx, ruleset.VersionQuery{Scope: access.Scope{Tenants: []string{"t1"}}, Global: true}); n != 3 {
		t.Errorf("versions t1 sees: %d, want 3 (two global, its own)", n)
	}
	if _, n, _ := s.RuleVersions(ctx, ruleset.VersionQuery{Scope: access.Scope{Tenants: []string{"t1"}}}); n != 1 {
		t.Errorf("t1's own versions: %d, want 1", n)
	}
	if _, err := s.RuleVersion(ctx, "nope"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("RuleVersion(nope): %v, want NotFound", err)
	}
	if err := s.SetLive(ctx, "nope", tansa.AuditEntry{Time: t0}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("SetLive(nope): %v, want NotFound", err)
	}
}

func testSettings(t *testing.T, s ruleset.Store) {
	ctx := context.Background()
	if _, err := s.RuleSettings(ctx, "t1"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("settings of a tenant without any: %v, want NotFound", err)
	}
	st := ruleset.DefaultSettings("t1")
	st.MinLevel, st.Disabled, st.Placeholders, st.Updated = "high", []string{"r1"}, map[string][]string{"Admins": {"ws-1"}}, t0
	if err := s.PutRuleSettings(ctx, st, tansa.AuditEntry{Time: t0, TenantID: "t1", Actor: "user:test", Action: "rules.settings", ObjectType: "rule-settings", ObjectID: "t1"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RuleSettings(ctx, "t1")
	if err != nil || got.MinLevel != "high" || got.Disabled[0] != "r1" || got.Placeholders["Admins"][0] != "ws-1" || !got.Updated.Equal(t0) {
		t.Errorf("settings: %+v, %v", got, err)
	}
	if b, err := s.DetectState(ctx, "t1"); err != nil || b != nil {
		t.Errorf("state before any: %v, %v; want nil", b, err)
	}
	blob := []byte{0, 1, 2, 255}
	for range 2 {
		if err := s.PutDetectState(ctx, "t1", blob, t0); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.DetectState(ctx, "t1"); err != nil || !bytes.Equal(b, blob) {
		t.Errorf("state: %v, %v; want %v", b, err, blob)
	}
}
