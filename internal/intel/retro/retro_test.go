package retro_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// recorder is the alert queue's stand-in: it keeps what was raised.
type recorder struct {
	mu     sync.Mutex
	alerts []tansa.Alert
	fail   error // when set, Raise fails with it
	calls  int
}

func (r *recorder) Raise(_ context.Context, as []tansa.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.alerts = append(r.alerts, as...)
	return nil
}

// notices keeps the import notices the intel service sends.
type notices struct{ got []service.ImportNotice }

func (n *notices) Imported(_ context.Context, x service.ImportNotice) { n.got = append(n.got, x) }

type fixture struct {
	t      *testing.T
	ctx    context.Context
	db     *sqlite.DB
	evs    *sqlite.Events
	intel  *service.Service
	hunts  *retro.Service
	alerts *recorder
	heard  *notices
	sys    access.Caller
	A, B   string
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	evs, err := sqlite.OpenEvents(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evs.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, evs: evs, alerts: &recorder{}, heard: &notices{},
		sys: access.Caller{Principal: access.System("test")}, now: time.Now().UTC()}
	acc := access.New(db, access.Options{})
	for _, name := range []string{"Alpha", "Bravo"} {
		tn, err := acc.CreateTenant(ctx, f.sys, access.TenantInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if f.A == "" {
			f.A = tn.ID
		} else {
			f.B = tn.ID
		}
	}
	if f.intel, err = service.New(db, acc, service.Options{Listener: f.heard}); err != nil {
		t.Fatal(err)
	}
	f.hunts = retro.New(db, db, f.intel, evs, f.alerts, db, retro.Options{Batch: 2})
	return f
}

// event stores one event of tenant with fields, age old.
func (f *fixture) event(tenant, id string, age time.Duration, fields map[string]any) {
	f.t.Helper()
	ev := &tansa.Event{ID: id, TenantID: tenant, Time: f.now.Add(-age), Received: f.now, Source: "test", Format: "json",
		Raw: []byte(fmt.Sprint(fields)), Fields: fields}
	if err := f.evs.Put(f.ctx, []events.Record{{Event: ev, Observables: normalize.Observables(ev)}}); err != nil {
		f.t.Fatal(err)
	}
}

// importAndHunt imports text into tenant and runs the hunts it starts.
func (f *fixture) importAndHunt(tenant, doc string) []retro.Job {
	f.t.Helper()
	f.heard.got = nil
	if _, err := f.intel.Import(f.ctx, f.sys, []byte(doc), service.ImportInput{Format: importer.FormatText, TenantID: tenant, Source: "t"}); err != nil {
		f.t.Fatal(err)
	}
	if len(f.heard.got) != 1 {
		f.t.Fatalf("%d import notices, want 1", len(f.heard.got))
	}
	n := f.heard.got[0]
	// As the server's import listener does: the version, then the keys.
	version, err := f.db.IndicatorsVersion(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	recs, err := f.db.UpdatedKeys(f.ctx, n.TenantID, n.At)
	if err != nil || len(recs) != n.Added+n.Updated {
		f.t.Fatalf("UpdatedKeys: %d, %v; the import added %d and updated %d", len(recs), err, n.Added, n.Updated)
	}
	jobs, err := f.hunts.EnqueueKeys(f.ctx, tenant, retro.OriginImport, n.ImportID, n.Actor, version, recs)
	if err != nil {
		f.t.Fatal(err)
	}
	for f.hunts.RunOne(f.ctx) {
	}
	var out []retro.Job
	for _, j := range jobs {
		got, err := f.db.Hunt(f.ctx, j.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

func (f *fixture) hits(id string) []string {
	f.t.Helper()
	hs, _, err := f.db.Hits(f.ctx, id, access.Page{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, h.Value+"@"+h.Ref)
	}
	slices.Sort(out)
	return out
}

func TestHuntFindsExactTokensInTheWindow(t *testing.T) {
	f := newFixture(t)
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "192.168.1.1", "host.name": "ws01"})
	f.event(f.A, "a-2", 2*time.Hour, map[string]any{"destination.ip": "45.77.8.77"})
	f.event(f.A, "a-3", 3*time.Hour, map[string]any{"url.full": "http://Evil.Example/gate.php"})
	f.event(f.A, "a-old", 100*24*time.Hour, map[string]any{"destination.ip": "45.77.8.78"})
	f.event(f.B, "b-1", time.Hour, map[string]any{"source.ip": "92.168.1.1"})

	jobs := f.importAndHunt(f.A, "92.168.1.1\n45.77.8.0/22\nevil.example\n")
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want one for tenant A", len(jobs))
	}
	j := jobs[0]
	if j.Status != retro.StatusDone || j.Done != 3 || j.Total != 3 || j.TenantID != f.A || j.Days != retro.DefaultDays {
		t.Fatalf("job = %+v", j)
	}
	// 92.168.1.1 is inside 192.168.1.1 as text, but not as a token; B's
	// event with it is another tenant's; the 100-day-old event is outside
	// the window.
	want := []string{"45.77.8.77@a-2", "evil.example@a-3"}
	if got := f.hits(j.ID); !slices.Equal(got, want) {
		t.Errorf("hits = %v, want %v", got, want)
	}
	if j.Hits != 2 {
		t.Errorf("job counts %d hits, want 2", j.Hits)
	}
	if len(f.alerts.alerts) != 2 {
		t.Fatalf("%d alerts, want 2: %+v", len(f.alerts.alerts), f.alerts.alerts)
	}
	for _, a := range f.alerts.alerts {
		if a.Kind != tansa.AlertRetro || a.TenantID != f.A || len(a.EventIDs) != 1 || !strings.HasPrefix(a.RuleTitle, "Retro-hunt: ") {
			t.Errorf("alert = %+v", a)
		}
		var cx intel.AlertContext
		if err := json.Unmarshal(a.Context, &cx); err != nil || cx.IndicatorID != a.RuleID || cx.Ref != "hunt:"+j.ID {
			t.Errorf("alert context %s: %v", a.Context, err)
		}
	}
	// Each hit is a sighting of the indicator in tenant A.
	rec, err := f.intel.Indicator(f.ctx, f.sys, f.alerts.alerts[0].RuleID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Indicator.Sightings) != 1 || rec.Indicator.Sightings[0].TenantID != f.A || rec.Indicator.Sightings[0].Count != 1 {
		t.Errorf("sightings = %+v", rec.Indicator.Sightings)
	}
}

func TestGlobalIndicatorsAreHuntedInEveryTenant(t *testing.T) {
	f := newFixture(t)
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "192.168.1.1"})
	f.event(f.B, "b-1", time.Hour, map[string]any{"source.ip": "92.168.1.1"})
	f.event(f.B, "b-2", time.Hour, map[string]any{"source.ip": "45.77.1.1"})
	if err := f.db.SetRetroDays(f.ctx, f.B, 7); err != nil {
		t.Fatal(err)
	}
	jobs := f.importAndHunt("", "92.168.1.1\n")
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want one per tenant", len(jobs))
	}
	for _, j := range jobs {
		got := f.hits(j.ID)
		switch j.TenantID {
		case f.A:
			if len(got) != 0 {
				t.Errorf("tenant A hits = %v, want none", got)
			}
		case f.B:
			if !slices.Equal(got, []string{"92.168.1.1@b-1"}) || j.Days != 7 {
				t.Errorf("tenant B hits = %v (days %d), want the one event in 7 days", got, j.Days)
			}
		}
	}
	if len(f.alerts.alerts) != 1 || f.alerts.alerts[0].TenantID != f.B {
		t.Errorf("alerts = %+v, want one in B", f.alerts.alerts)
	}
}

