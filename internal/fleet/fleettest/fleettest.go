// Package fleettest is the behavioural conformance suite for fleet.Store.
// Every storage backend runs it from its own tests:
//
//	func TestFleetConformance(t *testing.T) {
//		fleettest.Run(t, func(t *testing.T) fleet.Store { … })
//	}
//
// It checks what the service observes: sweeps stored once (a replay is a
// conflict), assets created and updated by their newest sweep, findings
// of the latest sweep, prevalence counts per tenant and across tenants as
// artifacts come and go, coverage, reviews and exceptions, campaigns, and
// that a scope never returns another tenant's rows, and that the store
// answers retro-hunts (retro.Index) from stored sweeps' observables.
package fleettest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a
// new, empty store for each call and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) fleet.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s fleet.Store)
	}{
		{"StoreOnce", testStoreOnce},
		{"NewestSweepWins", testNewestWins},
		{"Prevalence", testPrevalence},
		{"CoverageAndRegister", testCoverage},
		{"ReviewsAndExceptions", testReviews},
		{"Campaigns", testCampaigns},
		{"NotFound", testNotFound},
		{"RetroHuntMentions", testMentions},
		{"ConcurrentUploads", testConcurrent},
		{"ConcurrentResweepsCount", testConcurrentResweeps},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func one(tenant string) access.Scope { return access.Scope{Tenants: []string{tenant}} }

// mk builds a stored sweep of host in tenant started at t with the given
// process paths and finding rules.
func mk(tenant, host string, n int, t time.Time, paths []string, rules ...string) *fleet.StoredSweep {
	id := fmt.Sprintf("%032x", n)
	r := &result.Result{Schema: 1, SweepID: id, Started: t, Finished: t.Add(time.Second), Host: result.Host{Hostname: host, OS: "linux", IPs: []string{"10.0.0.1"}}}
	for i, p := range paths {
		r.Processes = append(r.Processes, result.Process{PID: 100 + i, Path: p, SHA256: fmt.Sprintf("%064x", len(p))})
	}
	for _, rule := range rules {
		r.Findings = append(r.Findings, result.NewFinding(rule, 80, "k", "found {x}", map[string]string{"x": rule}, result.Subject{Kind: "file", Path: "/tmp/" + rule}))
	}
	return fleet.Build(r, tenant, []byte("sealed-"+id), t.Add(time.Minute), "token:test")
}

func put(t *testing.T, s fleet.Store, st *fleet.StoredSweep) {
	t.Helper()
	if err := s.PutSweep(context.Background(), st, tansa.AuditEntry{Time: t0, TenantID: st.Sweep.TenantID, Actor: "token:test", Action: "sweep.upload", ObjectType: "sweep", ObjectID: st.Sweep.ID}); err != nil {
		t.Fatalf("PutSweep %s: %v", st.Sweep.ID, err)
	}
}

func testStoreOnce(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	st := mk("t-a", "PC-001", 1, t0, []string{"/usr/bin/bash"}, "rule.one")
	put(t, s, st)
	if st.Sweep.AssetID == "" {
		t.Fatal("PutSweep did not fill in the asset ID")
	}
	again := mk("t-a", "PC-001", 1, t0, []string{"/usr/bin/bash"})
	err := s.PutSweep(ctx, again, tansa.AuditEntry{Time: t0, Action: "sweep.upload"})
	if tansa.KindOf(err) != tansa.Conflict {
		t.Fatalf("replay: %v, want a conflict", err)
	}
	sw, err := s.Sweep(ctx, st.Sweep.ID)
	if err != nil || sw.AssetID != st.Sweep.AssetID || sw.Findings != 1 || sw.MaxScore != 80 || !sw.Started.Equal(t0) {
		t.Fatalf("Sweep = %+v, %v", sw, err)
	}
	sealed, err := s.SweepSealed(ctx, st.Sweep.ID)
	if err != nil || string(sealed) != "sealed-"+st.Sweep.ID {
		t.Fatalf("SweepSealed = %q, %v", sealed, err)
	}
	a, err := s.Asset(ctx, st.Sweep.AssetID)
	if err != nil || a.Hostname != "PC-001" || a.Sweeps != 1 || a.LastSweep != st.Sweep.ID || a.OS != "linux" || !slices.Equal(a.IPs, []string{"10.0.0.1"}) {
		t.Fatalf("Asset = %+v, %v", a, err)
	}
	// The same hostname in another tenant is another asset.
	other := mk("t-b", "pc-001", 2, t0, nil)
	put(t, s, other)
	if other.Sweep.AssetID == st.Sweep.AssetID {
		t.Fatal("two tenants' hosts share an asset")
	}
	as, n, err := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-a"), Page: access.Page{Limit: 10}})
	if err != nil || n != 1 || as[0].TenantID != "t-a" {
		t.Fatalf("Assets(t-a) = %+v, %d, %v", as, n, err)
	}
	// Same host, same tenant, different case: the same asset.
	put(t, s, mk("t-a", "pc-001", 3, t0.Add(time.Hour), nil))
	if _, n, _ := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-a")}); n != 1 {
		t.Errorf("hostname case made %d assets, want 1", n)
	}
	sws, n, err := s.Sweeps(ctx, fleet.SweepQuery{Scope: one("t-a"), Page: access.Page{Limit: 10}})
	if err != nil || n != 2 || sws[0].ID != fmt.Sprintf("%032x", 3) {
		t.Fatalf("Sweeps = %+v, %d, %v; want the newest first", sws, n, err)
	}
	if _, n, _ := s.Sweeps(ctx, fleet.SweepQuery{Scope: access.Scope{}}); n != 0 {
		t.Errorf("the empty scope matched %d sweeps", n)
	}
}

