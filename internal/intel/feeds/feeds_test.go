package feeds_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/intel/taxii"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

type fixture struct {
	ctx   context.Context
	db    *sqlite.DB
	intel *service.Service
	feeds *feeds.Service
	sys   access.Caller
	admin access.Caller // tenant A's administrator
	A     string
}

func newFixture(t *testing.T, allowPrivate bool) *fixture {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{ctx: ctx, db: db, sys: access.Caller{Principal: access.System("test")}}
	acc := access.New(db, access.Options{})
	name := "Alpha"
	tn, err := acc.CreateTenant(ctx, f.sys, access.TenantInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	f.A = tn.ID
	f.admin = access.Caller{Principal: access.Principal{Kind: "user", Name: "alice", Role: tansa.RoleTenantAdmin, TenantID: f.A}}
	if f.intel, err = service.New(db, acc, service.Options{}); err != nil {
		t.Fatal(err)
	}
	f.feeds = feeds.New(db, f.intel, acc, feeds.Options{AllowPrivate: allowPrivate})
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) indicators(t *testing.T) int {
	t.Helper()
	_, n, err := f.intel.Indicators(f.ctx, f.admin, service.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestURLFeedPullsSTIXExamples serves the OASIS STIX 2.1 examples over
// HTTP and pulls each as a URL feed of tenant A.
func TestURLFeedPullsSTIXExamples(t *testing.T) {
	dir := shareddata.Path(t, "stix/examples")
	f := newFixture(t, true)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	for _, file := range []string{"indicator-for-c2-ip-address.json", "indicators-for-C2-with-COA.json", "malicious-email-indicator-with-attachment.json"} {
		fd, err := f.feeds.Create(f.ctx, f.admin, feeds.Input{Name: ptr(file), Kind: ptr(feeds.KindURL), Source: ptr(srv.URL + "/" + file), Interval: ptr("1h")})
		if err != nil {
			t.Fatalf("create feed %s: %v", file, err)
		}
		got, err := f.feeds.PullNow(f.ctx, f.admin, fd.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastStatus != "ok" || got.LastResult == nil || got.LastResult.Items == 0 || !got.NextPull.After(got.LastPull) {
			t.Errorf("%s: pulled %+v (result %+v)", file, got, got.LastResult)
		}
	}
	if n := f.indicators(t); n == 0 {
		t.Fatal("no indicators after pulling the examples")
	}
	// A missing document is a failed pull with the reason, nothing else.
	fd, err := f.feeds.Create(f.ctx, f.admin, feeds.Input{Name: ptr("gone"), Kind: ptr(feeds.KindURL), Source: ptr(srv.URL + "/nope.json"), Interval: ptr("1h")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.feeds.PullNow(f.ctx, f.admin, fd.ID)
	if got.LastStatus != "error" || !strings.Contains(got.LastError, "404") {
		t.Errorf("missing document: status %q, error %q", got.LastStatus, got.LastError)
	}
}

// fakeTAXII serves STIX files as one TAXII 2.1 collection, two objects a
// page, paging with next and honouring added_after; every object is
// "added" a second after the previous one.
func fakeTAXII(t *testing.T, files []string, token string) *httptest.Server {
	var objs []json.RawMessage
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct{ Objects []json.RawMessage }
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		objs = append(objs, bundle.Objects...)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	added := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", taxii.MediaType)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /taxii2/", func(w http.ResponseWriter, r *http.Request) {
		write(w, taxii.Discovery{Title: "fake", Default: "/api1/", APIRoots: []string{"/api1/"}})
	})
	mux.HandleFunc("GET /api1/collections/", func(w http.ResponseWriter, r *http.Request) {
		write(w, taxii.Collections{Collections: []taxii.Collection{{ID: "c1", Title: "examples", CanRead: true},
			{ID: "w1", Title: "write only", CanWrite: true}}})
	})
	mux.HandleFunc("GET /api1/collections/c1/objects/", func(w http.ResponseWriter, r *http.Request) {
		if _, p, ok := r.BasicAuth(); !ok || p != token {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(taxii.Error{Title: "Unauthorized", HTTPStatus: "401"})
			return
		}
		start := 0
		if v := r.URL.Query().Get("added_after"); v != "" {
			after, err := taxii.ParseTime(v)
			if err != nil {
				t.Errorf("added_after %q: %v", v, err)
			}
			for start < len(objs) && !added(start).After(after) {
				start++
			}
		}
		if v := r.URL.Query().Get("next"); v != "" {
			start, _ = strconv.Atoi(v)
		}
		end := min(start+2, len(objs))
		env := taxii.Envelope{Objects: objs[start:end], More: end < len(objs)}
		if env.More {
			env.Next = strconv.Itoa(end)
		}
		if end > start {
			w.Header().Set("X-TAXII-Date-Added-First", taxii.FormatTime(added(start)))
			w.Header().Set("X-TAXII-Date-Added-Last", taxii.FormatTime(added(end-1)))
		}
		write(w, env)
	})
	return httptest.NewServer(mux)
}

func TestTAXIIFeedPagesAndResumes(t *testing.T) {
	dir := shareddata.Path(t, "stix/examples")
	f := newFixture(t, true)
	srv := fakeTAXII(t, []string{filepath.Join(dir, "indicator-for-c2-ip-address.json"), filepath.Join(dir, "indicators-for-C2-with-COA.json")}, "s3cret")
	defer srv.Close()
	// The discovery URL leads to the readable collection.
	fd, err := f.feeds.Create(f.ctx, f.admin, feeds.Input{Name: ptr("partner"), Kind: ptr(feeds.KindTAXII), Source: ptr(srv.URL + "/taxii2/"),
		Secret: ptr("tansa:s3cret"), Interval: ptr("30m")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.feeds.PullNow(f.ctx, f.admin, fd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastStatus != "ok" || got.LastResult.Documents < 2 || got.LastResult.Added == 0 {
		t.Fatalf("first pull: %+v, %+v", got, got.LastResult)
	}
	if !strings.Contains(got.Cursor, "/api1/collections/c1/") {
		t.Errorf("cursor %q does not name the collection", got.Cursor)
	}
	// The second pull resumes after the last object: nothing new.
	again, _ := f.feeds.PullNow(f.ctx, f.admin, fd.ID)
	if again.LastStatus != "ok" || again.LastResult.Objects != 0 {
		t.Errorf("second pull read %d objects, want 0 (cursor %s)", again.LastResult.Objects, again.Cursor)
	}
	// A wrong secret is a failed pull that says why.
	bad, err := f.feeds.Update(f.ctx, f.admin, fd.ID, feeds.Input{Secret: ptr("tansa:wrong")})
	if err != nil {
		t.Fatal(err)
	}
	bad, _ = f.feeds.PullNow(f.ctx, f.admin, bad.ID)
	if bad.LastStatus != "error" || !strings.Contains(bad.LastError, "401") {
		t.Errorf("wrong secret: %q %q", bad.LastStatus, bad.LastError)
	}
}

func TestFeedRules(t *testing.T) {
	f := newFixture(t, false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("45.77.1.1\n")) }))
	defer srv.Close()
	// A tenant's feed may not reach the server's own network.
	fd, err := f.feeds.Create(f.ctx, f.admin, feeds.Input{Name: ptr("inside"), Kind: ptr(feeds.KindURL), Source: ptr(srv.URL + "/x"), Interval: ptr("1h")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.feeds.PullNow(f.ctx, f.admin, fd.ID)
	if got.LastStatus != "error" || !strings.Contains(got.LastError, "own network") {
		t.Errorf("restricted feed to 127.0.0.1: %q %q", got.LastStatus, got.LastError)
	}
	// A provider administrator's may, and pulls due feeds on schedule.
	pf, err := f.feeds.Create(f.ctx, f.sys, feeds.Input{TenantID: ptr(f.A), Name: ptr("inside"), Kind: ptr(feeds.KindURL), Source: ptr(srv.URL + "/x"), Interval: ptr("1h")})
	if err != nil {
		t.Fatal(err)
	}
	f.feeds.PullDue(f.ctx)
	if got, _ := f.feeds.Feed(f.ctx, f.sys, pf.ID); got.LastStatus != "ok" || got.LastResult.Added != 1 {
		t.Errorf("provider feed: %+v", got)
	}
	// File feeds only for provider administrators over all tenants.
	if _, err := f.feeds.Create(f.ctx, f.admin, feeds.Input{Name: ptr("f"), Kind: ptr(feeds.KindFile), Source: ptr("/etc/passwd"), Interval: ptr("1h")}); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("tenant file feed: %v", err)
	}
	for _, in := range []feeds.Input{
		{Name: ptr("x"), Kind: ptr(feeds.KindURL), Source: ptr("ftp://example.com/"), Interval: ptr("1h")},
		{Name: ptr("x"), Kind: ptr(feeds.KindURL), Source: ptr("https://u:p@example.com/"), Interval: ptr("1h")},
		{Name: ptr("x"), Kind: ptr(feeds.KindURL), Source: ptr("https://example.com/"), Interval: ptr("1s")},
		{Name: ptr(""), Kind: ptr(feeds.KindURL), Source: ptr("https://example.com/"), Interval: ptr("1h")},
		{Name: ptr("x"), Kind: ptr(feeds.Kind("smtp")), Source: ptr("https://example.com/"), Interval: ptr("1h")},
		{Name: ptr("x"), Kind: ptr(feeds.KindFile), Source: ptr("relative/path"), Interval: ptr("1h")},
	} {
		if _, err := f.feeds.Create(f.ctx, f.sys, in); tansa.KindOf(err) != tansa.Invalid {
			t.Errorf("Create(%s %s %s): %v, want invalid", *in.Kind, *in.Source, *in.Interval, err)
		}
	}
	// Other tenants' feeds look like none.
	other := access.Caller{Principal: access.Principal{Kind: "user", Name: "bob", Role: tansa.RoleTenantAdmin, TenantID: "someone-else"}}
	if _, err := f.feeds.Feed(f.ctx, other, fd.ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("other tenant's admin read the feed: %v", err)
	}
	if _, n, _ := f.feeds.Feeds(f.ctx, other, "", feeds.Query{}); n != 0 {
		t.Errorf("other tenant's admin lists %d feeds", n)
	}
}