func TestRedAndAllowlistedIndicatorsAreNotHunted(t *testing.T) {
	f := newFixture(t)
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "8.8.8.8", "destination.ip": "45.1.1.1"})
	// 8.8.8.8 is on the default allowlist: flagged at import, never hunted.
	jobs := f.importAndHunt(f.A, "8.8.8.8\n")
	if got := f.hits(jobs[0].ID); len(got) != 0 {
		t.Errorf("allowlisted value hit %v", got)
	}
	// Global TLP:RED intelligence would show itself to the tenant.
	stix := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
	 {"type":"marking-definition","spec_version":"2.1","id":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","created":"2022-10-01T00:00:00.000Z","name":"TLP:RED","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"red"}}},
	 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '45.1.1.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}]}`
	f.heard.got = nil
	if _, err := f.intel.Import(f.ctx, f.sys, []byte(stix), service.ImportInput{Source: "red"}); err != nil {
		t.Fatal(err)
	}
	n := f.heard.got[0]
	keys, _ := f.db.UpdatedKeys(f.ctx, "", n.At)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	recs, _ := f.db.IndicatorsByID(f.ctx, ids)
	if len(recs) != 1 || recs[0].Indicator.TLP != intel.TLPRed {
		t.Fatalf("imported %+v, want one TLP:RED indicator", recs)
	}
	if _, err := f.hunts.Enqueue(f.ctx, "", retro.OriginImport, n.ImportID, "test", ids); err != nil {
		t.Fatal(err)
	}
	for f.hunts.RunOne(f.ctx) {
	}
	if len(f.alerts.alerts) != 0 {
		t.Errorf("alerts = %+v, want none", f.alerts.alerts)
	}
}