func testNewestWins(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	newer := mk("t-a", "PC-1", 2, t0.Add(time.Hour), []string{"/new"}, "rule.new")
	put(t, s, newer)
	older := mk("t-a", "PC-1", 1, t0, []string{"/old"}, "rule.old")
	put(t, s, older)
	a, _ := s.Asset(ctx, newer.Sweep.AssetID)
	if a.LastSweep != newer.Sweep.ID || a.Sweeps != 2 {
		t.Errorf("asset after a late older sweep: last %s, sweeps %d; want %s, 2", a.LastSweep, a.Sweeps, newer.Sweep.ID)
	}
	fs, n, err := s.Findings(ctx, fleet.FindingQuery{Scope: one("t-a"), Page: access.Page{Limit: 10}})
	if err != nil || n != 1 || fs[0].Finding.Rule != "rule.new" {
		t.Fatalf("latest findings = %+v, %d, %v; want rule.new only", fs, n, err)
	}
	if _, n, _ := s.Findings(ctx, fleet.FindingQuery{Scope: one("t-a"), SweepID: older.Sweep.ID}); n != 1 {
		t.Errorf("findings of the older sweep: %d, want 1", n)
	}
	ps, _, _ := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: one("t-a"), Kind: fleet.KindProcess, Page: access.Page{Limit: 10}})
	if len(ps) != 1 || ps[0].Value != "/new" {
		t.Errorf("process prevalence = %+v, want /new only (the older sweep must not replace the set)", ps)
	}
}

