package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/shareddata"
)

// These tests use the intel API as a customer would: import files, read
// indicators back, and pull the block lists a firewall or resolver pulls.

func intelResult(t *testing.T, res isoResponse) importer.Result {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("import: status %d; body %.500s", res.status, res.body)
	}
	var r importer.Result
	if err := json.Unmarshal([]byte(res.body), &r); err != nil {
		t.Fatalf("import: %v; body %.300s", err, res.body)
	}
	if r.Rejected == nil || r.Skipped == nil {
		t.Errorf("import: rejected and skipped must be lists, even empty; body %.300s", res.body)
	}
	return r
}

func intelTotal(t *testing.T, f *isoFixture, p *isoPrincipal, qs string) int {
	t.Helper()
	res := f.do(p, "GET", "/api/v1/intel/indicators?limit=0&"+qs, "", "")
	if res.status != http.StatusOK {
		t.Fatalf("list %s: status %d; body %.300s", qs, res.status, res.body)
	}
	n, _ := isoListTotal(t, res)
	return n
}

func TestIntelImportThreatFox(t *testing.T) {
	path := shareddata.Path(t, "iocs/threatfox_ips.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newIsoFixture(t, access.Options{})
	admin := f.principals(f.A)[0]
	before := intelTotal(t, f, admin, "tenant="+f.A.Tenant.ID)
	target := "/api/v1/intel/import?source=threatfox_ips.txt&tenant=" + f.A.Tenant.ID

	first := intelResult(t, f.do(admin, "POST", target, string(data), "text/plain"))
	if first.Format != importer.FormatText || first.Added < 10000 || first.RejectedCount != 0 {
		t.Fatalf("first import: %+v (rejected %v), want thousands added as text, none rejected", first, first.Rejected[:min(5, len(first.Rejected))])
	}
	after := intelTotal(t, f, admin, "tenant="+f.A.Tenant.ID)
	if after-before != first.Added {
		t.Errorf("tenant A has %d indicators more after the import, want %d (added)", after-before, first.Added)
	}
	// An IP of the file is now an indicator of A.
	line := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[0]
	if n := intelTotal(t, f, admin, "q="+url.QueryEscape(line)); n != 1 {
		t.Errorf("search for %s: %d indicators, want 1", line, n)
	}

	second := intelResult(t, f.do(admin, "POST", target, string(data), "text/plain"))
	if second.Added != 0 || second.Updated != first.Added+first.Updated {
		t.Errorf("second import: added %d, updated %d; want 0 and %d", second.Added, second.Updated, first.Added+first.Updated)
	}
	if n := intelTotal(t, f, admin, "tenant="+f.A.Tenant.ID); n != after {
		t.Errorf("after importing again: %d indicators, want %d (no duplicates)", n, after)
	}

	// Both imports are in the log and the audit trail, in tenant A.
	res := f.do(admin, "GET", "/api/v1/intel/imports?tenant="+f.A.Tenant.ID, "", "")
	if !strings.Contains(res.body, `"source":"threatfox_ips.txt"`) || !strings.Contains(res.body, `"actor":"token:alpha admin token"`) {
		t.Errorf("import log does not show the imports; body %.500s", res.body)
	}
	res = f.do(admin, "GET", "/api/v1/audit?action=intel.import&tenant="+f.A.Tenant.ID, "", "")
	if n, _ := isoListTotal(t, res); n != 3 { // the fixture's and these two
		t.Errorf("audit has %d intel.import entries in A, want 3; body %.300s", n, res.body)
	}
}

const intelGoodBundle = `{"type":"bundle","id":"bundle--3f0e9d5c-7a43-4b0b-9a39-4a8d2b1f6e01","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
 "name":"c2 server","pattern":"[ipv4-addr:value = '45.77.99.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":70}]}`

// intelBadBundle holds only malformed objects, one of them about the
// indicator of intelGoodBundle.
const intelBadBundle = `{"type":"bundle","id":"bundle--3f0e9d5c-7a43-4b0b-9a39-4a8d2b1f6e02","objects":[
"not an object",
{"type":"indicator"},
{"type":"indicator","spec_version":"2.1","id":"indicator--0a9a4a53-6a4f-4a59-9bd5-0d8e1f1c2b11","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
 "name":"broken pattern","pattern":"[ipv4-addr:value = '45.77.99.1'","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":10},
{"type":"indicator","spec_version":"2.1","id":"indicator--0a9a4a53-6a4f-4a59-9bd5-0d8e1f1c2b12","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
 "name":"no such address","pattern":"[ipv4-addr:value = '999.1.1.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`

func TestIntelMalformedSTIX(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	admin := f.principals(f.A)[0]
	target := "/api/v1/intel/import?format=stix&tenant=" + f.A.Tenant.ID
	if r := intelResult(t, f.do(admin, "POST", target, intelGoodBundle, "")); r.Added != 1 {
		t.Fatalf("good bundle: %+v, want 1 added", r)
	}
	get := func() string {
		res := f.do(admin, "GET", "/api/v1/intel/indicators?q=45.77.99.1", "", "")
		if n, _ := isoListTotal(t, res); n != 1 {
			t.Fatalf("search 45.77.99.1: %d, want 1", n)
		}
		return res.body
	}
	stored := get()
	total := intelTotal(t, f, admin, "tenant="+f.A.Tenant.ID)

	r := intelResult(t, f.do(admin, "POST", target, intelBadBundle, ""))
	if r.Added != 0 || r.Updated != 0 || r.RejectedCount != 4 || len(r.Rejected) != 4 {
		t.Errorf("bad bundle: added %d, updated %d, rejected %d %+v; want each of the 4 objects rejected", r.Added, r.Updated, r.RejectedCount, r.Rejected)
	}
	for _, rej := range r.Rejected {
		if rej.Item == "" || rej.Reason == "" {
			t.Errorf("rejection %+v lacks the item or the reason", rej)
		}
	}
	// A bundle cut short fails as a whole.
	if res := f.do(admin, "POST", target, intelGoodBundle[:len(intelGoodBundle)/2], ""); res.status != http.StatusBadRequest {
		t.Errorf("truncated bundle: status %d, want 400", res.status)
	}
	if got := get(); got != stored {
		t.Errorf("the stored indicator changed:\nbefore %s\nafter  %s", stored, got)
	}
	if n := intelTotal(t, f, admin, "tenant="+f.A.Tenant.ID); n != total {
		t.Errorf("tenant A has %d indicators, want %d", n, total)
	}
}

func TestIntelTenantPrivate(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	for _, p := range f.principals(f.B) {
		if !p.p.Can(access.PermIntelRead) {
			continue
		}
		for _, target := range []string{
			"/api/v1/intel/indicators?limit=500",
			"/api/v1/intel/indicators?q=" + f.A.IntelIP,
			"/api/v1/intel/indicators/" + f.A.Indicator.ID,
			"/api/v1/intel/imports",
			"/api/v1/intel/feeds/edl/ip",
			"/api/v1/intel/feeds/edl/domain",
			"/api/v1/intel/feeds/rpz",
			"/api/v1/intel/feeds/edl/ip?tenant=" + f.B.Tenant.ID,
		} {
			res := f.do(p, "GET", target, "", "")
			for _, m := range []string{f.A.IntelIP, f.A.IntelDomain, f.A.Tenant.ID} {
				if strings.Contains(res.body, m) {
					t.Errorf("%s: %s shows tenant A's %q; body %.300s", p.name, target, m, res.body)
				}
			}
		}
	}
}

// intelFeed pulls a feed as p and checks it is text.
func intelFeed(t *testing.T, f *isoFixture, p *isoPrincipal, target, wantType string) string {
	t.Helper()
	res := f.do(p, "GET", target, "", "")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), wantType) {
		t.Fatalf("%s: status %d, type %q; want 200 %s; body %.300s", target, res.status, res.header.Get("Content-Type"), wantType, res.body)
	}
	return res.body
}

