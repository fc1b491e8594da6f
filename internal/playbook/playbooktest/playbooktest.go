// Package playbooktest is the behavioural conformance suite for
// playbook.Store. Every storage backend runs it from its own tests:
//
//	func TestPlaybookConformance(t *testing.T) {
//		playbooktest.Run(t, func(t *testing.T) playbook.Store { … })
//	}
//
// It checks what the service and the runner can observe: versions and
// their conflicts, runs deduplicated by trigger, step records saved with
// the run's state in one step, due runs, leases, connectors and blocks.
package playbooktest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) playbook.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s playbook.Store)
	}{
		{"Versions", testVersions},
		{"ListAndScope", testListAndScope},
		{"RunsDeduplicated", testRunsDeduplicated},
		{"StepsAndDue", testStepsAndDue},
		{"Leases", testLeases},
		{"Connectors", testConnectors},
		{"Blocks", testBlocks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func pb(id, tenant, name string) playbook.Playbook {
	return playbook.Playbook{ID: id, TenantID: tenant, Name: name, Version: 1, Enabled: true, Source: "name: " + name,
		Created: t0, Updated: t0, UpdatedBy: "user:alice"}
}

func testVersions(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	p := pb("pb-1", "ta", "Block C2")
	if err := s.CreatePlaybook(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePlaybook(ctx, pb("pb-2", "ta", "Block C2")); tansa.KindOf(err) != tansa.Conflict {
		t.Errorf("same name in the same tenant: %v, want a conflict", err)
	}
	if err := s.CreatePlaybook(ctx, pb("pb-3", "tb", "Block C2")); err != nil {
		t.Errorf("same name in another tenant: %v", err)
	}
	p2 := p
	p2.Version, p2.Source, p2.Updated, p2.UpdatedBy = 2, "name: Block C2\n# v2", t0.Add(time.Hour), "user:bob"
	if err := s.UpdatePlaybook(ctx, p2, 1); err != nil {
		t.Fatal(err)
	}
	// A writer that read version 1 must not overwrite version 2.
	stale := p
	stale.Version, stale.Source = 2, "lost update"
	if err := s.UpdatePlaybook(ctx, stale, 1); tansa.KindOf(err) != tansa.Conflict {
		t.Errorf("stale update: %v, want a conflict", err)
	}
	got, err := s.Playbook(ctx, "pb-1")
	if err != nil || got.Version != 2 || got.Source != p2.Source || got.UpdatedBy != "user:bob" || !got.Updated.Equal(p2.Updated) {
		t.Errorf("after update: %+v, %v", got, err)
	}
	for v, want := range map[int]string{1: p.Source, 2: p2.Source} {
		if src, err := s.PlaybookSource(ctx, "pb-1", v); err != nil || src != want {
			t.Errorf("version %d: %q, %v; want %q", v, src, err, want)
		}
	}
	if _, err := s.PlaybookSource(ctx, "pb-1", 3); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("missing version: %v", err)
	}
	if _, err := s.Playbook(ctx, "nope"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("missing playbook: %v", err)
	}
	// Disabling without a source change keeps the version.
	p3 := got
	p3.Enabled = false
	if err := s.UpdatePlaybook(ctx, p3, 2); err != nil {
		t.Fatal(err)
	}
	en, err := s.EnabledPlaybooks(ctx)
	if err != nil || len(en) != 1 || en[0].ID != "pb-3" {
		t.Errorf("enabled: %+v, %v; want only pb-3", en, err)
	}
}

func testListAndScope(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	for i, tn := range []string{"ta", "ta", "tb"} {
		if err := s.CreatePlaybook(ctx, pb(fmt.Sprintf("p%d", i), tn, fmt.Sprintf("Playbook %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	l, n, err := s.Playbooks(ctx, playbook.PlaybookQuery{Scope: access.Scope{Tenants: []string{"ta"}}, Page: access.Page{Limit: 10}})
	if err != nil || n != 2 || len(l) != 2 {
		t.Errorf("tenant ta: %d %d %v", len(l), n, err)
	}
	for _, p := range l {
		if p.TenantID != "ta" {
			t.Errorf("tenant ta's list has %s of %s", p.ID, p.TenantID)
		}
	}
	if _, n, _ := s.Playbooks(ctx, playbook.PlaybookQuery{Scope: access.Scope{}, Page: access.Page{Limit: 10}}); n != 0 {
		t.Errorf("empty scope found %d", n)
	}
	if _, n, _ := s.Playbooks(ctx, playbook.PlaybookQuery{Scope: access.Scope{All: true}, Text: "BOOK 2", Page: access.Page{Limit: 10}}); n != 1 {
		t.Errorf("text search found %d, want 1", n)
	}
}

func run(id, pbID, tenant, key string) playbook.Run {
	return playbook.Run{ID: id, TenantID: tenant, PlaybookID: pbID, Playbook: "Block C2", Version: 1, Status: playbook.StatusRunning,
		Trigger: "alert", TriggerKey: key, AlertID: key, Alert: json.RawMessage(`{"level":"high"}`), StartedBy: "alert",
		Created: t0, Updated: t0}
}

func testRunsDeduplicated(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	ok, err := s.CreateRun(ctx, run("r1", "pb", "ta", "alert-1"))
	if err != nil || !ok {
		t.Fatalf("first run: %v %v", ok, err)
	}
	// Concurrent triggers of the same alert store one run.
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.CreateRun(ctx, run(fmt.Sprintf("dup-%d", i), "pb", "ta", "alert-1"))
			if err != nil {
				t.Error(err)
			}
			created <- ok
		}()
	}
	wg.Wait()
	close(created)
	for ok := range created {
		if ok {
			t.Error("a second run of the same playbook and alert was stored")
		}
	}
	if ok, _ := s.CreateRun(ctx, run("r2", "pb", "ta", "alert-2")); !ok {
		t.Error("another alert's run was refused")
	}
	if ok, _ := s.CreateRun(ctx, run("r3", "pb-other", "ta", "alert-1")); !ok {
		t.Error("another playbook's run of the same alert was refused")
	}
	got, err := s.Run(ctx, "r1")
	if err != nil || got.TenantID != "ta" || string(got.Alert) != `{"level":"high"}` || got.Status != playbook.StatusRunning || len(got.Steps) != 0 {
		t.Errorf("run r1: %+v %v", got, err)
	}
	if _, err := s.Run(ctx, "dup-1"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("refused run: %v", err)
	}
	l, n, err := s.Runs(ctx, playbook.RunQuery{Scope: access.Scope{Tenants: []string{"ta"}}, PlaybookID: "pb", Page: access.Page{Limit: 10}})
	if err != nil || n != 2 || len(l) != 2 {
		t.Errorf("runs of pb: %d %d %v", len(l), n, err)
	}
	if _, n, _ := s.Runs(ctx, playbook.RunQuery{Scope: access.Scope{Tenants: []string{"tb"}}, Page: access.Page{Limit: 10}}); n != 0 {
		t.Errorf("tenant tb sees %d runs", n)
	}
}

func testStepsAndDue(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	for _, id := range []string{"r1", "r2", "r3"} {
		if _, err := s.CreateRun(ctx, run(id, "pb", "ta", id)); err != nil {
			t.Fatal(err)
		}
	}
	rec := &playbook.StepRecord{StepID: "isolate", Seq: 0, Action: playbook.ActIsolate, Status: playbook.StepStarted,
		Input: json.RawMessage(`{"host":"pc-1"}`), IdemKey: "r1/isolate", Started: t0, Attempts: 1}
	if err := s.SaveStep(ctx, "r1", rec, playbook.RunUpdate{Status: playbook.StatusRunning, Cursor: 0, Updated: t0}); err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.Output, rec.Finished = playbook.StepSucceeded, json.RawMessage(`{"action_id":"a1"}`), t0.Add(time.Second)
	if err := s.SaveStep(ctx, "r1", rec, playbook.RunUpdate{Status: playbook.StatusSucceeded, Cursor: 1, Updated: t0.Add(time.Second), CaseID: "case-9"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(ctx, "r1")
	if err != nil || got.Status != playbook.StatusSucceeded || got.Cursor != 1 || got.CaseID != "case-9" || len(got.Steps) != 1 {
		t.Fatalf("run r1: %+v %v", got, err)
	}
	if st := got.Steps[0]; st.Status != playbook.StepSucceeded || st.IdemKey != "r1/isolate" || string(st.Output) != `{"action_id":"a1"}` || !st.Finished.Equal(rec.Finished) {
		t.Errorf("step: %+v", st)
	}
	// r2 waits until t0+1h; r3 keeps running.
	if err := s.SaveStep(ctx, "r2", &playbook.StepRecord{StepID: "approve", Status: playbook.StepWaiting},
		playbook.RunUpdate{Status: playbook.StatusWaiting, WakeAt: t0.Add(time.Hour), Updated: t0}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueRuns(ctx, t0.Add(time.Minute), 10)
	if err != nil || fmt.Sprint(due) != "[r3]" {
		t.Errorf("due at t0+1m: %v %v, want [r3]", due, err)
	}
	due, _ = s.DueRuns(ctx, t0.Add(time.Hour), 10)
	if len(due) != 2 {
		t.Errorf("due at t0+1h: %v, want r2 and r3", due)
	}
	if err := s.SaveStep(ctx, "missing", nil, playbook.RunUpdate{Status: playbook.StatusRunning}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("save on a missing run: %v", err)
	}
}

func testLeases(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	if _, err := s.CreateRun(ctx, run("r1", "pb", "ta", "k")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimRun(ctx, "r1", "node-a", t0.Add(time.Minute), t0); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, _ := s.ClaimRun(ctx, "r1", "node-b", t0.Add(time.Minute), t0.Add(time.Second)); ok {
		t.Error("node-b took a lease node-a holds")
	}
	if ok, _ := s.ClaimRun(ctx, "r1", "node-b", t0.Add(3*time.Minute), t0.Add(2*time.Minute)); !ok {
		t.Error("node-b could not take an expired lease")
	}
	if err := s.ReleaseRun(ctx, "r1", "node-a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ClaimRun(ctx, "r1", "node-c", t0.Add(3*time.Minute), t0.Add(2*time.Minute)); ok {
		t.Error("node-a's release freed node-b's lease")
	}
	if err := s.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ClaimRun(ctx, "r1", "node-c", t0.Add(3*time.Minute), t0.Add(2*time.Minute)); !ok {
		t.Error("after ReleaseAll the run could not be claimed")
	}
}

func testConnectors(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	c := playbook.Connector{TenantID: "ta", Name: "edr", Kind: "defender", Config: map[string]string{"client_id": "abc"}, Secret: []byte("sealed"), Updated: t0, UpdatedBy: "user:alice"}
	if err := s.PutConnector(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Config["client_id"] = "def"
	if err := s.PutConnector(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConnector(ctx, playbook.Connector{TenantID: "tb", Name: "edr", Kind: "crowdstrike", Config: map[string]string{}, Updated: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Connector(ctx, "ta", "edr")
	if err != nil || got.Kind != "defender" || got.Config["client_id"] != "def" || string(got.Secret) != "sealed" {
		t.Errorf("connector: %+v %v", got, err)
	}
	l, err := s.Connectors(ctx, access.Scope{Tenants: []string{"ta"}})
	if err != nil || len(l) != 1 {
		t.Errorf("ta's connectors: %+v %v", l, err)
	}
	if err := s.DeleteConnector(ctx, "ta", "edr"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connector(ctx, "ta", "edr"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("deleted connector: %v", err)
	}
	if err := s.DeleteConnector(ctx, "ta", "edr"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("delete again: %v", err)
	}
}

func testBlocks(t *testing.T, s playbook.Store) {
	ctx := context.Background()
	b := playbook.Block{TenantID: "ta", Type: "domain", Value: "evil.example", Reason: "c2", RunID: "r1", StepID: "block", Actor: "playbook", Created: t0}
	if added, err := s.PutBlock(ctx, b); !added || err != nil {
		t.Fatalf("block: %v %v", added, err)
	}
	if added, err := s.PutBlock(ctx, b); added || err != nil {
		t.Errorf("block again: %v %v, want not added", added, err)
	}
	if _, err := s.PutBlock(ctx, playbook.Block{TenantID: "tb", Type: "ipv4", Value: "203.0.113.9", Created: t0}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Blocks(ctx, "ta")
	if err != nil || len(l) != 1 || l[0].Value != "evil.example" || l[0].RunID != "r1" || !l[0].Created.Equal(t0) {
		t.Errorf("ta's blocks: %+v %v", l, err)
	}
	if removed, err := s.RemoveBlock(ctx, "ta", "domain", "evil.example"); !removed || err != nil {
		t.Errorf("unblock: %v %v", removed, err)
	}
	if removed, _ := s.RemoveBlock(ctx, "ta", "domain", "evil.example"); removed {
		t.Error("unblocked twice")
	}
	if l, _ := s.Blocks(ctx, "ta"); len(l) != 0 {
		t.Errorf("after unblock: %+v", l)
	}
	if l, _ := s.Blocks(ctx, "tb"); len(l) != 1 {
		t.Errorf("tb's blocks: %+v", l)
	}
}
