package service_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/blocklist"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

type fixture struct {
	ctx    context.Context
	db     *sqlite.DB
	access *access.Service
	intel  *service.Service
	sys    access.Caller
	t1, t2 string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{ctx: ctx, db: db, access: access.New(db, access.Options{}), sys: access.Caller{Principal: access.System("test")}}
	if f.intel, err = service.New(db, f.access, service.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"One", "Two"} {
		tn, err := f.access.CreateTenant(ctx, f.sys, access.TenantInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "One" {
			f.t1 = tn.ID
		} else {
			f.t2 = tn.ID
		}
	}
	return f
}

func (f *fixture) caller(role tansa.Role, tenant string, tenants ...string) access.Caller {
	return access.Caller{Principal: access.Principal{Kind: "token", ID: string(role), Name: string(role) + "-" + tenant, Role: role, TenantID: tenant, Tenants: tenants}, Addr: "192.0.2.1"}
}

func (f *fixture) imp(t *testing.T, c access.Caller, data string, in service.ImportInput) *importer.Result {
	t.Helper()
	res, err := f.intel.Import(f.ctx, c, []byte(data), in)
	if err != nil {
		t.Fatalf("Import as %s: %v", c.Name, err)
	}
	return res
}

func (f *fixture) values(t *testing.T, c access.Caller, q service.Query) []string {
	t.Helper()
	q.Limit = 100
	recs, _, err := f.intel.Indicators(f.ctx, c, q)
	if err != nil {
		t.Fatalf("Indicators as %s: %v", c.Name, err)
	}
	var v []string
	for _, r := range recs {
		v = append(v, r.Indicator.Value)
	}
	slices.Sort(v)
	return v
}

func TestImportAuditedAndLogged(t *testing.T) {
	f := newFixture(t)
	admin := f.caller(tansa.RoleTenantAdmin, f.t1)
	res := f.imp(t, admin, "45.77.1.1\n45.77.1.2\n", service.ImportInput{Source: "list.txt"})
	if res.Added != 2 {
		t.Fatalf("result %+v, want 2 added", res)
	}
	entries, _, err := f.access.Audit(f.ctx, f.sys, access.AuditQuery{Action: "intel.import", Page: access.Page{Limit: 10}})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit: %d entries, %v; want 1", len(entries), err)
	}
	e := entries[0]
	if e.TenantID != f.t1 || e.Actor != "token:"+admin.Name || e.Addr != "192.0.2.1" || !strings.Contains(string(e.After), `"added":2`) {
		t.Errorf("audit entry %+v after %s", e, e.After)
	}
	ims, _, err := f.intel.Imports(f.ctx, admin, service.ImportQuery{Page: access.Page{Limit: 10}})
	if err != nil || len(ims) != 1 || ims[0].ID != e.ObjectID || ims[0].Source != "list.txt" || ims[0].Result.Added != 2 {
		t.Errorf("import log %+v, %v; want the import the audit entry names", ims, err)
	}

	// The log keeps the counts of a garbage upload but only the first
	// LogDetails rejections.
	garbage := strings.Repeat("not an indicator\n", 3*service.LogDetails)
	if res := f.imp(t, admin, garbage, service.ImportInput{Format: importer.FormatText}); res.RejectedCount != 3*service.LogDetails || len(res.Rejected) != 3*service.LogDetails {
		t.Fatalf("garbage: rejected %d, listed %d; want %d of each", res.RejectedCount, len(res.Rejected), 3*service.LogDetails)
	}
	ims, _, _ = f.intel.Imports(f.ctx, admin, service.ImportQuery{Page: access.Page{Limit: 1}})
	if g := ims[0].Result; g.RejectedCount != 3*service.LogDetails || len(g.Rejected) != service.LogDetails {
		t.Errorf("logged garbage import: rejected %d, listed %d; want %d and %d", g.RejectedCount, len(g.Rejected), 3*service.LogDetails, service.LogDetails)
	}

	// An import whose envelope is broken changes nothing and logs nothing.
	if _, err := f.intel.Import(f.ctx, admin, []byte(`{"type":"bundle","objects":[`), service.ImportInput{Format: importer.FormatSTIX}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("broken bundle: %v, want kind Invalid", err)
	}
	if _, n, _ := f.access.Audit(f.ctx, f.sys, access.AuditQuery{Action: "intel.import"}); n != 2 {
		t.Errorf("audit has %d intel.import entries after a failed import, want 2", n)
	}
	if _, n, _ := f.intel.Imports(f.ctx, admin, service.ImportQuery{}); n != 2 {
		t.Errorf("import log has %d entries after a failed import, want 2", n)
	}
}