func TestCallersSeeTheirTenantsHuntsOnly(t *testing.T) {
	f := newFixture(t)
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "45.77.1.2"})
	jobs := f.importAndHunt(f.A, "45.77.1.2\n")
	viewerB := access.Caller{Principal: access.Principal{Kind: "user", Name: "b", Role: tansa.RoleTenantViewer, TenantID: f.B}}
	viewerA := access.Caller{Principal: access.Principal{Kind: "user", Name: "a", Role: tansa.RoleTenantViewer, TenantID: f.A}}
	if _, err := f.hunts.Hunt(f.ctx, viewerB, jobs[0].ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("B's viewer got A's hunt: %v", err)
	}
	if _, n, err := f.hunts.Hunts(f.ctx, viewerB, "", retro.Query{Page: access.Page{Limit: 10}}); err != nil || n != 0 {
		t.Errorf("B's viewer lists %d hunts, %v", n, err)
	}
	if _, n, err := f.hunts.Hunts(f.ctx, viewerA, "", retro.Query{Page: access.Page{Limit: 10}}); err != nil || n != 1 {
		t.Errorf("A's viewer lists %d hunts, %v", n, err)
	}
	ind := f.alerts.alerts[0].RuleID
	if _, err := f.hunts.HuntIndicator(f.ctx, viewerA, ind, ""); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("a viewer started a hunt: %v", err)
	}
	adminB := viewerB
	adminB.Role = tansa.RoleTenantAdmin
	if _, err := f.hunts.HuntIndicator(f.ctx, adminB, ind, ""); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("B's admin hunted A's indicator: %v", err)
	}
	adminA := viewerA
	adminA.Role = tansa.RoleTenantAdmin
	js, err := f.hunts.HuntIndicator(f.ctx, adminA, ind, "")
	if err != nil || len(js) != 1 || js[0].Origin != retro.OriginManual {
		t.Fatalf("manual hunt: %+v, %v", js, err)
	}
	for f.hunts.RunOne(f.ctx) {
	}
	hs, n, err := f.hunts.IndicatorHits(f.ctx, viewerA, ind, access.Page{Limit: 10})
	if err != nil || n != 1 || hs[0].Ref != "a-1" {
		t.Errorf("indicator hits = %+v (%d), %v", hs, n, err)
	}
	if _, err := f.hunts.SetRetroDays(f.ctx, adminA, f.B, 30); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("A's admin set B's window: %v", err)
	}
	if _, err := f.hunts.SetRetroDays(f.ctx, adminA, "", 0); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("a window of 0 days: %v", err)
	}
}