func testPrevalence(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	put(t, s, mk("t-a", "A1", 1, t0, []string{"/usr/bin/common", "/tmp/rare"}))
	put(t, s, mk("t-a", "A2", 2, t0, []string{"/usr/bin/common"}))
	put(t, s, mk("t-b", "B1", 3, t0, []string{"/usr/bin/common", "/opt/b-only"}))
	count := func(sc access.Scope, value string) int {
		ps, _, err := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: sc, Kind: fleet.KindProcess, Page: access.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Value == value {
				return p.Assets
			}
		}
		return 0
	}
	for _, c := range []struct {
		sc    access.Scope
		value string
		want  int
	}{
		{access.Scope{All: true}, "/usr/bin/common", 3},
		{one("t-a"), "/usr/bin/common", 2},
		{one("t-a"), "/opt/b-only", 0},
		{access.Scope{Tenants: []string{"t-a", "t-b"}}, "/usr/bin/common", 3},
		{access.Scope{Tenants: []string{"t-a", "t-b"}}, "/opt/b-only", 1},
		{access.Scope{}, "/usr/bin/common", 0},
	} {
		if got := count(c.sc, c.value); got != c.want {
			t.Errorf("prevalence of %s in %+v = %d, want %d", c.value, c.sc, got, c.want)
		}
	}
	ps, total, _ := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: one("t-a"), Kind: fleet.KindProcess, Page: access.Page{Limit: 1}})
	if total != 2 || len(ps) != 1 || ps[0].Value != "/tmp/rare" || ps[0].Assets != 1 {
		t.Fatalf("rarest first = %+v (total %d), want /tmp/rare on 1", ps, total)
	}
	// One click from "1 of N" to the endpoints that have it.
	as, n, err := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-a"), Artifact: ps[0].ID, Page: access.Page{Limit: 10}})
	if err != nil || n != 1 || as[0].Hostname != "A1" {
		t.Fatalf("assets with %s = %+v, %d, %v", ps[0].Value, as, n, err)
	}
	if a, err := s.ArtifactOf(ctx, ps[0].ID); err != nil || a.Value != "/tmp/rare" {
		t.Errorf("ArtifactOf = %+v, %v", a, err)
	}
	if _, n, _ := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-b"), Artifact: ps[0].ID}); n != 0 {
		t.Errorf("tenant b sees %d endpoints with tenant a's artifact", n)
	}
	// A1's next sweep no longer runs /tmp/rare: the count drops to 0 and
	// the row leaves the list; the text filter finds by value.
	put(t, s, mk("t-a", "A1", 4, t0.Add(time.Hour), []string{"/usr/bin/common"}))
	if got := count(one("t-a"), "/tmp/rare"); got != 0 {
		t.Errorf("after removal: %d, want 0", got)
	}
	if got := count(access.Scope{All: true}, "/usr/bin/common"); got != 3 {
		t.Errorf("common after a repeat sweep: %d, want 3 (not counted twice)", got)
	}
	if ps, n, _ := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: access.Scope{All: true}, Text: "COMMON", Page: access.Page{Limit: 10}}); n != 1 || len(ps) != 1 {
		t.Errorf("text filter: %+v (%d)", ps, n)
	}
	// Every kind at once, rarest first, paged: the same order as one
	// list sorted by count, then ID.
	for _, sc := range []access.Scope{one("t-a"), {All: true}} {
		all, total, err := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: sc, Page: access.Page{Limit: 1000}})
		if err != nil || total != len(all) || total < 2 {
			t.Fatalf("all kinds in %+v: %d of %d, %v", sc, len(all), total, err)
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].Assets > all[i].Assets {
				t.Errorf("all kinds in %+v: not rarest first at %d: %+v", sc, i, all)
			}
		}
		kinds := map[string]bool{}
		for _, p := range all {
			kinds[p.Kind] = true
		}
		if !kinds[fleet.KindProcess] || !kinds[fleet.KindHash] {
			t.Errorf("all kinds in %+v: %v", sc, kinds)
		}
		for off := 0; off < total; off += 2 {
			page, n, err := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: sc, Page: access.Page{Limit: 2, Offset: off}})
			if err != nil || n != total || len(page) != min(2, total-off) {
				t.Fatalf("page at %d: %+v, %d, %v", off, page, n, err)
			}
			for i, p := range page {
				if p.ID != all[off+i].ID {
					t.Errorf("page at %d, row %d: %s, want %s (the same order as one list)", off, i, p.Value, all[off+i].Value)
				}
			}
		}
	}
	// It comes back on the sweep after: counted from 1 again, in the
	// tenant and across tenants.
	put(t, s, mk("t-a", "A1", 5, t0.Add(2*time.Hour), []string{"/usr/bin/common", "/tmp/rare"}))
	if got, all := count(one("t-a"), "/tmp/rare"), count(access.Scope{All: true}, "/tmp/rare"); got != 1 || all != 1 {
		t.Errorf("back again: %d in the tenant, %d across tenants; want 1 and 1", got, all)
	}
}