func TestWhoImportsWhere(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		c      access.Caller
		tenant string
		want   tansa.Kind // 0 (Internal) stands for success
		owner  string
	}{
		{"tenant admin, own tenant by default", f.caller(tansa.RoleTenantAdmin, f.t1), "", 0, f.t1},
		{"tenant admin naming its tenant", f.caller(tansa.RoleTenantAdmin, f.t1), f.t1, 0, f.t1},
		{"tenant admin naming another", f.caller(tansa.RoleTenantAdmin, f.t1), f.t2, tansa.NotFound, ""},
		{"tenant viewer", f.caller(tansa.RoleTenantViewer, f.t1), "", tansa.Forbidden, ""},
		{"ingest token", f.caller(tansa.RoleIngest, f.t1), "", tansa.Forbidden, ""},
		{"restricted analyst naming its tenant", f.caller(tansa.RoleProviderAnalyst, "", f.t1), f.t1, 0, f.t1},
		{"restricted analyst naming another", f.caller(tansa.RoleProviderAnalyst, "", f.t1), f.t2, tansa.NotFound, ""},
		{"restricted analyst, global", f.caller(tansa.RoleProviderAnalyst, "", f.t1), "", tansa.Forbidden, ""},
		{"provider admin, global", f.caller(tansa.RoleProviderAdmin, ""), "", 0, ""},
		{"provider admin, a tenant that does not exist", f.caller(tansa.RoleProviderAdmin, ""), "nope", tansa.NotFound, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			value := "45.77.2." + string(rune('1'+i))
			_, err := f.intel.Import(f.ctx, tc.c, []byte(value+"\n"), service.ImportInput{TenantID: tc.tenant})
			if tc.want != 0 {
				if tansa.KindOf(err) != tc.want {
					t.Errorf("Import = %v, want kind %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			recs, _, err := f.intel.Indicators(f.ctx, f.sys, service.Query{Text: value, Page: access.Page{Limit: 5}})
			if err != nil || len(recs) != 1 || recs[0].Indicator.TenantID != tc.owner {
				t.Errorf("stored %+v, %v; want one indicator of tenant %q", recs, err, tc.owner)
			}
		})
	}
	// A provider user working in one tenant (the console's switcher)
	// imports there, and may not name another.
	c := f.caller(tansa.RoleProviderAdmin, "")
	c.Current = f.t2
	f.imp(t, c, "45.77.3.1\n", service.ImportInput{})
	if got := f.values(t, f.caller(tansa.RoleTenantViewer, f.t2), service.Query{Text: "45.77.3.1"}); !slices.Equal(got, []string{"45.77.3.1"}) {
		t.Errorf("import in the current tenant: tenant two sees %v", got)
	}
	if _, err := f.intel.Import(f.ctx, c, []byte("45.77.3.2\n"), service.ImportInput{TenantID: f.t1}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("import into another tenant than the current one: %v, want NotFound", err)
	}
}

func TestVisibilityByTenantAndTLP(t *testing.T) {
	f := newFixture(t)
	f.imp(t, f.sys, "value,type,tlp\n45.77.4.1,ip,green\n45.77.4.2,ip,red\n", service.ImportInput{Format: importer.FormatCSV})
	f.imp(t, f.sys, "45.77.4.3\n", service.ImportInput{TenantID: f.t1})
	f.imp(t, f.sys, "value,tlp\n45.77.4.4,red\n", service.ImportInput{TenantID: f.t2, Format: importer.FormatCSV})
	viewer1 := f.caller(tansa.RoleTenantViewer, f.t1)
	viewer2 := f.caller(tansa.RoleTenantViewer, f.t2)
	analyst1 := f.caller(tansa.RoleProviderAnalyst, "", f.t1)
	cases := []struct {
		name string
		c    access.Caller
		q    service.Query
		want []string
	}{
		{"tenant one", viewer1, service.Query{}, []string{"45.77.4.1", "45.77.4.3"}},
		{"tenant two sees its own red", viewer2, service.Query{}, []string{"45.77.4.1", "45.77.4.4"}},
		{"restricted analyst sees global red", analyst1, service.Query{}, []string{"45.77.4.1", "45.77.4.2", "45.77.4.3"}},
		{"provider over all tenants", f.sys, service.Query{}, []string{"45.77.4.1", "45.77.4.2", "45.77.4.3", "45.77.4.4"}},
		{"asking for a tenant out of reach", viewer1, service.Query{Scope: access.Scope{Tenants: []string{f.t2}}}, nil},
		{"asking for one's own tenant", viewer1, service.Query{Scope: access.Scope{Tenants: []string{f.t1}}}, []string{"45.77.4.1", "45.77.4.3"}},
		{"type filter", viewer1, service.Query{Type: intel.TypeDomain}, nil},
	}
	for _, tc := range cases {
		if got := f.values(t, tc.c, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	all, _, _ := f.intel.Indicators(f.ctx, f.sys, service.Query{Page: access.Page{Limit: 10}})
	for _, r := range all {
		_, err := f.intel.Indicator(f.ctx, viewer1, r.ID)
		seen := slices.Contains([]string{"45.77.4.1", "45.77.4.3"}, r.Indicator.Value)
		if seen != (err == nil) || (err != nil && tansa.KindOf(err) != tansa.NotFound) {
			t.Errorf("Indicator(%s) as tenant one's viewer: %v; want visible = %v, else NotFound", r.Indicator.Value, err, seen)
		}
	}
	// The block list of tenant one: its own and global green, never global
	// red, even when a provider pulls it.
	for _, c := range []access.Caller{viewer1, analyst1, f.sys} {
		l, err := f.intel.BlockList(f.ctx, c, f.t1)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := l.WriteEDL(&b, blocklist.KindIP); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != "45.77.4.1\n45.77.4.3\n" {
			t.Errorf("EDL of tenant one pulled by %s = %q", c.Name, got)
		}
	}
}

func TestSightingsOfOtherTenantsHidden(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	err := f.db.ImportIndicators(f.ctx, at, func(w service.Writer) (service.Import, tansa.AuditEntry, error) {
		ind := intel.Indicator{Type: intel.TypeDomain, Value: "seen.top", ValidFrom: at, Sightings: []intel.Sighting{
			{TenantID: f.t1, Where: "proxy-one", When: at}, {TenantID: f.t2, Where: "proxy-two", When: at}, {Where: "feed", When: at}}}
		if _, err := w.Upsert(ind); err != nil {
			return service.Import{}, tansa.AuditEntry{}, err
		}
		return service.Import{ID: "s", Time: at, Actor: "system:test"}, tansa.AuditEntry{Time: at, Actor: "system:test", Action: "intel.import"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ := f.intel.Indicators(f.ctx, f.sys, service.Query{Page: access.Page{Limit: 1}})
	r, err := f.intel.Indicator(f.ctx, f.caller(tansa.RoleTenantViewer, f.t1), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, s := range r.Indicator.Sightings {
		where = append(where, s.Where)
	}
	if !slices.Equal(where, []string{"proxy-one", "feed"}) {
		t.Errorf("tenant one sees sightings %v, want its own and the feed's", where)
	}
}