// A hunt uses the keys given when it was queued only while no indicator
// has changed since they were read; otherwise it reads them again.
func TestKeysGivenAtEnqueueAreUsedOnlyWhileCurrent(t *testing.T) {
	f := newFixture(t)
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "45.77.9.9"})
	f.heard.got = nil
	if _, err := f.intel.Import(f.ctx, f.sys, []byte("45.77.1.1\n"), service.ImportInput{Format: importer.FormatText, TenantID: f.A, Source: "t"}); err != nil {
		t.Fatal(err)
	}
	version, err := f.db.IndicatorsVersion(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.db.UpdatedKeys(f.ctx, f.A, f.heard.got[0].At)
	if err != nil || len(recs) != 1 || recs[0].Indicator.Value != "45.77.1.1" {
		t.Fatalf("UpdatedKeys = %+v, %v", recs, err)
	}
	// Keys that differ from the stored indicator show which were used.
	forged := slices.Clone(recs)
	forged[0].Indicator.Value = "45.77.9.9"
	hunt := func(version string) []string {
		jobs, err := f.hunts.EnqueueKeys(f.ctx, f.A, retro.OriginImport, "imp", "test", version, forged)
		if err != nil {
			t.Fatal(err)
		}
		for f.hunts.RunOne(f.ctx) {
		}
		return f.hits(jobs[0].ID)
	}
	if got := hunt("1/1"); len(got) != 0 {
		t.Errorf("a hunt with keys of another version found %v; it must read the stored ones", got)
	}
	if got := hunt(version); !slices.Equal(got, []string{"45.77.9.9@a-1"}) {
		t.Errorf("a hunt with current keys found %v, want the given keys' hit", got)
	}
	// Any import changes the version: the stored keys count again.
	if _, err := f.intel.Import(f.ctx, f.sys, []byte("45.77.2.2\n"), service.ImportInput{Format: importer.FormatText, TenantID: f.A, Source: "t"}); err != nil {
		t.Fatal(err)
	}
	if got := hunt(version); len(got) != 0 {
		t.Errorf("a hunt with keys read before a later import found %v", got)
	}
}