func testCoverage(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	put(t, s, mk("t-a", "recent", 1, t0, nil))
	old := mk("t-a", "stale", 2, t0.AddDate(0, 0, -30), nil)
	old.Sweep.Received = t0.AddDate(0, 0, -30)
	old.Asset.LastSeen = old.Sweep.Received
	put(t, s, old)
	n, err := s.RegisterAssets(ctx, "t-a", []string{"never.corp.example", "RECENT", "never.corp.example"}, t0, tansa.AuditEntry{Time: t0, Action: "asset.register"})
	if err != nil || n != 1 {
		t.Fatalf("RegisterAssets = %d, %v; want 1 new (recent exists, duplicates once)", n, err)
	}
	cov, err := s.Coverage(ctx, one("t-a"), t0.AddDate(0, 0, -7))
	if err != nil || cov.Total != 3 || cov.Recent != 1 || cov.Stale != 1 || cov.Never != 1 {
		t.Fatalf("Coverage = %+v, %v", cov, err)
	}
	as, _, _ := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-a"), Swept: "never", Page: access.Page{Limit: 5}})
	if len(as) != 1 || as[0].Hostname != "never" || as[0].Domain != "corp.example" {
		t.Errorf("never swept = %+v", as)
	}
	if cov, _ := s.Coverage(ctx, one("t-b"), t0); cov.Total != 0 {
		t.Errorf("tenant b coverage %+v", cov)
	}
}

func testReviews(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	st := mk("t-a", "PC", 1, t0, nil, "rule.x")
	put(t, s, st)
	key := st.Findings[0].Key
	add := func(id string, v fleet.Verdict, at time.Time) {
		t.Helper()
		if err := s.AddReview(ctx, fleet.Review{ID: id, TenantID: "t-a", Key: key, Verdict: v, Comment: "c " + id, Actor: "user:it", Time: at},
			tansa.AuditEntry{Time: at, Action: "finding.review"}); err != nil {
			t.Fatal(err)
		}
	}
	add("r1", fleet.VerdictBenign, t0)
	add("r2", fleet.VerdictNone, t0.Add(time.Minute))
	ex, err := s.Exceptions(ctx, "t-a")
	if err != nil || len(ex) != 1 || ex[0].Key != key {
		t.Fatalf("Exceptions = %+v, %v", ex, err)
	}
	if ex, _ := s.Exceptions(ctx, "t-b"); len(ex) != 0 {
		t.Errorf("tenant b exceptions %+v", ex)
	}
	fs, _, _ := s.Findings(ctx, fleet.FindingQuery{Scope: one("t-a"), Page: access.Page{Limit: 5}})
	if len(fs) != 1 || fs[0].Verdict != fleet.VerdictBenign {
		t.Errorf("finding verdict = %+v", fs)
	}
	add("r3", fleet.VerdictMalicious, t0.Add(2*time.Minute))
	if ex, _ := s.Exceptions(ctx, "t-a"); len(ex) != 0 {
		t.Errorf("a malicious verdict left the exception: %+v", ex)
	}
	rs, err := s.Reviews(ctx, "t-a", key)
	if err != nil || len(rs) != 3 || rs[0].ID != "r1" || rs[2].Verdict != fleet.VerdictMalicious {
		t.Fatalf("Reviews = %+v, %v", rs, err)
	}
}

