// Package inteltest is the behavioural conformance suite for
// service.Store, the threat-intelligence store. Every storage backend runs
// it from its own tests:
//
//	func TestIntelConformance(t *testing.T) {
//		inteltest.Run(t, func(t *testing.T) service.Store { … })
//	}
//
// The suite checks what the service can observe: upserts by key that merge,
// imports that commit or roll back as a whole, sightings, scoping by tenant
// and TLP, filters, paging, the import log and the block-list candidates.
package inteltest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Run runs every conformance test as a subtest of t. open must return a new,
// empty store for each call and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) service.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s service.Store)
	}{
		{"UpsertMerges", testUpsertMerges},
		{"ImportRollsBack", testImportRollsBack},
		{"Sightings", testSightings},
		{"NotFound", testNotFound},
		{"ScopeAndTLP", testScopeAndTLP},
		{"FiltersAndPaging", testFiltersAndPaging},
		{"ImportLog", testImportLog},
		{"BlockCandidates", testBlockCandidates},
		{"Shared", testShared},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func ind(tenant string, typ intel.Type, value string) intel.Indicator {
	return intel.Indicator{ID: "indicator--" + value, TenantID: tenant, Type: typ, Value: value, Confidence: 50,
		TLP: intel.TLPGreen, ValidFrom: t0, Source: "test"}
}

// put imports inds for tenant in one transaction and returns the added
// flags.
func put(t *testing.T, s service.Store, tenant string, inds ...intel.Indicator) []bool {
	t.Helper()
	var added []bool
	err := s.ImportIndicators(context.Background(), t0, func(w service.Writer) (service.Import, tansa.AuditEntry, error) {
		for _, in := range inds {
			a, err := w.Upsert(in)
			if err != nil {
				return service.Import{}, tansa.AuditEntry{}, err
			}
			added = append(added, a)
		}
		id := uuid.NewString()
		return service.Import{ID: id, TenantID: tenant, Time: t0, Actor: "user:test", Source: "test.txt",
				Result: importer.Result{Format: importer.FormatText, Items: len(inds), Rejected: []importer.Rejection{}}},
			tansa.AuditEntry{Time: t0, TenantID: tenant, Actor: "user:test", Action: "intel.import", ObjectType: "intel-import", ObjectID: id}, nil
	})
	if err != nil {
		t.Fatalf("ImportIndicators: %v", err)
	}
	return added
}

func all(t *testing.T, s service.Store, q service.Query) []service.Record {
	t.Helper()
	q.Limit = 500
	items, total, err := s.Indicators(context.Background(), q)
	if err != nil {
		t.Fatalf("Indicators(%+v): %v", q, err)
	}
	if total != len(items) {
		t.Fatalf("Indicators(%+v): total %d, %d items", q, total, len(items))
	}
	return items
}

func values(rs []service.Record) []string {
	var v []string
	for _, r := range rs {
		v = append(v, r.Indicator.TenantID+"/"+r.Indicator.Value)
	}
	slices.Sort(v)
	return v
}

func testUpsertMerges(t *testing.T, s service.Store) {
	a := ind("t1", intel.TypeIPv4, "45.77.1.2")
	a.Tags = []string{"c2"}
	b := a
	b.Tags = []string{"botnet"}
	b.Confidence = 80
	b.Name = "renamed"
	if got := put(t, s, "t1", a, b); !slices.Equal(got, []bool{true, false}) {
		t.Fatalf("added = %v, want [true false]", got)
	}
	// The same value in another tenant is another indicator.
	if got := put(t, s, "t2", ind("t2", intel.TypeIPv4, "45.77.1.2")); !slices.Equal(got, []bool{true}) {
		t.Fatalf("other tenant: added = %v, want [true]", got)
	}
	rs := all(t, s, service.Query{Scope: access.Scope{Tenants: []string{"t1"}}})
	if len(rs) != 1 {
		t.Fatalf("t1 has %d indicators, want 1", len(rs))
	}
	got := rs[0]
	if got.Indicator.Confidence != 80 || got.Indicator.Name != "renamed" || !slices.Equal(got.Indicator.Tags, []string{"c2", "botnet"}) {
		t.Errorf("merged indicator = %+v, want confidence 80, name renamed, tags [c2 botnet]", got.Indicator)
	}
	if got.ID == "" || got.Indicator.ID != a.ID || !got.Created.Equal(t0) || !got.Updated.Equal(t0) {
		t.Errorf("record id %q, source id %q, created %v, updated %v", got.ID, got.Indicator.ID, got.Created, got.Updated)
	}
	one, err := s.Indicator(context.Background(), got.ID)
	if err != nil {
		t.Fatalf("Indicator(%s): %v", got.ID, err)
	}
	if one.Indicator.Value != a.Value || one.Indicator.TenantID != "t1" || !one.Indicator.ValidFrom.Equal(t0) {
		t.Errorf("Indicator(%s) = %+v", got.ID, one.Indicator)
	}
}

func testImportRollsBack(t *testing.T, s service.Store) {
	put(t, s, "t1", ind("t1", intel.TypeDomain, "kept.example"))
	boom := errors.New("boom")
	err := s.ImportIndicators(context.Background(), t0, func(w service.Writer) (service.Import, tansa.AuditEntry, error) {
		changed := ind("t1", intel.TypeDomain, "kept.example")
		changed.Confidence = 99
		for _, in := range []intel.Indicator{ind("t1", intel.TypeDomain, "lost.example"), changed} {
			if _, err := w.Upsert(in); err != nil {
				t.Errorf("Upsert: %v", err)
			}
		}
		return service.Import{}, tansa.AuditEntry{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ImportIndicators = %v, want fn's error", err)
	}
	rs := all(t, s, service.Query{Scope: access.Scope{All: true}, Global: true, GlobalRed: true})
	if len(rs) != 1 || rs[0].Indicator.Value != "kept.example" || rs[0].Indicator.Confidence != 50 {
		t.Errorf("after a failed import: %v, want kept.example unchanged", values(rs))
	}
	if _, n, _ := s.Imports(context.Background(), service.ImportQuery{Scope: access.Scope{All: true}}); n != 1 {
		t.Errorf("import log has %d entries, want 1 (the failed import logs nothing)", n)
	}
	// An invalid indicator is refused alone, with kind Invalid.
	err = s.ImportIndicators(context.Background(), t0, func(w service.Writer) (service.Import, tansa.AuditEntry, error) {
		bad := ind("t1", intel.TypeIPv4, "45.77.9.9")
		bad.Confidence = 101
		if _, err := w.Upsert(bad); tansa.KindOf(err) != tansa.Invalid {
			t.Errorf("Upsert(confidence 101) = %v, want kind Invalid", err)
		}
		if _, err := w.Upsert(ind("t1", intel.TypeIPv4, "45.77.9.10")); err != nil {
			t.Errorf("Upsert after an invalid one: %v", err)
		}
		return service.Import{ID: "after-invalid", TenantID: "t1", Time: t0, Actor: "user:test"}, tansa.AuditEntry{Time: t0, Actor: "user:test", Action: "intel.import"}, nil
	})
	if err != nil {
		t.Fatalf("ImportIndicators: %v", err)
	}
	if rs := all(t, s, service.Query{Scope: access.Scope{Tenants: []string{"t1"}}}); len(rs) != 2 {
		t.Errorf("t1 has %v, want kept.example and 45.77.9.10", values(rs))
	}
}

func testSightings(t *testing.T, s service.Store) {
	a := ind("", intel.TypeDomain, "seen.example")
	a.Sightings = []intel.Sighting{{TenantID: "t1", Where: "proxy-1", When: t0, Count: 3, Ref: "event-1"}}
	b := ind("", intel.TypeDomain, "seen.example")
	b.Sightings = []intel.Sighting{{TenantID: "t2", Where: "dns-2", When: t0.Add(time.Hour), Ref: "event-2"}}
	put(t, s, "", a)
	put(t, s, "", b)
	rs := all(t, s, service.Query{Global: true})
	if len(rs) != 1 {
		t.Fatalf("%d indicators, want 1", len(rs))
	}
	if len(rs[0].Indicator.Sightings) != 0 {
		t.Errorf("a list carries sightings: %+v", rs[0].Indicator.Sightings)
	}
	one, err := s.Indicator(context.Background(), rs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []intel.Sighting{a.Sightings[0], b.Sightings[0]}
	if len(one.Indicator.Sightings) != 2 {
		t.Fatalf("sightings = %+v, want %+v", one.Indicator.Sightings, want)
	}
	for i, sg := range one.Indicator.Sightings {
		if sg.TenantID != want[i].TenantID || sg.Where != want[i].Where || !sg.When.Equal(want[i].When) || sg.Count != want[i].Count || sg.Ref != want[i].Ref {
			t.Errorf("sighting %d = %+v, want %+v", i, sg, want[i])
		}
	}
}

func testNotFound(t *testing.T, s service.Store) {
	if _, err := s.Indicator(context.Background(), "01900000-0000-7000-8000-00000000dead"); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("Indicator(missing) = %v, want kind NotFound", err)
	}
}

func testScopeAndTLP(t *testing.T, s service.Store) {
	red := ind("", intel.TypeIPv4, "45.77.0.4")
	red.TLP = intel.TLPRed
	put(t, s, "t1", ind("t1", intel.TypeIPv4, "45.77.0.1"))
	put(t, s, "t2", ind("t2", intel.TypeIPv4, "45.77.0.2"))
	put(t, s, "", ind("", intel.TypeIPv4, "45.77.0.3"), red)
	cases := []struct {
		q    service.Query
		want []string
	}{
		{service.Query{Scope: access.Scope{Tenants: []string{"t1"}}}, []string{"t1/45.77.0.1"}},
		{service.Query{Scope: access.Scope{Tenants: []string{"t1"}}, Global: true}, []string{"/45.77.0.3", "t1/45.77.0.1"}},
		{service.Query{Scope: access.Scope{Tenants: []string{"t1"}}, Global: true, GlobalRed: true}, []string{"/45.77.0.3", "/45.77.0.4", "t1/45.77.0.1"}},
		{service.Query{Scope: access.Scope{Tenants: []string{"t1", "t2"}}}, []string{"t1/45.77.0.1", "t2/45.77.0.2"}},
		{service.Query{Scope: access.Scope{All: true}}, []string{"t1/45.77.0.1", "t2/45.77.0.2"}},
		{service.Query{Scope: access.Scope{All: true}, Global: true, GlobalRed: true}, []string{"/45.77.0.3", "/45.77.0.4", "t1/45.77.0.1", "t2/45.77.0.2"}},
		{service.Query{}, nil},
		{service.Query{Scope: access.Scope{Tenants: []string{"t3"}}}, nil},
	}
	for _, c := range cases {
		if got := values(all(t, s, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("Indicators(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func testFiltersAndPaging(t *testing.T, s service.Store) {
	named := ind("t1", intel.TypeDomain, "login-portal.example")
	named.Name = "Phishing KIT"
	put(t, s, "t1", ind("t1", intel.TypeIPv4, "45.77.5.1"), ind("t1", intel.TypeIPv4, "45.77.5.2"), named,
		ind("t1", intel.TypeURL, "http://x.example/100%_off"))
	sc := access.Scope{Tenants: []string{"t1"}}
	cases := []struct {
		q    service.Query
		want []string
	}{
		{service.Query{Scope: sc, Type: intel.TypeIPv4}, []string{"t1/45.77.5.1", "t1/45.77.5.2"}},
		{service.Query{Scope: sc, Text: "PORTAL"}, []string{"t1/login-portal.example"}},
		{service.Query{Scope: sc, Text: "phishing kit"}, []string{"t1/login-portal.example"}},
		{service.Query{Scope: sc, Text: "100%_"}, []string{"t1/http://x.example/100%_off"}},
		{service.Query{Scope: sc, Text: "_"}, []string{"t1/http://x.example/100%_off"}},
	}
	for _, c := range cases {
		if got := values(all(t, s, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("Indicators(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	var seen []string
	for off := 0; off < 4; off += 3 {
		items, total, err := s.Indicators(context.Background(), service.Query{Scope: sc, Page: access.Page{Limit: 3, Offset: off}})
		if err != nil || total != 4 {
			t.Fatalf("page at %d: total %d, err %v; want 4", off, total, err)
		}
		for _, r := range items {
			seen = append(seen, r.ID)
		}
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 4 {
		t.Errorf("two pages gave %d distinct indicators, want 4", len(seen))
	}
	if items, total, err := s.Indicators(context.Background(), service.Query{Scope: sc}); err != nil || total != 4 || len(items) != 0 {
		t.Errorf("limit 0: %d items, total %d, err %v; want only the total 4", len(items), total, err)
	}
}

func testImportLog(t *testing.T, s service.Store) {
	put(t, s, "t1", ind("t1", intel.TypeIPv4, "45.77.6.1"))
	put(t, s, "t2", ind("t2", intel.TypeIPv4, "45.77.6.2"))
	put(t, s, "", ind("", intel.TypeIPv4, "45.77.6.3"))
	ctx := context.Background()
	items, n, err := s.Imports(ctx, service.ImportQuery{Scope: access.Scope{Tenants: []string{"t1"}}, Page: access.Page{Limit: 10}})
	if err != nil || n != 1 || len(items) != 1 {
		t.Fatalf("Imports(t1) = %d items, total %d, err %v; want 1", len(items), n, err)
	}
	im := items[0]
	if im.TenantID != "t1" || im.Actor != "user:test" || im.Source != "test.txt" || !im.Time.Equal(t0) ||
		im.Result.Format != importer.FormatText || im.Result.Items != 1 {
		t.Errorf("import = %+v", im)
	}
	if _, n, _ := s.Imports(ctx, service.ImportQuery{Scope: access.Scope{Tenants: []string{"t1"}, Provider: true}}); n != 2 {
		t.Errorf("Imports(t1 and global) total %d, want 2", n)
	}
	if _, n, _ := s.Imports(ctx, service.ImportQuery{Scope: access.Scope{All: true}}); n != 3 {
		t.Errorf("Imports(all) total %d, want 3", n)
	}
	if _, n, _ := s.Imports(ctx, service.ImportQuery{}); n != 0 {
		t.Errorf("Imports(zero scope) total %d, want 0", n)
	}
}

func testBlockCandidates(t *testing.T, s service.Store) {
	revoked := ind("t1", intel.TypeIPv4, "45.77.7.2")
	revoked.Revoked = true
	flagged := ind("t1", intel.TypeIPv4, "8.8.8.8")
	flagged.Allowlisted = "public DNS resolver"
	put(t, s, "t1", ind("t1", intel.TypeIPv4, "45.77.7.1"), revoked, flagged, ind("t1", intel.TypeSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		ind("t1", intel.TypeDomain, "bad.example"), ind("t1", intel.TypeURL, "http://bad.example/x"), ind("t1", intel.TypeCIDR, "45.77.8.0/24"))
	put(t, s, "t2", ind("t2", intel.TypeIPv4, "45.77.7.9"))
	put(t, s, "", ind("", intel.TypeIPv6, "2a01:4f8::1"))
	got, err := s.BlockCandidates(context.Background(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	var v []string
	for _, in := range got {
		v = append(v, in.TenantID+"/"+in.Value)
	}
	slices.Sort(v)
	want := []string{"/2a01:4f8::1", "t1/45.77.7.1", "t1/45.77.8.0/24", "t1/bad.example", "t1/http://bad.example/x"}
	if !slices.Equal(v, want) {
		t.Errorf("BlockCandidates(t1) = %v, want %v", v, want)
	}
	got, err = s.BlockCandidates(context.Background(), "")
	if err != nil || len(got) != 1 || got[0].Value != "2a01:4f8::1" {
		t.Errorf("BlockCandidates(global) = %+v, %v; want the global IPv6 only", got, err)
	}
}

// testShared pages through what a tenant shares over TAXII: its own and the
// global non-RED indicators, in (updated, ID) order, resuming after a
// cursor.
func testShared(t *testing.T, s service.Store) {
	red := ind("", intel.TypeDomain, "red.example")
	red.TLP = intel.TLPRed
	put(t, s, "t1", ind("t1", intel.TypeIPv4, "45.77.9.1"), ind("t1", intel.TypeIPv4, "45.77.9.2"), ind("t1", intel.TypeIPv4, "45.77.9.3"))
	put(t, s, "t2", ind("t2", intel.TypeIPv4, "45.77.9.4"))
	put(t, s, "", ind("", intel.TypeDomain, "green.example"), red)
	var got []string
	after, afterID := time.Time{}, ""
	for range 10 {
		page, err := s.Shared(context.Background(), "t1", after, afterID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		for _, r := range page {
			got = append(got, r.Indicator.TenantID+"/"+r.Indicator.Value)
		}
		after, afterID = page[len(page)-1].Updated, page[len(page)-1].ID
	}
	slices.Sort(got)
	want := []string{"/green.example", "t1/45.77.9.1", "t1/45.77.9.2", "t1/45.77.9.3"}
	if !slices.Equal(got, want) {
		t.Errorf("Shared(t1) = %v, want %v", got, want)
	}
	later, err := s.Shared(context.Background(), "t1", t0.Add(time.Second), "", 10)
	if err != nil || len(later) != 0 {
		t.Errorf("Shared after the last update = %d, %v; want none", len(later), err)
	}
}