// Hits are stored many to a statement; a hit stored twice (the same
// hunt, indicator, source and event) is kept once.
func TestHitsAreStoredOnce(t *testing.T) {
	f := newFixture(t)
	jobs, err := f.hunts.Enqueue(f.ctx, f.A, retro.OriginImport, "imp", "test", []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	var hits []retro.Hit
	for i := range 250 {
		hits = append(hits, retro.Hit{HuntID: jobs[0].ID, IndicatorID: "ind", Value: "45.77.1.1", Source: "events",
			Ref: fmt.Sprintf("e-%d", i%200), Time: f.now.Add(-time.Duration(i) * time.Minute)})
	}
	if err := f.db.AddHits(f.ctx, hits); err != nil {
		t.Fatal(err)
	}
	if _, n, err := f.db.Hits(f.ctx, jobs[0].ID, access.Page{Limit: 1}); err != nil || n != 200 {
		t.Errorf("%d hits stored, %v; want the 200 distinct ones", n, err)
	}
}

// forgedKeys imports 45.77.1.1 into tenant A (whose event holds 45.77.9.9)
// and returns the current version with keys that say 45.77.9.9 instead:
// a hunt that finds a-1 used the keys given at enqueue.
func (f *fixture) forgedKeys() (string, []service.Record) {
	f.t.Helper()
	f.event(f.A, "a-1", time.Hour, map[string]any{"source.ip": "45.77.9.9"})
	f.heard.got = nil
	if _, err := f.intel.Import(f.ctx, f.sys, []byte("45.77.1.1\n"), service.ImportInput{Format: importer.FormatText, TenantID: f.A, Source: "t"}); err != nil {
		f.t.Fatal(err)
	}
	version, err := f.db.IndicatorsVersion(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	recs, err := f.db.UpdatedKeys(f.ctx, f.A, f.heard.got[0].At)
	if err != nil || len(recs) != 1 {
		f.t.Fatalf("UpdatedKeys = %+v, %v", recs, err)
	}
	forged := slices.Clone(recs)
	forged[0].Indicator.Value = "45.77.9.9"
	return version, forged
}

// Jobs that another server runs never take their keys here; however many
// there were, the keys of a job queued later are still used (the oldest
// kept keys make way), and no more than a bounded number are kept.
func TestKeysGivenAtEnqueueOutliveJobsRunElsewhere(t *testing.T) {
	f := newFixture(t)
	version, forged := f.forgedKeys()
	other := retro.New(f.db, f.db, f.intel, f.evs, f.alerts, f.db, retro.Options{})
	for range 70 {
		if _, err := f.hunts.EnqueueKeys(f.ctx, f.A, retro.OriginImport, "imp", "test", version, forged); err != nil {
			t.Fatal(err)
		}
		for other.RunOne(f.ctx) {
		}
	}
	if n := f.hunts.Memos(); n > 64 {
		t.Errorf("%d jobs' keys kept, want at most 64", n)
	}
	jobs, err := f.hunts.EnqueueKeys(f.ctx, f.A, retro.OriginImport, "imp", "test", version, forged)
	if err != nil {
		t.Fatal(err)
	}
	for f.hunts.RunOne(f.ctx) {
	}
	if got := f.hits(jobs[0].ID); !slices.Equal(got, []string{"45.77.9.9@a-1"}) {
		t.Errorf("after 70 jobs run elsewhere, a hunt with current keys found %v, want the given keys' hit", got)
	}
}

// claimingStore stands in for a runner that claims a job the moment it is
// stored, before Enqueue returns; or fails to store the jobs.
type claimingStore struct {
	retro.Store
	onCreate func() // after the jobs are stored
	fail     error
}

func (c *claimingStore) CreateHunts(ctx context.Context, jobs []retro.Job) error {
	if c.fail != nil {
		return c.fail
	}
	if err := c.Store.CreateHunts(ctx, jobs); err != nil {
		return err
	}
	c.onCreate()
	return nil
}

// A runner that claims a job as soon as it is stored finds the keys given
// with it; jobs that could not be stored keep no keys.
func TestKeysGivenAtEnqueueAreThereWhenTheJobIsClaimed(t *testing.T) {
	f := newFixture(t)
	version, forged := f.forgedKeys()
	store := &claimingStore{Store: f.db}
	hunts := retro.New(store, f.db, f.intel, f.evs, f.alerts, f.db, retro.Options{})
	ran := 0
	store.onCreate = func() {
		for hunts.RunOne(f.ctx) {
			ran++
		}
	}
	jobs, err := hunts.EnqueueKeys(f.ctx, f.A, retro.OriginImport, "imp", "test", version, forged)
	if err != nil {
		t.Fatal(err)
	}
	if ran != 1 {
		t.Fatalf("the runner ran %d jobs during Enqueue, want 1", ran)
	}
	if got := f.hits(jobs[0].ID); !slices.Equal(got, []string{"45.77.9.9@a-1"}) {
		t.Errorf("a job claimed at once found %v, want the given keys' hit", got)
	}
	if n := hunts.Memos(); n != 0 {
		t.Errorf("%d jobs' keys kept after the job ran", n)
	}
	store.fail = fmt.Errorf("disk full")
	if _, err := hunts.EnqueueKeys(f.ctx, f.A, retro.OriginImport, "imp", "test", version, forged); err == nil {
		t.Fatal("Enqueue with a failing store succeeded")
	}
	if n := hunts.Memos(); n != 0 {
		t.Errorf("%d jobs' keys kept after their jobs could not be stored", n)
	}
}

// A batch's findings are stored while the next batches are looked up;
// when storing fails the hunt stops there and is stored as failed with
// the cause, and a hunt whose every batch finds something stores them all.
func TestHuntFindingsStoredBesideTheLookup(t *testing.T) {
	f := newFixture(t)
	var doc []string
	for i := range 7 { // four batches of two, each with hits
		ip := fmt.Sprintf("45.77.9.%d", i+1)
		f.event(f.A, fmt.Sprintf("s-%d", i), time.Duration(i+1)*time.Hour, map[string]any{"source.ip": ip})
		doc = append(doc, ip)
	}
	jobs := f.importAndHunt(f.A, strings.Join(doc, "\n"))
	if j := jobs[0]; j.Status != retro.StatusDone || j.Hits != 7 || len(f.hits(j.ID)) != 7 || len(f.alerts.alerts) != 7 || f.alerts.calls != 4 {
		t.Fatalf("job %+v: %d hits stored, %d alerts in %d calls; want 7 in 4 batches", j, len(f.hits(j.ID)), len(f.alerts.alerts), f.alerts.calls)
	}

	f.alerts.fail, f.alerts.calls = errors.New("the alert queue is down"), 0
	jobs = f.importAndHunt(f.A, strings.Join(doc, "\n"))
	j := jobs[0]
	if j.Status != retro.StatusFailed || !strings.Contains(j.Error, "the alert queue is down") {
		t.Fatalf("job %+v: want failed with the queue's error", j)
	}
	if f.alerts.calls > 2 {
		t.Errorf("the hunt went on storing after the first failure: %d calls to Raise", f.alerts.calls)
	}
}
