package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/intel/taxii"
)

// patterns returns the STIX patterns among objects.
func patterns(t *testing.T, objs []json.RawMessage) []string {
	var out []string
	for _, o := range objs {
		var x struct{ Type, Pattern string }
		if err := json.Unmarshal(o, &x); err != nil {
			t.Fatal(err)
		}
		if x.Type == "indicator" {
			out = append(out, x.Pattern)
		}
	}
	return out
}

// TestTAXIIServerWithTheClient reads tenant A's collection with the TAXII
// client as A's administrator, page by page, then only what is new; and
// pulls it as a feed into tenant B.
func TestTAXIIServerWithTheClient(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	ctx := f.ctx
	c := &taxii.Client{Username: "alpha-admin", Token: f.A.secrets[f.A.AdminToken.ID]}
	cols, err := c.CollectionsOf(ctx, f.srv.URL+"/taxii2/")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 1 || !strings.HasSuffix(cols[0], "/taxii2/api/collections/"+f.A.Tenant.ID+"/") {
		t.Fatalf("collections = %v, want A's alone", cols)
	}
	var got []string
	pages := 0
	last, err := c.Objects(ctx, cols[0], time.Time{}, 1, func(p taxii.Page) error {
		pages++
		got = append(got, patterns(t, p.Objects)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{f.A.IntelIP, f.A.IntelDomain, isoGlobalIP} {
		if !strings.Contains(all, want) {
			t.Errorf("collection lacks %s:\n%s", want, all)
		}
	}
	for _, not := range []string{f.B.IntelIP, f.B.IntelDomain} {
		if strings.Contains(all, not) {
			t.Errorf("collection shows B's %s", not)
		}
	}
	if pages < 4 || last.IsZero() {
		t.Errorf("%d pages of one, last %v; want one page per indicator", pages, last)
	}
	// Only what is new after the cursor.
	time.Sleep(2 * time.Millisecond)
	if _, err := f.intel.Import(ctx, f.sys, []byte("185.100.87.202\n"), intelsvc.ImportInput{Format: importer.FormatText, TenantID: f.A.Tenant.ID, Source: "new"}); err != nil {
		t.Fatal(err)
	}
	got = nil
	if _, err := c.Objects(ctx, cols[0], last, 0, func(p taxii.Page) error { got = append(got, patterns(t, p.Objects)...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.Contains(got[0], "185.100.87.202") {
		t.Errorf("after the cursor: %v, want the new indicator alone", got)
	}
	// B's collection, to A's credential, is not found, in TAXII's shape.
	if _, err := c.Objects(ctx, strings.Replace(cols[0], f.A.Tenant.ID, f.B.Tenant.ID, 1), time.Time{}, 0, func(taxii.Page) error { return nil }); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("B's collection: %v", err)
	}
	// Content negotiation and authentication.
	req, _ := http.NewRequest("GET", f.srv.URL+"/taxii2/", nil)
	req.Header.Set("Accept", "application/xml")
	req.Header.Set("Authorization", "Bearer "+f.A.secrets[f.A.AdminToken.ID])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotAcceptable || !taxii.IsTAXII(res.Header.Get("Content-Type")) {
		t.Errorf("Accept: application/xml → %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, err = http.Get(f.srv.URL + "/taxii2/api/collections/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !taxii.IsTAXII(res.Header.Get("Content-Type")) {
		t.Errorf("no credential → %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// A's collection pulled as a feed of B, with A's token: B gets A's
	// indicators, a second pull nothing more.
	fs := feeds.New(f.db, f.intel, f.svc, feeds.Options{AllowPrivate: true})
	fd, err := fs.Create(ctx, f.sys, feeds.Input{TenantID: &f.B.Tenant.ID, Name: isoPtr("alpha share"), Kind: isoPtr(feeds.KindTAXII),
		Source: isoPtr(cols[0]), Secret: isoPtr(f.A.secrets[f.A.AdminToken.ID]), Interval: isoPtr("1h")})
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := fs.PullNow(ctx, f.sys, fd.ID)
	if err != nil || pulled.LastStatus != "ok" || pulled.LastResult.Added < 3 {
		t.Fatalf("pull: %+v %+v %v", pulled, pulled.LastResult, err)
	}
	recs, _, err := f.intel.Indicators(ctx, f.sys, intelsvc.Query{Scope: access.Scope{Tenants: []string{f.B.Tenant.ID}}, Text: f.A.IntelIP, Page: access.Page{Limit: 10}})
	if err != nil || len(recs) == 0 {
		t.Errorf("B has no copy of A's %s after the pull: %v", f.A.IntelIP, err)
	}
	again, _ := fs.PullNow(ctx, f.sys, fd.ID)
	if again.LastStatus != "ok" || again.LastResult.Objects != 0 {
		t.Errorf("second pull read %d objects, want 0", again.LastResult.Objects)
	}
}