func TestIntelEDL(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	root := f.rootToken()
	// Global TLP:RED intelligence is for provider roles only: it is not on
	// a tenant's list and tenant roles do not see it.
	csv := "value,type,tlp\n45.1.2.3,ip,red\n"
	if r := intelResult(t, f.do(root, "POST", "/api/v1/intel/import?format=csv", csv, "text/csv")); r.Added != 1 {
		t.Fatalf("red import: %+v", r)
	}
	ps := f.principals(f.A)
	viewer, analyst := ps[2], ps[5]
	if n := intelTotal(t, f, viewer, "q=45.1.2.3"); n != 0 {
		t.Errorf("a tenant viewer sees %d global TLP:RED indicators, want 0", n)
	}
	if n := intelTotal(t, f, analyst, "q=45.1.2.3"); n != 1 {
		t.Errorf("a provider analyst sees %d global TLP:RED indicators, want 1", n)
	}

	for _, p := range []*isoPrincipal{viewer, root} {
		body := intelFeed(t, f, p, "/api/v1/intel/feeds/edl/ip?tenant="+f.A.Tenant.ID, "text/plain")
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		has := func(v string) bool {
			for _, l := range lines {
				if l == v {
					return true
				}
			}
			return false
		}
		if !has(f.A.IntelIP) || !has(isoGlobalIP) {
			t.Errorf("%s: EDL %q lacks A's %s or the global %s", p.name, lines, f.A.IntelIP, isoGlobalIP)
		}
		for _, v := range []string{"8.8.8.8", f.B.IntelIP, "45.1.2.3"} {
			if has(v) {
				t.Errorf("%s: EDL %q has %s (allowlisted, B's or global TLP:RED)", p.name, lines, v)
			}
		}
	}
	body := intelFeed(t, f, viewer, "/api/v1/intel/feeds/edl/domain", "text/plain")
	if body != f.A.IntelDomain+"\n*."+f.A.IntelDomain+"\n" {
		t.Errorf("domain EDL of A = %q", body)
	}
	if body := intelFeed(t, f, viewer, "/api/v1/intel/feeds/edl/url", "text/plain"); body != "" {
		t.Errorf("URL EDL of A = %q, want empty", body)
	}
}