func testCampaigns(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	c := fleet.Campaign{ID: "c-1", TenantID: "t-a", Name: "weekly", Start: t0, Interval: 7 * 24 * time.Hour, Created: t0, Creator: "user:x"}
	if err := s.CreateCampaign(ctx, c, tansa.AuditEntry{Time: t0, Action: "campaign.create"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Campaign(ctx, "c-1")
	if err != nil || got.Interval != c.Interval || got.Name != "weekly" {
		t.Fatalf("Campaign = %+v, %v", got, err)
	}
	for i, h := range []string{"h1", "h2", "h1"} {
		st := mk("t-a", h, i+1, t0.Add(time.Duration(i)*time.Hour), nil)
		st.Sweep.Campaign = "c-1"
		put(t, s, st)
	}
	if n, err := s.CampaignSwept(ctx, c, t0); err != nil || n != 2 {
		t.Errorf("CampaignSwept = %d, %v; want 2 distinct endpoints", n, err)
	}
	if _, n, _ := s.Campaigns(ctx, one("t-b"), access.Page{Limit: 5}); n != 0 {
		t.Errorf("tenant b sees %d campaigns", n)
	}
}

func testNotFound(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	for name, err := range map[string]error{
		"asset":    func() error { _, err := s.Asset(ctx, "nope"); return err }(),
		"sweep":    func() error { _, err := s.Sweep(ctx, "nope"); return err }(),
		"sealed":   func() error { _, err := s.SweepSealed(ctx, "nope"); return err }(),
		"campaign": func() error { _, err := s.Campaign(ctx, "nope"); return err }(),
		"artifact": func() error { _, err := s.ArtifactOf(ctx, "zz"); return err }(),
	} {
		if tansa.KindOf(err) != tansa.NotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}

// testMentions checks the sweep side of retro-hunts: a value a stored
// sweep holds is found in its tenant only, within the look-back, newest
// first and bounded per value; address prefixes (CIDR hunts) find the
// addresses under them.
func testMentions(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	idx, ok := s.(retro.Index)
	if !ok {
		t.Fatalf("%T does not implement retro.Index: retro-hunts cannot search stored sweeps", s)
	}
	hash := fmt.Sprintf("%064x", 0xbad)
	mkObs := func(tenant, host string, n int, at time.Time) *fleet.StoredSweep {
		id := fmt.Sprintf("%032x", n)
		r := &result.Result{Schema: 1, SweepID: id, Started: at, Finished: at.Add(time.Second), Host: result.Host{Hostname: host},
			Processes:   []result.Process{{PID: 7, Path: "/tmp/.x/kworker", SHA256: strings.ToUpper(hash)}},
			Connections: []result.Connection{{Protocol: "tcp", RemoteAddr: "::ffff:198.51.100.23", RemotePort: 443, State: "ESTABLISHED"}, {Protocol: "tcp", RemoteAddr: "127.0.0.1", RemotePort: 5432}},
			DNS:         []result.DNSEntry{{Name: "Update.Evil-CDN.example.", Address: "203.0.113.9", Source: "hosts"}, {Name: "localhost", Address: "::1", Source: "hosts"}}}
		return fleet.Build(r, tenant, []byte("sealed-"+id), at.Add(time.Minute), "token:test")
	}
	put(t, s, mkObs("t-a", "PC-1", 1, t0.AddDate(0, 0, -200))) // outside the look-back
	put(t, s, mkObs("t-a", "PC-1", 2, t0.Add(-time.Hour)))
	put(t, s, mkObs("t-a", "PC-2", 3, t0))
	put(t, s, mkObs("t-b", "PC-9", 4, t0)) // another tenant's sweep with the same values
	since := t0.AddDate(0, 0, -90)

	ms, err := idx.Mentions(ctx, "t-a", retro.Lookup{Values: []string{hash, "198.51.100.23", "update.evil-cdn.example", "203.0.113.9", "127.0.0.1", "::1", "localhost", "nothing.example"}, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, m := range ms {
		got[m.Value] = append(got[m.Value], m.Ref)
		if m.Time.Before(since) {
			t.Errorf("mention %+v is older than the look-back", m)
		}
	}
	newestFirst := []string{fmt.Sprintf("%032x", 3), fmt.Sprintf("%032x", 2)}
	for _, v := range []string{hash, "198.51.100.23", "update.evil-cdn.example", "203.0.113.9"} {
		if !slices.Equal(got[v], newestFirst) {
			t.Errorf("mentions of %s = %v, want tenant t-a's two sweeps in the window, newest first %v", v, got[v], newestFirst)
		}
	}
	for _, v := range []string{"127.0.0.1", "::1", "localhost", "nothing.example"} {
		if len(got[v]) != 0 {
			t.Errorf("%s found in %v; loopback and localhost are not indexed, unknown values not found", v, got[v])
		}
	}
	if len(ms) != 8 {
		t.Errorf("%d mentions, want 8: %+v", len(ms), ms)
	}

	ms, err = idx.Mentions(ctx, "t-a", retro.Lookup{Values: []string{hash}, Since: since, Max: 1})
	if err != nil || len(ms) != 1 || ms[0].Ref != fmt.Sprintf("%032x", 3) || !ms[0].Time.Equal(t0) {
		t.Errorf("Max 1: %+v, %v; want the newest sweep with its start time", ms, err)
	}
	ms, err = idx.Mentions(ctx, "t-a", retro.Lookup{Prefixes: []string{"198.51."}, Since: since})
	if err != nil || len(ms) != 2 || ms[0].Value != "198.51.100.23" {
		t.Errorf("prefix 198.51.: %+v, %v", ms, err)
	}
	ms, err = idx.Mentions(ctx, "t-a", retro.Lookup{Prefixes: []string{"198.5."}, Since: since})
	if err != nil || len(ms) != 0 {
		t.Errorf("prefix 198.5. matched %+v, %v (a prefix ends at an octet)", ms, err)
	}
	ms, err = idx.Mentions(ctx, "t-c", retro.Lookup{Values: []string{hash}, Since: time.Time{}})
	if err != nil || len(ms) != 0 {
		t.Errorf("a tenant without sweeps: %+v, %v", ms, err)
	}
	ms, err = idx.Mentions(ctx, "t-b", retro.Lookup{Values: []string{hash}, Since: since})
	if err != nil || len(ms) != 1 || ms[0].Ref != fmt.Sprintf("%032x", 4) {
		t.Errorf("tenant t-b: %+v, %v; want its own sweep only", ms, err)
	}
}

// testConcurrent stores sweeps from many goroutines at once, as concurrent
// uploads do (a store may write them in shared transactions): every one is
// stored with its audit entry, a replay among them is a conflict that
// harms none of the others, and the prevalence counts add up.
func testConcurrent(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	const n = 40
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := i
			if i == n {
				id = 7 // a replay of sweep 7, racing it
			}
			st := mk("t-a", fmt.Sprintf("PC-%03d", id), id+1, t0, []string{"/usr/bin/common", fmt.Sprintf("/opt/only-%d", id)}, "rule.x")
			errs[i] = s.PutSweep(ctx, st, tansa.AuditEntry{Time: t0, TenantID: "t-a", Actor: "token:test", Action: "sweep.upload", ObjectType: "sweep", ObjectID: st.Sweep.ID})
		}()
	}
	wg.Wait()
	conflicts := 0
	for i, err := range errs {
		switch {
		case tansa.KindOf(err) == tansa.Conflict:
			conflicts++
		case err != nil:
			t.Errorf("sweep %d: %v", i, err)
		}
	}
	if conflicts != 1 {
		t.Errorf("%d conflicts, want exactly 1 (the replay)", conflicts)
	}
	if _, total, err := s.Sweeps(ctx, fleet.SweepQuery{Scope: one("t-a")}); err != nil || total != n {
		t.Errorf("%d sweeps stored, %v; want %d", total, err, n)
	}
	if _, total, err := s.Assets(ctx, fleet.AssetQuery{Scope: one("t-a")}); err != nil || total != n {
		t.Errorf("%d endpoints, %v; want %d", total, err, n)
	}
	ps, _, err := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: one("t-a"), Kind: fleet.KindProcess, Text: "/usr/bin/common", Page: access.Page{Limit: 10}})
	if err != nil || len(ps) != 1 || ps[0].Assets != n {
		t.Errorf("prevalence of the common path: %+v, %v; want %d endpoints", ps, err, n)
	}
	if _, total, err := s.Findings(ctx, fleet.FindingQuery{Scope: one("t-a"), Page: access.Page{Limit: 1}}); err != nil || total != n {
		t.Errorf("%d findings, %v; want %d", total, err, n)
	}
}

// testConcurrentResweeps uploads two sweeps of each of 12 endpoints in
// two tenants at once, in any order, so that stores writing batches of
// concurrent uploads move one count for several sweeps: the counts must
// be those of each endpoint's newest sweep, and what no endpoint has any
// more must be gone.
func testConcurrentResweeps(t *testing.T, s fleet.Store) {
	ctx := context.Background()
	var ups []*fleet.StoredSweep
	n := 0
	for _, tenant := range []string{"t-a", "t-b"} {
		for h := range 6 {
			host := fmt.Sprintf("PC-%d", h)
			n++
			ups = append(ups, mk(tenant, host, n, t0, []string{"/usr/bin/common", "/tmp/round1-gone", "/opt/" + tenant, fmt.Sprintf("/opt/h-%s-%d", tenant, h)}))
			n++
			ups = append(ups, mk(tenant, host, n, t0.Add(time.Hour), []string{"/usr/bin/common", "/opt/new", fmt.Sprintf("/opt/h-%s-%d", tenant, h)}))
		}
	}
	ups = append(ups, ups[3]) // a replay in the same burst
	errs := make([]error, len(ups))
	var wg sync.WaitGroup
	for i, st := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.PutSweep(ctx, st, tansa.AuditEntry{Time: t0, TenantID: st.Sweep.TenantID, Actor: "token:test", Action: "sweep.upload", ObjectType: "sweep", ObjectID: st.Sweep.ID})
		}()
	}
	wg.Wait()
	conflicts := 0
	for i, err := range errs {
		switch {
		case tansa.KindOf(err) == tansa.Conflict:
			conflicts++
		case err != nil:
			t.Errorf("sweep %d: %v", i, err)
		}
	}
	if conflicts != 1 {
		t.Errorf("%d conflicts, want exactly 1 (the replay)", conflicts)
	}
	counts := func(sc access.Scope) map[string]int {
		ps, _, err := s.Prevalence(ctx, fleet.PrevalenceQuery{Scope: sc, Kind: fleet.KindProcess, Page: access.Page{Limit: 100}})
		if err != nil {
			t.Fatalf("Prevalence: %v", err)
		}
		m := map[string]int{}
		for _, p := range ps {
			m[p.Value] = p.Assets
		}
		return m
	}
	want := map[string]int{"/usr/bin/common": 12, "/opt/new": 12}
	for _, tenant := range []string{"t-a", "t-b"} {
		for h := range 6 {
			want[fmt.Sprintf("/opt/h-%s-%d", tenant, h)] = 1
		}
	}
	if got := counts(access.Scope{All: true}); !maps.Equal(got, want) {
		t.Errorf("prevalence across tenants = %v, want %v", got, want)
	}
	wantA := map[string]int{"/usr/bin/common": 6, "/opt/new": 6}
	for h := range 6 {
		wantA[fmt.Sprintf("/opt/h-t-a-%d", h)] = 1
	}
	if got := counts(one("t-a")); !maps.Equal(got, wantA) {
		t.Errorf("prevalence in t-a = %v, want %v", got, wantA)
	}
}