func TestIntelRPZChecks(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	body := intelFeed(t, f, f.principals(f.A)[2], "/api/v1/intel/feeds/rpz", "text/dns")
	for _, want := range []string{f.A.IntelDomain + " CNAME .", "*." + f.A.IntelDomain + " CNAME .", "32.11.61.77.45.rpz-ip CNAME ."} {
		if !strings.Contains(body, want) {
			t.Errorf("RPZ lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, f.B.IntelDomain) || strings.Contains(body, "8.8.8.8.rpz-ip") {
		t.Errorf("RPZ of A has B's domain or an allowlisted address:\n%s", body)
	}
	checker, err := exec.LookPath("named-checkzone")
	if err != nil {
		t.Skip("named-checkzone not installed (bind9-utils); the zone's syntax is not checked")
	}
	zone := filepath.Join(t.TempDir(), "rpz.zone")
	if err := os.WriteFile(zone, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(checker, "rpz.tansa.local", zone).CombinedOutput()
	if err != nil {
		t.Errorf("named-checkzone: %v\n%s\nzone:\n%s", err, out, body)
	}
}

func TestIntelImportTooLarge(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	admin := f.principals(f.A)[0]
	req := httptest.NewRequest("POST", "/api/v1/intel/import?tenant="+f.A.Tenant.ID, strings.NewReader("45.77.1.1\n"))
	req.ContentLength = importer.MaxInput + 1
	req.Header.Set("Authorization", "Bearer "+admin.bearer)
	rec := httptest.NewRecorder()
	f.web.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "too_large") {
		t.Errorf("status %d, body %s; want 413 too_large", rec.Code, rec.Body)
	}
}
