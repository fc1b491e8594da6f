package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// This file holds the tenant isolation matrix: every route of routeTable()
// is called by every kind of isoPrincipal of tenant A with requests that name
// tenant B's objects, and must refuse without showing anything of B. The
// isoFixture it builds (a real SQLite store, two tenants with credentials of
// every role) is shared with badinput_test.go.

const isoPassword = "correct-horse-battery-1"

// isoTenant is one tenant of the isoFixture with its users and tokens. Every
// name, username and e-mail of tenant B contains bMark so that a leak is
// easy to spot in any isoResponse.
type isoTenant struct {
	Tenant tansa.Tenant
	// Admin, Viewer: the people the principals log in as. Spare is the
	// object of the matrix's writes (reset, disable); Login is only ever
	// logged in as, so its password stays known.
	// Analyst and PAdmin are provider roles restricted to this tenant.
	Admin, Viewer, Spare, Login, Analyst, PAdmin tansa.User
	// Tokens by role, and a spare ingest token to revoke.
	AdminToken, ViewerToken, IngestToken, AnalystToken, PAdminToken, SpareToken tansa.Token
	// Event is one of the tenant's stored events; its raw text names the
	// tenant's viewer, so a leak of it is a leak of a marker.
	Event tansa.Event
	// IntelIP and IntelDomain are the tenant's own indicators (isoIntel);
	// Indicator is the stored IP.
	IntelIP, IntelDomain string
	Indicator            intelsvc.Record
	// Hunt is a finished retro-hunt of Indicator whose one result is Event
	// (threat intelligence at work, issue #5).
	Hunt retro.Job
	// Feed is a configured feed source of x with a secret that must never
	// show; SpareFeed is the object of the matrix's deletes, made again
	// before each.
	Feed, SpareFeed feeds.Feed
	// Playbook, its Run (not started: no runner works in the matrix) and
	// the tenant's "edr" connector, whose secret is PlaybookSecret
	// (response, issue #7).
	Playbook       playbook.Playbook
	Run            playbook.Run
	PlaybookSecret string
	secrets        map[string]string // token ID → secret
	// Endpoint sweeps: the scanner (enrolment) token, one endpoint with
	// one uploaded sweep (Host runs HostPath, a finding with FindingKey),
	// and a campaign.
	ScannerToken tansa.Token
	Host         string
	HostPath     string
	Asset        fleet.Asset
	Sweep        fleet.Sweep
	FindingKey   string
	Campaign     fleet.Campaign
	// Case is the tenant's case (isoCases) with a task, an observable (the
	// tenant's IntelIP), an evidence file and a linked alert ID.
	Case       cases.Case
	Task       cases.Task
	Observable cases.Observable
	Evidence   cases.Evidence
	AlertID    string
	// Alert is the tenant's one alert and Exception its one exception
	// (isoAlerts); SpareException makes a fresh exception of tenant A for
	// the matrix to delete, and returns B's own for B.
	Alert          tansa.Alert
	Exception      alert.Exception
	SpareException func() string
	// RuleVersion is the tenant's own rule set version (one rule whose
	// title names the tenant).
	RuleVersion ruleset.Version
}

func (x *isoTenant) users() []tansa.User {
	return []tansa.User{x.Admin, x.Viewer, x.Spare, x.Login, x.Analyst, x.PAdmin}
}

func (x *isoTenant) tokens() []tansa.Token {
	return []tansa.Token{x.AdminToken, x.ViewerToken, x.IngestToken, x.AnalystToken, x.PAdminToken, x.SpareToken, x.ScannerToken}
}

// markers returns every string that identifies x's data.
func (x *isoTenant) markers() []string {
	return append(x.accessMarkers(), x.Event.ID, isoEventIP(x), x.IntelIP, x.IntelDomain, x.Indicator.ID, x.Hunt.ID,
		x.Host, x.HostPath, x.Asset.ID, x.Sweep.ID, x.FindingKey, x.Campaign.ID, x.Campaign.Name,
		x.Feed.ID, x.Feed.Source, x.Feed.Secret,
		x.Case.ID, x.Case.Title, x.Task.ID, x.Observable.ID, x.Evidence.ID, x.Evidence.Name, x.Evidence.SHA256, x.AlertID,
		x.Playbook.ID, x.Playbook.Name, x.Run.ID, x.PlaybookSecret,
		x.Alert.ID, x.Alert.Host, x.Exception.ID, x.Exception.Reason, x.RuleVersion.ID, isoRuleTitle(x))
}

func (x *isoTenant) accessMarkers() []string {
	m := []string{x.Tenant.ID, x.Tenant.Name}
	for _, c := range x.Tenant.Contacts {
		m = append(m, c.Name, c.Email)
	}
	for _, u := range x.users() {
		m = append(m, u.ID, u.Username, u.Name, u.Email)
	}
	for _, t := range x.tokens() {
		m = append(m, t.ID, t.Name, t.Prefix, x.secrets[t.ID])
	}
	return m
}

// isoPrincipal is one way of calling as someone of tenant A.
type isoPrincipal struct {
	name   string
	p      access.Principal // for its permissions and reach
	bearer string           // API token secret, or
	cookie string           // session cookie
	login  string           // username to log in again with
}

func (p *isoPrincipal) session() bool { return p.cookie != "" }

type isoFixture struct {
	t     *testing.T
	ctx   context.Context
	svc   *access.Service
	web   *Server
	srv   *httptest.Server
	db    *sqlite.DB
	sys   access.Caller
	A, B  *isoTenant
	Root  tansa.User // a provider administrator of every tenant
	bus   *bus.Bus
	evs   *sqlite.Events
	intel *intelsvc.Service
	hunts *retro.Service
	fleet *fleet.Service
	keys  *fleet.Keys
	feeds *feeds.Service
	cases *cases.Service
	pbs   *playbook.Service
	// alerts and rules: the alerts engineer's services.
	alerts *alert.Service
	rules  *ruleset.Service
	logMu  sync.Mutex
	logs   strings.Builder
	seq    int
}

type isoLogWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w isoLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// newIsoFixture starts a server over a fresh SQLite store holding tenants A
// ("Alpha") and B ("Bravo"). opt tunes the access service; the zero value
// lifts the login limits so that the matrix may log in as often as it needs.
func newIsoFixture(t *testing.T, opt access.Options) *isoFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if opt.LoginRate == 0 {
		opt.LoginRate, opt.LoginBurst = rate.Inf, 1
	}
	if opt.MaxFailures == 0 {
		opt.MaxFailures = 1000
	}
	f := &isoFixture{t: t, ctx: ctx, db: db, svc: access.New(db, opt), sys: access.Caller{Principal: access.System("test"), Addr: "local"}}
	// The inputs publish to a real embedded bus; the event store holds
	// events of both tenants, written directly (no pipeline runs here).
	if f.bus, err = bus.Open(ctx, bus.Options{Dir: filepath.Join(t.TempDir(), "nats")}); err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { f.bus.Close() })
	if f.evs, err = sqlite.OpenEvents(ctx, filepath.Join(t.TempDir(), "events.db")); err != nil {
		t.Fatalf("open event store: %v", err)
	}
	t.Cleanup(func() { f.evs.Close() })
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(isoLogWriter{&f.logMu, &f.logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if f.intel, err = intelsvc.New(db, f.svc, intelsvc.Options{}); err != nil {
		t.Fatalf("intel service: %v", err)
	}
	f.hunts = retro.New(db, db, f.intel, f.evs, nil, db, retro.Options{})
	// Endpoint sweeps: the server's keys, and a directory holding one
	// "platform binary" (a few bytes stand in for it here).
	if f.keys, err = fleet.LoadKeys(filepath.Join(t.TempDir(), "keys")); err != nil {
		t.Fatalf("fleet keys: %v", err)
	}
	bins := t.TempDir()
	if err := os.WriteFile(filepath.Join(bins, "tansa-linux-amd64"), []byte("\x7fELF stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	if f.fleet, err = fleet.New(db, f.svc, fleet.Options{Keys: f.keys, Binaries: bins, ServerURL: "https://tansa.example"}); err != nil {
		t.Fatalf("fleet service: %v", err)
	}
	evsvc := events.NewService(f.evs)
	if f.cases, err = cases.New(db, f.svc, f.svc, cases.Options{Intel: cases.IntelLookup{Search: f.intel}, RetroHunter: cases.EventHunter{Search: evsvc, Intel: cases.IntelLookup{Search: f.intel}, Hunts: f.hunts}}); err != nil {
		t.Fatalf("cases service: %v", err)
	}
	f.feeds = feeds.New(db, f.intel, f.svc, feeds.Options{Timeout: 5 * time.Second})
	sealer, err := playbook.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	f.pbs = playbook.NewService(db, playbook.NewRunner(db, playbook.ActionDeps{Sealer: sealer}, nil, playbook.RunnerOptions{}), f.svc, f.svc, sealer)
	f.alerts = alert.New(db, f.svc, f.svc, reg, alert.Options{})
	f.rules = ruleset.New(db, f.svc)
	if _, err := f.rules.Import(ctx, f.sys, []byte(isoRuleFile("Global matrix rule", "iso-global-1")), ruleset.ImportInput{Set: "global", Name: "g.yml"}); err != nil {
		t.Fatalf("import global rules: %v", err)
	}
	f.web = NewServer(Deps{Alerts: f.alerts, Rules: f.rules, Access: f.svc, Playbooks: f.pbs, Events: evsvc, Intel: f.intel, Cases: f.cases, Hunts: f.hunts, Feeds: f.feeds, Inputs: collect.NewInputs(f.bus, reg),
		Fleet: f.fleet, Logger: log, Metrics: reg, Version: "test"})
	f.srv = httptest.NewServer(f.web)
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		if strings.Contains(f.logs.String(), "panic") {
			t.Errorf("the server panicked:\n%s", f.logs.String())
		}
	})

	f.Root = f.mkUser("root", "Root Admin", tansa.RoleProviderAdmin, "", nil)
	// Global intelligence every tenant sees, one value of it allowlisted.
	if _, err := f.intel.Import(ctx, f.sys, []byte(isoGlobalIP+"\n8.8.8.8\n"), intelsvc.ImportInput{Format: importer.FormatText, Source: "global feed"}); err != nil {
		t.Fatalf("import global intel: %v", err)
	}
	f.A = f.mkTenant("alpha", "Alpha Holdings", "JP")
	f.B = f.mkTenant("bravo-zq7", "Bravo zq7 Subsidiary", "VN")
	return f
}

func isoPtr[T any](v T) *T { return &v }

func (f *isoFixture) mkUser(username, name string, role tansa.Role, tenantID string, tenants []string) tansa.User {
	f.t.Helper()
	in := access.UserInput{Username: &username, Name: &name, Email: isoPtr(username + "@example.com"), Role: &role, Password: isoPtr(isoPassword)}
	if tenantID != "" {
		in.TenantID = &tenantID
	}
	if tenants != nil {
		in.Tenants = &tenants
	}
	u, err := f.svc.CreateUser(f.ctx, f.sys, in)
	if err != nil {
		f.t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

func (f *isoFixture) mkToken(x *isoTenant, name string, role tansa.Role, tenantID string, tenants []string) tansa.Token {
	f.t.Helper()
	tok, secret, err := f.svc.CreateToken(f.ctx, f.sys, access.TokenInput{Name: name, Role: role, TenantID: tenantID, Tenants: tenants})
	if err != nil {
		f.t.Fatalf("create token %s: %v", name, err)
	}
	x.secrets[tok.ID] = secret
	return tok
}

func (f *isoFixture) mkTenant(prefix, name, country string) *isoTenant {
	f.t.Helper()
	t, err := f.svc.CreateTenant(f.ctx, f.sys, access.TenantInput{Name: &name, Country: &country,
		Contacts: &[]tansa.Contact{{Name: prefix + " CSIRT", Email: "csirt@" + prefix + ".example", Role: "security"}}})
	if err != nil {
		f.t.Fatalf("create tenant %s: %v", name, err)
	}
	x := &isoTenant{Tenant: t, secrets: map[string]string{}}
	x.Admin = f.mkUser(prefix+"-admin", prefix+" Admin Person", tansa.RoleTenantAdmin, t.ID, nil)
	x.Viewer = f.mkUser(prefix+"-viewer", prefix+" Viewer Person", tansa.RoleTenantViewer, t.ID, nil)
	x.Spare = f.mkUser(prefix+"-spare", prefix+" Spare Person", tansa.RoleTenantViewer, t.ID, nil)
	x.Login = f.mkUser(prefix+"-login", prefix+" Login Person", tansa.RoleTenantViewer, t.ID, nil)
	x.Analyst = f.mkUser(prefix+"-analyst", prefix+" Analyst Person", tansa.RoleProviderAnalyst, "", []string{t.ID})
	x.PAdmin = f.mkUser(prefix+"-padmin", prefix+" Provider Admin Person", tansa.RoleProviderAdmin, "", []string{t.ID})
	x.AdminToken = f.mkToken(x, prefix+" admin token", tansa.RoleTenantAdmin, t.ID, nil)
	x.ViewerToken = f.mkToken(x, prefix+" viewer token", tansa.RoleTenantViewer, t.ID, nil)
	x.IngestToken = f.mkToken(x, prefix+" ingest token", tansa.RoleIngest, t.ID, nil)
	x.AnalystToken = f.mkToken(x, prefix+" analyst token", tansa.RoleProviderAnalyst, "", []string{t.ID})
	x.PAdminToken = f.mkToken(x, prefix+" provider admin token", tansa.RoleProviderAdmin, "", []string{t.ID})
	x.SpareToken = f.mkToken(x, prefix+" spare token", tansa.RoleIngest, t.ID, nil)
	f.loginCookie(x.Login.Username) // so that the audit log has a login of x
	f.mkEvents(x, prefix)
	f.mkIntel(x, prefix)
	x.ScannerToken = f.mkToken(x, prefix+" scanner token", tansa.RoleScanner, t.ID, nil)
	f.mkFleet(x, prefix)
	f.mkCases(x, prefix)
	f.mkPlaybook(x, prefix)
	f.mkAlerts(x, prefix)
	return x
}

// mkFleet uploads one sweep of x's endpoint with x's scanner token, and
// starts a campaign.
func (f *isoFixture) mkFleet(x *isoTenant, prefix string) {
	f.t.Helper()
	x.Host, x.HostPath = prefix+"-pc-017", "/opt/"+prefix+"-agent/implant"
	c := access.Caller{Principal: access.Principal{Kind: "token", ID: x.ScannerToken.ID, Name: x.ScannerToken.Name,
		Role: tansa.RoleScanner, TenantID: x.Tenant.ID}}
	sw, err := f.fleet.Upload(f.ctx, c, fleet.UploadInput{Sealed: strings.NewReader(f.sealedSweep(x, x.Tenant.ID))})
	if err != nil {
		f.t.Fatalf("upload the sweep of %s: %v", prefix, err)
	}
	x.Sweep = sw
	if x.Asset, err = f.fleet.Asset(f.ctx, f.sys, sw.AssetID); err != nil {
		f.t.Fatal(err)
	}
	fs, _, err := f.fleet.Findings(f.ctx, f.sys, fleet.FindingQuery{SweepID: sw.ID, Page: access.Page{Limit: 1}})
	if err != nil || len(fs) != 1 {
		f.t.Fatalf("findings of %s: %d, %v", prefix, len(fs), err)
	}
	x.FindingKey = fs[0].Key
	if x.Campaign, err = f.fleet.CreateCampaign(f.ctx, f.sys, fleet.CampaignInput{Tenant: x.Tenant.ID, Name: prefix + " weekly sweep", Interval: "168h"}); err != nil {
		f.t.Fatal(err)
	}
}

// sealedSweep returns a new sealed result of x's endpoint whose package
// names tenant claim.
func (f *isoFixture) sealedSweep(x *isoTenant, claim string) string {
	f.t.Helper()
	now := time.Now().UTC()
	r := &result.Result{Schema: result.SchemaVersion, SweepID: fmt.Sprintf("%032x", rand.Uint64()), Scanner: "tansa-scan test",
		Started: now, Finished: now.Add(time.Second), Tenant: claim,
		Host:      result.Host{Hostname: x.Host, OS: "linux", Arch: "amd64", IPs: []string{"10.1.2.3"}},
		Processes: []result.Process{{PID: 4242, Name: "implant", Path: x.HostPath, SHA256: strings.Repeat("ab", 32)}},
		Findings: []result.Finding{result.NewFinding("heuristic.user_writable", 75, "k", "{path} runs from a folder users can write",
			map[string]string{"path": x.HostPath}, result.Subject{Kind: "process", PID: 4242, Path: x.HostPath})}}
	r.Normalize()
	doc, err := json.Marshal(r)
	if err != nil {
		f.t.Fatal(err)
	}
	sealed, err := scan.Seal(doc, f.keys.Identity.Recipient())
	if err != nil {
		f.t.Fatal(err)
	}
	return string(sealed)
}

// mkCases opens x's case from the phishing template, linked to an alert,
// with x's indicator IP as an observable and an evidence file naming x.
func (f *isoFixture) mkCases(x *isoTenant, prefix string) {
	f.t.Helper()
	x.AlertID = prefix + "-alert-1"
	c, err := f.cases.Create(f.ctx, f.sys, cases.CaseInput{TenantID: x.Tenant.ID, Title: prefix + " incident on " + strings.ToUpper(prefix) + "-PC",
		Type: "phishing", AlertIDs: []string{x.AlertID}, Observables: []cases.ObservableInput{{Value: x.IntelIP}}})
	if err != nil {
		f.t.Fatalf("case of %s: %v", prefix, err)
	}
	x.Case = c
	tasks, err := f.cases.Tasks(f.ctx, f.sys, c.ID)
	if err != nil || len(tasks) == 0 {
		f.t.Fatalf("tasks of %s: %v", prefix, err)
	}
	x.Task = tasks[0]
	obs, err := f.cases.Observables(f.ctx, f.sys, c.ID)
	if err != nil || len(obs) != 1 {
		f.t.Fatalf("observables of %s: %v", prefix, err)
	}
	x.Observable = obs[0].Observable
	if x.Evidence, err = f.cases.AddEvidence(f.ctx, f.sys, c.ID, cases.EvidenceInput{Name: prefix + "-mail.eml"},
		[]byte("Received: from mail.example\r\nSubject: invoice for "+x.Tenant.Name+"\r\n")); err != nil {
		f.t.Fatalf("evidence of %s: %v", prefix, err)
	}
	if _, err := f.cases.AddNote(f.ctx, f.sys, c.ID, "note about "+x.Tenant.Name); err != nil {
		f.t.Fatalf("note of %s: %v", prefix, err)
	}
}

// isoRuleFile is a one-rule Sigma file.
func isoRuleFile(title, id string) string {
	return "title: " + title + "\nid: " + id + "\nstatus: test\nlevel: high\nlogsource: {product: windows, category: process_creation}\n" +
		"detection: {sel: {Image|endswith: '\\matrix.exe'}, condition: sel}\n"
}

// isoRuleTitle is the title of x's own rule, which names x.
func isoRuleTitle(x *isoTenant) string { return x.Tenant.Name + " own rule" }

// isoRulesTotal is how many rules tenant a runs from.
func (f *isoFixture) isoRulesTotal(a *isoTenant, _ string) int {
	_, n, err := f.rules.Rules(f.ctx, f.sys, ruleset.RuleQuery{Tenant: a.Tenant.ID})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// mkAlerts raises one alert in x, on a host named after x, and adds one
// exception of x.
func (f *isoFixture) mkAlerts(x *isoTenant, prefix string) {
	f.t.Helper()
	a := tansa.Alert{TenantID: x.Tenant.ID, Kind: tansa.AlertSigma, RuleID: "iso-rule-1", RuleTitle: "Matrix rule", Level: "high",
		Host: prefix + "-dc01", User: x.Viewer.Username, GroupKey: prefix + "-dc01", EventIDs: []string{x.Event.ID}}
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{a}); err != nil {
		f.t.Fatalf("raise alert of %s: %v", prefix, err)
	}
	got, _, err := f.alerts.List(f.ctx, f.sys, alert.Query{Scope: access.Scope{Tenants: []string{x.Tenant.ID}}, Page: access.Page{Limit: 1}})
	if err != nil || len(got) != 1 {
		f.t.Fatalf("find alert of %s: %d, %v", prefix, len(got), err)
	}
	x.Alert = got[0]
	mk := func(reason string) alert.Exception {
		e, err := f.alerts.CreateException(f.ctx, f.sys, alert.ExceptionInput{TenantID: x.Tenant.ID, RuleID: "iso-rule-2",
			Reason: reason, Owner: x.Admin.Username})
		if err != nil {
			f.t.Fatalf("create exception of %s: %v", prefix, err)
		}
		return e
	}
	x.Exception = mk(prefix + " backup job")
	v, err := f.rules.Import(f.ctx, f.sys, []byte(isoRuleFile(isoRuleTitle(x), "iso-own-"+prefix)), ruleset.ImportInput{TenantID: x.Tenant.ID, Set: "own", Name: "own.yml"})
	if err != nil {
		f.t.Fatalf("import rules of %s: %v", prefix, err)
	}
	x.RuleVersion = v
	if prefix == "alpha" {
		x.SpareException = func() string { return mk(f.unique("spare")).ID }
	} else {
		x.SpareException = func() string { return x.Exception.ID }
	}
}

// isoGlobalIP is a global indicator, on every tenant's block list.
const isoGlobalIP = "45.155.205.99"

// isoGlobalCount is how many global indicators the fixture imports.
const isoGlobalCount = 2

// mkIntel imports x's own indicators, an IP and a domain, and an import
// log entry with them.
func (f *isoFixture) mkIntel(x *isoTenant, prefix string) {
	f.t.Helper()
	x.IntelIP, x.IntelDomain = "45.77.61.11", "alpha-c2.top"
	if prefix != "alpha" {
		x.IntelIP, x.IntelDomain = "185.220.101.77", prefix+"-c2.xyz"
	}
	_, err := f.intel.Import(f.ctx, f.sys, []byte(x.IntelIP+"\n"+x.IntelDomain+"\n"),
		intelsvc.ImportInput{Format: importer.FormatText, TenantID: x.Tenant.ID, Source: prefix + " feed"})
	if err != nil {
		f.t.Fatalf("import intel of %s: %v", prefix, err)
	}
	recs, _, err := f.intel.Indicators(f.ctx, f.sys, intelsvc.Query{Scope: access.Scope{Tenants: []string{x.Tenant.ID}}, Text: x.IntelIP, Page: access.Page{Limit: 1}})
	if err != nil || len(recs) != 1 {
		f.t.Fatalf("find intel of %s: %d, %v", prefix, len(recs), err)
	}
	x.Indicator = recs[0]
	// A retro-hunt of the indicator, finished, with x's first event as its
	// result.
	jobs, err := f.hunts.HuntIndicator(f.ctx, f.sys, x.Indicator.ID, "")
	if err != nil || len(jobs) != 1 {
		f.t.Fatalf("hunt intel of %s: %v, %v", prefix, jobs, err)
	}
	for f.hunts.RunOne(f.ctx) {
	}
	if err := f.db.AddHits(f.ctx, []retro.Hit{{HuntID: jobs[0].ID, IndicatorID: x.Indicator.ID, Value: x.IntelIP, Source: "events",
		Ref: x.Event.ID, Time: x.Event.Time}}); err != nil {
		f.t.Fatalf("hunt hit of %s: %v", prefix, err)
	}
	x.Hunt = jobs[0]
	// A feed source whose pulls fail at once (nothing listens on port 1).
	if x.Feed, err = f.feeds.Create(f.ctx, f.sys, feeds.Input{TenantID: &x.Tenant.ID, Name: isoPtr(prefix + " partner list"),
		Kind: isoPtr(feeds.KindURL), Source: isoPtr("http://127.0.0.1:1/" + prefix + "-list.txt"), Secret: isoPtr("feed-secret-" + prefix),
		Interval: isoPtr("1h")}); err != nil {
		f.t.Fatalf("feed of %s: %v", prefix, err)
	}
	f.mkSpareFeed(x)
}

// mkSpareFeed gives x a spare feed source to delete.
func (f *isoFixture) mkSpareFeed(x *isoTenant) {
	sp, err := f.feeds.Create(f.ctx, f.sys, feeds.Input{TenantID: &x.Tenant.ID, Name: isoPtr(f.unique("spare feed")),
		Kind: isoPtr(feeds.KindURL), Source: isoPtr("https://example.com/spare.txt"), Interval: isoPtr("1h")})
	if err != nil {
		f.t.Fatalf("spare feed: %v", err)
	}
	x.SpareFeed = sp
}

// feedTotal is how many feed sources tenant a has.
func (f *isoFixture) feedTotal(a *isoTenant, _ string) int {
	_, n, err := f.feeds.Feeds(f.ctx, f.sys, a.Tenant.ID, feeds.Query{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// huntTotal is how many hunts of tenant a the API query qs lists.
func (f *isoFixture) huntTotal(a *isoTenant, qs string) int {
	v, _ := url.ParseQuery(strings.TrimPrefix(qs, "?"))
	_, n, err := f.hunts.Hunts(f.ctx, f.sys, a.Tenant.ID, retro.Query{IndicatorID: v.Get("indicator")})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// isoEventIP is the address every event of tenant X mentions, so that an
// observable search for it must find X's events and only X's.
func isoEventIP(x *isoTenant) string {
	if strings.HasPrefix(x.Tenant.Name, "Alpha") {
		return "198.51.100.11"
	}
	return "203.0.113.77"
}

// mkEvents stores three events of x, each naming x's viewer and address.
func (f *isoFixture) mkEvents(x *isoTenant, prefix string) {
	f.t.Helper()
	var recs []events.Record
	for i := range 3 {
		ev := &tansa.Event{ID: fmt.Sprintf("%s-event-%d", prefix, i), TenantID: x.Tenant.ID, Time: time.Now().Add(-time.Duration(i) * time.Minute),
			Received: time.Now(), Source: "matrix", Format: "sshd",
			Raw:    []byte(fmt.Sprintf("Failed password for %s from %s port 22 ssh2 %s", x.Viewer.Username, isoEventIP(x), prefix)),
			Fields: map[string]any{"user.name": x.Viewer.Username, "source.ip": isoEventIP(x), "event.action": "login-failed"}}
		recs = append(recs, events.Record{Event: ev, Observables: normalize.Observables(ev)})
	}
	if err := f.evs.Put(f.ctx, recs); err != nil {
		f.t.Fatalf("store events of %s: %v", prefix, err)
	}
	x.Event = *recs[0].Event
}

// loginCookie opens a session for username through the service.
func (f *isoFixture) loginCookie(username string) string {
	f.t.Helper()
	cookie, _, err := f.svc.Login(f.ctx, username, isoPassword, "127.0.0.1")
	if err != nil {
		f.t.Fatalf("log in as %s: %v", username, err)
	}
	return cookie
}

// principals returns every kind of caller of tenant x: each role by API
// token and, for people, by session; and a provider analyst restricted to x.
func (f *isoFixture) principals(x *isoTenant) []*isoPrincipal {
	tokenP := func(name string, tok tansa.Token) *isoPrincipal {
		return &isoPrincipal{name: name, bearer: x.secrets[tok.ID],
			p: access.Principal{Kind: "token", ID: tok.ID, Name: tok.Name, Role: tok.Role, TenantID: tok.TenantID, Tenants: tok.Tenants}}
	}
	userP := func(name string, u tansa.User) *isoPrincipal {
		return &isoPrincipal{name: name, cookie: f.loginCookie(u.Username), login: u.Username,
			p: access.Principal{Kind: "user", ID: u.ID, Name: u.Username, Role: u.Role, TenantID: u.TenantID, Tenants: u.Tenants}}
	}
	return []*isoPrincipal{
		tokenP("tenant-admin/token", x.AdminToken),
		userP("tenant-admin/session", x.Admin),
		tokenP("tenant-viewer/token", x.ViewerToken),
		userP("tenant-viewer/session", x.Viewer),
		tokenP("ingest/token", x.IngestToken),
		tokenP("provider-analyst-restricted/token", x.AnalystToken),
		userP("provider-analyst-restricted/session", x.Analyst),
		tokenP("provider-admin-restricted/token", x.PAdminToken),
		userP("provider-admin-restricted/session", x.PAdmin),
		tokenP("scanner/token", x.ScannerToken),
	}
}

// isoResponse is what a request got.
type isoResponse struct {
	status int
	header http.Header
	body   string
}

var isoNoRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request as p (nil: anonymous). A body is sent as JSON to the
// API and as a form to console pages unless contentType says otherwise.
func (f *isoFixture) do(p *isoPrincipal, method, target, body, contentType string) isoResponse {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+target, rd)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, target, err)
	}
	if contentType == "" && body != "" {
		contentType = "application/json"
		if !isAPIPath(target) {
			contentType = "application/x-www-form-urlencoded"
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p != nil && p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	if p != nil && p.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: p.cookie})
	}
	res, err := isoNoRedirect.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return isoResponse{status: res.StatusCode, header: res.Header, body: string(b)}
}

// unique returns a fresh name for objects the matrix creates.
func (f *isoFixture) unique(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%d", prefix, f.seq)
}

// all lists every object of a kind as the system, for counting.
func (f *isoFixture) allUsers() []tansa.User {
	var all []tansa.User
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		us, total, err := f.svc.Users(f.ctx, f.sys, access.UserQuery{Page: p})
		if err != nil {
			f.t.Fatal(err)
		}
		all = append(all, us...)
		if p.Offset+p.Limit >= total {
			return all
		}
	}
}

func (f *isoFixture) allTokens() []tansa.Token {
	var all []tansa.Token
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		ts, total, err := f.svc.Tokens(f.ctx, f.sys, access.TokenQuery{Page: p})
		if err != nil {
			f.t.Fatal(err)
		}
		all = append(all, ts...)
		if p.Offset+p.Limit >= total {
			return all
		}
	}
}

func (f *isoFixture) allAudit() []tansa.AuditEntry {
	var all []tansa.AuditEntry
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		es, total, err := f.svc.Audit(f.ctx, f.sys, access.AuditQuery{Page: p})
		if err != nil {
			f.t.Fatal(err)
		}
		all = append(all, es...)
		if p.Offset+p.Limit >= total {
			return all
		}
	}
}

func (f *isoFixture) allTenants() []tansa.Tenant {
	ts, _, err := f.svc.Tenants(f.ctx, f.sys, access.TenantQuery{Page: access.Page{Limit: 500}})
	if err != nil {
		f.t.Fatal(err)
	}
	return ts
}

func isoCount[T any](items []T, keep func(T) bool) int {
	n := 0
	for _, it := range items {
		if keep(it) {
			n++
		}
	}
	return n
}

// snapshot is tenant x's stored state, for checking nothing changed it.
func (f *isoFixture) snapshot(x *isoTenant) string {
	t, err := f.svc.Tenant(f.ctx, f.sys, x.Tenant.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var us []tansa.User
	for _, u := range f.allUsers() {
		if u.TenantID == x.Tenant.ID || slices.Contains(u.Tenants, x.Tenant.ID) {
			us = append(us, u)
		}
	}
	var ts []tansa.Token
	for _, tok := range f.allTokens() {
		if tok.TenantID == x.Tenant.ID || slices.Contains(tok.Tenants, x.Tenant.ID) {
			ts = append(ts, tok)
		}
	}
	c, err := f.cases.Case(f.ctx, f.sys, x.Case.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	_, timeline, err := f.cases.Timeline(f.ctx, f.sys, x.Case.ID, access.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := json.Marshal(struct {
		T        tansa.Tenant
		U        []tansa.User
		Tk       []tansa.Token
		C        cases.Case
		Timeline int
	}{t, us, ts, c, timeline})
	return string(b)
}

// ---- the matrix

// isoRule says how the matrix exercises one route. Requests for tenant X
// (A for the positive control, B for the wall) are built from it.
type isoRule struct {
	// id names which of X's objects fills {id}: "tenant", "user", "token",
	// "event" or "indicator". Empty for routes without {id}.
	id string
	// queries are appended to the path, one request each; nil means one
	// request without a query.
	queries func(f *isoFixture, x *isoTenant) []string
	// body is the request body naming X's objects.
	body func(f *isoFixture, x *isoTenant) string
	// cross, when set, gives bodies that name B, or reach beyond A, while
	// the path names A's own object (or none): moving something of A into
	// B, granting a credential for B. Always refused.
	cross func(f *isoFixture, b *isoTenant) []string
	// ok narrows which permitted principals succeed on their own tenant,
	// beyond the route's permission (nil: all of them).
	ok func(p *isoPrincipal) bool
	// total, for JSON lists, is how many items p may see of its own tenant.
	total func(f *isoFixture, a *isoTenant, qs string) int
	// mustShow is text that a successful answer about X must contain.
	mustShow func(x *isoTenant, p *isoPrincipal) string
	// refuseB: a request naming B must be refused even though the path has
	// no {id} (creating something in B).
	refuseB bool
	// freshSession: the route ends the caller's session, so it gets one of
	// its own.
	freshSession bool
	// endsOK: success may redirect to the login page (logging out).
	endsOK bool
}

func isoTenantQuery(extra ...string) func(*isoFixture, *isoTenant) []string {
	return func(f *isoFixture, x *isoTenant) []string {
		return append([]string{"?tenant=" + x.Tenant.ID}, extra...)
	}
}

func isoJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func isoForm(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func isoIsUser(p *isoPrincipal) bool     { return p.p.Kind == "user" }
func isoIsProvider(p *isoPrincipal) bool { return p.p.Role.Provider() }
func isoShowTenantID(x *isoTenant, _ *isoPrincipal) string {
	return x.Tenant.ID
}
func isoShowTenantName(x *isoTenant, _ *isoPrincipal) string { return x.Tenant.Name }

// isolationRules holds a rule for every route, keyed "METHOD path". A new
// route needs a rule here (console pages of a known shape get one inferred);
// TestIsolationMatrixCoversEveryRoute fails until it has one.
var isolationRules = map[string]isoRule{
	// Operations and public pages: nothing of any tenant may show.
	"GET /healthz":             {queries: isoTenantQuery()},
	"GET /metrics":             {queries: isoTenantQuery()},
	"GET /api/v1/openapi.json": {queries: isoTenantQuery()},
	"GET /static/{file...}":    {queries: isoTenantQuery()},
	"GET /login":               {queries: isoTenantQuery()},
	// A wrong password for one of X's users; on its own tenant a right one.
	"POST /login": {body: func(f *isoFixture, x *isoTenant) string {
		if x == f.A {
			return isoForm("username", x.Login.Username, "password", isoPassword)
		}
		return isoForm("username", x.Login.Username, "password", "not-the-password-1")
	}, ok: func(p *isoPrincipal) bool { return true }},
	"POST /logout": {queries: isoTenantQuery(), freshSession: true, endsOK: true},
	"GET /{$}":     {queries: isoTenantQuery(), mustShow: isoShowTenantName},

	// The caller.
	"GET /api/v1/me": {queries: isoTenantQuery(), mustShow: func(_ *isoTenant, p *isoPrincipal) string { return p.p.ID }},
	"PATCH /api/v1/me": {body: func(f *isoFixture, x *isoTenant) string { return isoJSON(map[string]string{"language": "en"}) },
		ok: isoIsUser},
	// A wrong current password: the route must answer without changing
	// anything, for every caller.
	"POST /api/v1/me/password": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"current": "not-the-password-1", "password": "a-new-password-123"})
	}, ok: func(*isoPrincipal) bool { return false }},

	// Tenants.
	"GET /api/v1/tenants": {queries: func(f *isoFixture, x *isoTenant) []string {
		if x == f.B {
			return []string{"?q=zq7", "?q=" + url.QueryEscape(x.Tenant.Name)}
		}
		return []string{""}
	}, total: func(*isoFixture, *isoTenant, string) int { return 1 }, mustShow: isoShowTenantID},
	"POST /api/v1/tenants": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"name": x.Tenant.Name + " copy"})
	}, refuseB: true, ok: func(p *isoPrincipal) bool { return p.p.AllTenants() }},
	"GET /api/v1/tenants/{id}": {id: "tenant", mustShow: isoShowTenantID},
	"PATCH /api/v1/tenants/{id}": {id: "tenant", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"country": "US"})
	}},

	// Users.
	"GET /api/v1/users": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?role=tenant-viewer&tenant=" + x.Tenant.ID}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?q="+url.QueryEscape(x.Viewer.Username))
		}
		return qs
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		v, _ := url.ParseQuery(strings.TrimPrefix(qs, "?"))
		return isoCount(f.allUsers(), func(u tansa.User) bool {
			return u.TenantID == a.Tenant.ID && (v.Get("role") == "" || string(u.Role) == v.Get("role"))
		})
	}, mustShow: isoShowTenantID},
	"POST /api/v1/users": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"username": f.unique("made-by-a"), "role": "tenant-viewer", "tenant_id": x.Tenant.ID, "password": isoPassword})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{
			isoJSON(map[string]any{"username": f.unique("made-by-a"), "role": "provider-analyst", "tenants": []string{b.Tenant.ID}, "password": isoPassword}),
			isoJSON(map[string]any{"username": f.unique("made-by-a"), "role": "provider-admin", "tenants": []string{f.A.Tenant.ID, b.Tenant.ID}, "password": isoPassword}),
			// No tenants: every tenant, B included.
			isoJSON(map[string]any{"username": f.unique("made-by-a"), "role": "provider-admin", "password": isoPassword}),
		}
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/users/{id}": {id: "user", mustShow: isoShowTenantID},
	"PATCH /api/v1/users/{id}": {id: "user", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"name": "Renamed Person"})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{
			isoJSON(map[string]any{"tenant_id": b.Tenant.ID}),
			isoJSON(map[string]any{"role": "provider-analyst", "tenant_id": "", "tenants": []string{b.Tenant.ID}}),
			isoJSON(map[string]any{"role": "provider-admin", "tenant_id": ""}),
		}
	}, mustShow: isoShowTenantID},
	"POST /api/v1/users/{id}/password": {id: "user", body: func(f *isoFixture, x *isoTenant) string { return "{}" }},

	// Tokens.
	"GET /api/v1/tokens": {queries: isoTenantQuery(), total: func(f *isoFixture, a *isoTenant, _ string) int {
		return isoCount(f.allTokens(), func(t tansa.Token) bool { return t.TenantID == a.Tenant.ID })
	}, mustShow: isoShowTenantID},
	"POST /api/v1/tokens": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"name": f.unique("made by a"), "role": "ingest", "tenant_id": x.Tenant.ID})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{
			isoJSON(map[string]any{"name": f.unique("made by a"), "role": "provider-analyst", "tenants": []string{b.Tenant.ID}}),
			isoJSON(map[string]any{"name": f.unique("made by a"), "role": "provider-analyst"}),
			isoJSON(map[string]any{"name": f.unique("made by a"), "role": "provider-admin"}),
		}
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/tokens/{id}":    {id: "token", mustShow: isoShowTenantID},
	"DELETE /api/v1/tokens/{id}": {id: "token", mustShow: isoShowTenantID},

	// Threat intelligence: A's own indicators and the global ones, never B's.
	"POST /api/v1/intel/import": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?format=text&source=matrix&tenant=" + x.Tenant.ID}
	}, body: func(f *isoFixture, x *isoTenant) string { return x.IntelIP + "\n" },
		refuseB: true, mustShow: func(*isoTenant, *isoPrincipal) string { return `"updated":1` }},
	"GET /api/v1/intel/indicators": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + x.IntelIP, "?type=domain&q=" + x.IntelDomain}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		if strings.Contains(qs, "q=") {
			return 1
		}
		return 2 + isoGlobalCount
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Tenant.ID }},
	"GET /api/v1/intel/indicators/{id}": {id: "indicator", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.IntelIP }},
	"GET /api/v1/intel/imports": {queries: isoTenantQuery(), total: func(f *isoFixture, a *isoTenant, _ string) int {
		_, n, err := f.intel.Imports(f.ctx, f.sys, intelsvc.ImportQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}})
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}, mustShow: isoShowTenantID},
	"GET /api/v1/intel/feeds/edl/{kind}": {queries: isoTenantQuery(), refuseB: true,
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.IntelIP + "\n" }},
	"GET /api/v1/intel/feeds/rpz": {queries: isoTenantQuery(), refuseB: true,
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.IntelDomain + " CNAME ." }},
	// Threat intelligence at work (issue #5): retro-hunts of A's tenant
	// only; a hunt, its results and the settings of B look like none.
	"GET /api/v1/intel/hunts": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?indicator=" + x.Indicator.ID}
	}, total: (*isoFixture).huntTotal, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Hunt.ID }},
	"GET /api/v1/intel/hunts/{id}": {id: "hunt", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"POST /api/v1/intel/indicators/{id}/hunt": {id: "indicator", body: func(*isoFixture, *isoTenant) string { return "{}" },
		mustShow: isoShowTenantID},
	"GET /api/v1/intel/indicators/{id}/hits": {id: "indicator", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"GET /api/v1/intel/settings":             {queries: isoTenantQuery(), refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/intel/export/{format}":      {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.IntelIP }},
	// Feed sources: A's, never B's; the secret never shows at all.
	"GET /api/v1/intel/sources": {queries: isoTenantQuery(), total: (*isoFixture).feedTotal,
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Feed.ID }},
	"POST /api/v1/intel/sources": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"tenant_id": x.Tenant.ID, "name": f.unique("matrix feed"), "kind": "url",
			"source": "https://example.com/matrix.txt", "interval": "6h"})
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/intel/sources/{id}": {id: "feed", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Feed.Source }},
	"PATCH /api/v1/intel/sources/{id}": {id: "feed", body: func(*isoFixture, *isoTenant) string { return `{"interval":"2h"}` },
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Feed.ID }},
	"DELETE /api/v1/intel/sources/{id}": {id: "spare-feed", queries: func(f *isoFixture, x *isoTenant) []string {
		if x == f.A {
			f.mkSpareFeed(x)
		}
		return []string{""}
	}},
	"POST /api/v1/intel/sources/{id}/pull": {id: "feed", body: func(*isoFixture, *isoTenant) string { return "{}" },
		mustShow: func(*isoTenant, *isoPrincipal) string { return `"last_status":"error"` }},
	// TAXII 2.1: A's collection only; B's looks like none.
	"GET /taxii2/{$}":                      {queries: isoTenantQuery(), mustShow: func(*isoTenant, *isoPrincipal) string { return "/taxii2/api/" }},
	"GET /taxii2/api/{$}":                  {queries: isoTenantQuery(), mustShow: func(*isoTenant, *isoPrincipal) string { return "taxii+json" }},
	"GET /taxii2/api/collections/{$}":      {queries: isoTenantQuery(), mustShow: isoShowTenantID},
	"GET /taxii2/api/collections/{id}/{$}": {id: "tenant", mustShow: isoShowTenantName},
	"GET /taxii2/api/collections/{id}/objects/{$}": {id: "tenant", queries: func(*isoFixture, *isoTenant) []string {
		return []string{"", "?limit=1", "?added_after=2000-01-01T00:00:00Z"}
	}, mustShow: func(*isoTenant, *isoPrincipal) string { return "indicator--" }},
	"GET /taxii2/api/collections/{id}/manifest/{$}": {id: "tenant", mustShow: func(*isoTenant, *isoPrincipal) string { return "indicator--" }},
	// Console: threat intelligence (issue #5).
	"GET /intel": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?q=" + x.IntelIP}
	},
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.IntelIP }},
	"GET /intel/indicators/{id}":       {id: "indicator", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"POST /intel/indicators/{id}/hunt": {id: "indicator", body: func(*isoFixture, *isoTenant) string { return isoForm("go", "1") }},
	"GET /intel/import": {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string {
		return strings.ToLower(strings.Fields(x.Tenant.Name)[0]) + " feed"
	}},
	"POST /intel/import": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("text", x.IntelIP, "format", "text", "tenant", x.Tenant.ID)
	}, refuseB: true, mustShow: func(*isoTenant, *isoPrincipal) string { return `id="import-report"` }},
	"GET /intel/feeds": {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Feed.Source }},
	"POST /intel/feeds": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("name", f.unique("page feed"), "kind", "url", "source", "https://example.com/page.txt", "interval", "6h", "tenant_id", x.Tenant.ID)
	}, refuseB: true},
	"POST /intel/feeds/{id}": {id: "feed", body: func(*isoFixture, *isoTenant) string { return isoForm("action", "pull") }},
	"GET /intel/hunts":       {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Hunt.ID }},
	"GET /intel/hunts/{id}":  {id: "hunt", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"PUT /api/v1/intel/settings": {queries: isoTenantQuery(), body: func(*isoFixture, *isoTenant) string { return `{"retro_hunt_days":30}` },
		refuseB: true, mustShow: isoShowTenantID},

	// Endpoint sweeps: A's endpoints, sweeps, findings and campaigns, never
	// B's; a scanner token uploads into A only, whatever its result claims.
	"POST /api/v1/sweeps": {body: func(f *isoFixture, x *isoTenant) string { return f.sealedSweep(f.A, x.Tenant.ID) },
		refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"GET /api/v1/fleet/key": {queries: isoTenantQuery(), mustShow: func(*isoTenant, *isoPrincipal) string { return `"recipient":"age1` }},
	"POST /api/v1/fleet/upload": {queries: isoTenantQuery(), body: func(f *isoFixture, x *isoTenant) string { return f.sealedSweep(x, x.Tenant.ID) },
		refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"GET /api/v1/fleet/assets": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + x.Host, "?swept=recent&days=30&tenant=" + x.Tenant.ID}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?artifact="+isoArtifactID(f, x))
		}
		return qs
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		if strings.Contains(qs, "q=") {
			return 1
		}
		_, n, err := f.fleet.Assets(f.ctx, f.sys, fleet.AssetQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}, Swept: map[bool]string{true: "recent"}[strings.Contains(qs, "swept")], Since: time.Now().AddDate(0, 0, -30)})
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"POST /api/v1/fleet/assets": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "hostnames": []string{f.unique("expected-pc")}})
	}, refuseB: true, mustShow: func(*isoTenant, *isoPrincipal) string { return `"added":1` }},
	"GET /api/v1/fleet/assets/{id}": {id: "asset", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"GET /api/v1/fleet/sweeps": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?asset=" + x.Asset.ID, "?campaign=" + x.Campaign.ID}
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		q := fleet.SweepQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}}
		if strings.Contains(qs, "campaign=") {
			q.Campaign = a.Campaign.ID
		}
		_, n, err := f.fleet.Sweeps(f.ctx, f.sys, q)
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}},
	"GET /api/v1/fleet/sweeps/{id}": {id: "sweep", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.HostPath }},
	"GET /api/v1/fleet/findings": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?sweep=" + x.Sweep.ID, "?asset=" + x.Asset.ID + "&min_score=50"}
	}, total: func(f *isoFixture, a *isoTenant, qs string) int { return 1 }, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.HostPath }},
	"GET /api/v1/fleet/coverage": {queries: isoTenantQuery("?days=30")},
	"GET /api/v1/fleet/prevalence": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?kind=process&tenant=" + x.Tenant.ID, "?q=" + url.QueryEscape(x.HostPath)}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?q=bravo")
		}
		return qs
	}, total: func(f *isoFixture, a *isoTenant, qs string) int { return 1 }, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.HostPath }},
	"GET /api/v1/fleet/diff": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?from=" + x.Sweep.ID + "&to=" + x.Sweep.ID}
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Sweep.ID }},
	"POST /api/v1/fleet/reviews": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "key": x.FindingKey, "comment": "matrix comment"})
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return "matrix comment" }},
	"GET /api/v1/fleet/reviews": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID + "&key=" + url.QueryEscape(x.FindingKey)}
	}, refuseB: true},
	"GET /api/v1/fleet/exceptions": {queries: isoTenantQuery(), refuseB: true},
	"GET /api/v1/fleet/campaigns": {queries: isoTenantQuery(), total: func(f *isoFixture, a *isoTenant, _ string) int {
		_, n, err := f.fleet.Campaigns(f.ctx, f.sys, access.Scope{Tenants: []string{a.Tenant.ID}}, access.Page{})
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}, mustShow: isoShowTenantID},
	"POST /api/v1/fleet/campaigns": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "name": f.unique("matrix campaign")})
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/fleet/campaigns/{id}": {id: "campaign", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Campaign.Name }},
	"GET /api/v1/fleet/platforms":      {queries: isoTenantQuery(), mustShow: func(*isoTenant, *isoPrincipal) string { return "linux-amd64" }},
	// Building a package creates an enrolment token, so it needs
	// token.write as well.
	"POST /api/v1/fleet/packages": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "platform": "linux-amd64"})
	}, refuseB: true, ok: func(p *isoPrincipal) bool { return p.p.Can(access.PermTokenWrite) },
		mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Tenant.ID }},
	"GET /endpoints": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + x.Host}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?artifact="+isoArtifactID(f, x))
		}
		return qs
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"GET /endpoints/{id}": {id: "asset", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.HostPath }},
	"GET /endpoints/diff": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?from=" + x.Sweep.ID + "&to=" + x.Sweep.ID}
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Host }},
	"GET /endpoints/prevalence": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?kind=process&tenant=" + x.Tenant.ID, "?kind=hash&q=abab"}
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return "prevalence" }},
	"GET /endpoints/packages": {queries: isoTenantQuery(), mustShow: func(*isoTenant, *isoPrincipal) string { return "linux-amd64" }},
	// The upload page takes a multipart file; the matrix's form has none,
	// so every caller is refused, and nothing of B may show.
	"POST /endpoints/upload": {body: func(f *isoFixture, x *isoTenant) string { return isoForm("tenant_id", x.Tenant.ID) },
		refuseB: true, ok: func(*isoPrincipal) bool { return false }},
	"POST /endpoints/review": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "key", x.FindingKey, "comment", "page comment", "next", "/endpoints/"+x.Asset.ID)
	}, refuseB: true},
	"POST /endpoints/campaigns": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "name", f.unique("page campaign"), "interval", "")
	}, refuseB: true},

	// Cases: A's own case and its parts, never B's; writes name A's
	// objects and must leave B's case as it was.
	"GET /api/v1/cases": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + url.QueryEscape(strings.ToUpper(strings.Fields(x.Case.Title)[0])), "?alert=" + x.AlertID,
			"?state=open&sort=-severity&tenant=" + x.Tenant.ID}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, total: (*isoFixture).caseTotal, mustShow: isoShowTenantID},
	"POST /api/v1/cases": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "title": "matrix case", "type": "malware", "observables": []map[string]string{{"value": x.IntelDomain}}})
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/cases/{id}": {id: "case", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.Title }},
	"PATCH /api/v1/cases/{id}": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"description": f.unique("matrix description")})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"POST /api/v1/cases/{id}/alerts": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string][]string{"alert_ids": {f.unique("matrix-alert")}})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.AlertID }},
	"POST /api/v1/cases/{id}/tasks": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"title": "matrix task"})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"POST /api/v1/cases/{id}/notes": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"body": "matrix note"})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"POST /api/v1/cases/{id}/observables": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"observables": []map[string]string{{"value": f.unique("matrix") + ".example"}}})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"POST /api/v1/cases/{id}/evidence": {id: "case", queries: func(*isoFixture, *isoTenant) []string { return []string{"?name=matrix.txt"} },
		body: func(f *isoFixture, x *isoTenant) string { return "matrix evidence" }, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"GET /api/v1/cases/{id}/timeline": {id: "case", mustShow: func(*isoTenant, *isoPrincipal) string { return "case.create" }},
	"PATCH /api/v1/case-tasks/{id}": {id: "task", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"status": "in-progress"})
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Task.ID }},
	"POST /api/v1/case-observables/{id}/retro-hunt": {id: "observable", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.ID }},
	"GET /api/v1/case-evidence/{id}":                {id: "evidence", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Evidence.SHA256 }},
	"GET /api/v1/case-evidence/{id}/content":        {id: "evidence", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Tenant.Name }},
	"GET /api/v1/case-templates": {queries: isoTenantQuery(), refuseB: true,
		mustShow: func(*isoTenant, *isoPrincipal) string { return "account-compromise" }},
	"PUT /api/v1/case-templates": {queries: isoTenantQuery(), body: func(*isoFixture, *isoTenant) string {
		return "type: matrix\nseverity: low\nname: {en: Matrix, ja: マトリクス}\n"
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Tenant.ID }},
	// Nothing of A's to delete: every caller is refused, B's tenant alike.
	"DELETE /api/v1/case-templates": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?type=never-stored&tenant=" + x.Tenant.ID}
	}, refuseB: true,
		ok: func(*isoPrincipal) bool { return false }},
	"GET /api/v1/case-sla": {queries: isoTenantQuery(), refuseB: true, mustShow: func(*isoTenant, *isoPrincipal) string { return "critical" }},
	"PUT /api/v1/case-sla": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "targets": []map[string]any{{"severity": "low", "acknowledge_minutes": 600, "close_minutes": 43200}}})
	}, refuseB: true, mustShow: func(*isoTenant, *isoPrincipal) string { return "43200" }},
	"GET /api/v1/case-metrics": {queries: isoTenantQuery(), refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/case-tracker": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?format=csv&tenant=" + x.Tenant.ID, "?kind=case&q=" + url.QueryEscape(x.Case.Title)}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?format=csv&q=zq7")
		}
		return qs
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.Title }},
	"GET /cases": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + url.QueryEscape(x.Case.Title)}
		if x == f.B {
			qs = append(qs, "?q=zq7", "?state=&q=bravo")
		}
		return qs
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.Title }},
	"POST /cases": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "title", "matrix page case", "type", "phishing")
	}, refuseB: true},
	"GET /cases/{id}": {id: "case", queries: func(*isoFixture, *isoTenant) []string {
		return []string{"", "?tab=alerts", "?tab=tasks", "?tab=observables", "?tab=evidence", "?tab=timeline"}
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.Title }},
	"POST /cases/{id}": {id: "case", body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("description", f.unique("matrix page description"))
	}},
	"POST /cases/{id}/notes":       {id: "case", body: func(*isoFixture, *isoTenant) string { return isoForm("body", "matrix page note") }},
	"POST /cases/{id}/tasks":       {id: "case", body: func(*isoFixture, *isoTenant) string { return isoForm("title", "matrix page task", "due", "2026-12-24") }},
	"POST /cases/{id}/observables": {id: "case", body: func(f *isoFixture, _ *isoTenant) string { return isoForm("values", f.unique("page")+".example") }},
	// The matrix sends forms, not multipart uploads: every caller is
	// refused (400 for A's case, 404 for B's).
	"POST /cases/{id}/evidence": {id: "case", body: func(*isoFixture, *isoTenant) string { return isoForm("description", "no file") },
		ok: func(*isoPrincipal) bool { return false }},
	"POST /case-tasks/{id}":                  {id: "task", body: func(*isoFixture, *isoTenant) string { return isoForm("status", "done") }},
	"POST /case-observables/{id}/retro-hunt": {id: "observable"},
	"GET /case-templates": {queries: isoTenantQuery(), refuseB: true,
		mustShow: func(*isoTenant, *isoPrincipal) string { return "account-compromise" }},
	"POST /case-templates": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant", x.Tenant.ID, "yaml", "type: matrix-page\nseverity: low\nname: {en: Matrix, ja: マトリクス}\n")
	}, refuseB: true},
	"GET /tracker": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?q=" + url.QueryEscape(x.Case.Title)}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Case.Title }},

	// Alerts and exceptions (alerts engineer): A's own, never B's.
	"GET /api/v1/alerts": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?host=" + x.Alert.Host, "?rule=iso-rule-1&status=new,acknowledged&tenant=" + x.Tenant.ID, "?user=" + x.Viewer.Username}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, total: func(*isoFixture, *isoTenant, string) int { return 1 }, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Alert.ID }},
	"GET /api/v1/alerts/stream": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?timeout=20ms&tenant=" + x.Tenant.ID}
	}},
	"POST /api/v1/alerts/triage": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"action": "acknowledge", "ids": []string{x.Alert.ID}})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{isoJSON(map[string]any{"action": "close", "reason": "benign", "ids": []string{f.A.Alert.ID, b.Alert.ID}}),
			isoJSON(map[string]any{"action": "assign", "assignee": b.Admin.ID, "ids": []string{f.A.Alert.ID}})}
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Alert.ID }},
	"GET /api/v1/alerts/{id}": {id: "alert", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Alert.Host }},
	"GET /api/v1/exceptions": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?rule=iso-rule-2&tenant=" + x.Tenant.ID}
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		q := alert.ExceptionQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}}
		if strings.Contains(qs, "rule=") {
			q.RuleID = "iso-rule-2"
		}
		_, n, err := f.alerts.Exceptions(f.ctx, f.sys, q)
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}, mustShow: isoShowTenantID},
	"POST /api/v1/exceptions": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "rule_id": "iso-rule-3", "reason": "matrix", "owner": "matrix"})
	}, refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/exceptions/{id}": {id: "exception", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Exception.Reason }},
	"PATCH /api/v1/exceptions/{id}": {id: "exception", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"rule_id": "iso-rule-2", "reason": x.Exception.Reason, "owner": "matrix"})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{isoJSON(map[string]any{"tenant_id": b.Tenant.ID, "rule_id": "iso-rule-2", "reason": "moved", "owner": "matrix"})}
	}, mustShow: isoShowTenantID},
	"DELETE /api/v1/exceptions/{id}": {id: "spare-exception", mustShow: isoShowTenantID},
	"GET /api/v1/rules": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?q=own&tenant=" + x.Tenant.ID}
	}, total: func(f *isoFixture, a *isoTenant, qs string) int {
		if strings.Contains(qs, "q=own") {
			return 1
		}
		return f.isoRulesTotal(a, qs)
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return isoRuleTitle(x) }},
	"POST /api/v1/rules/import": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?set=matrix&name=m.yml&tenant=" + x.Tenant.ID}
	}, body: func(f *isoFixture, x *isoTenant) string { return isoRuleFile("Imported by the matrix", "iso-matrix-1") },
		refuseB: true, mustShow: isoShowTenantID},
	"GET /api/v1/rules/versions": {queries: isoTenantQuery(), total: func(f *isoFixture, a *isoTenant, _ string) int {
		_, n, err := f.rules.Versions(f.ctx, f.sys, ruleset.VersionQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}})
		if err != nil {
			f.t.Fatal(err)
		}
		return n
	}, mustShow: isoShowTenantID},
	"GET /api/v1/rules/versions/{id}": {id: "rule-version", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.RuleVersion.ID }},
	"POST /api/v1/rules/versions/{id}/activate": {id: "rule-version", body: func(*isoFixture, *isoTenant) string { return "{}" },
		mustShow: isoShowTenantID},
	"GET /api/v1/rules/settings": {queries: isoTenantQuery(), refuseB: true, mustShow: isoShowTenantID},
	"PUT /api/v1/rules/settings": {queries: isoTenantQuery(), body: func(*isoFixture, *isoTenant) string {
		return `{"min_level":"medium","statuses":["stable","test"]}`
	}, refuseB: true, mustShow: isoShowTenantID},
	"POST /api/v1/rules/switch": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "rule_ids": []string{"iso-own-alpha"}, "enabled": true})
	}, refuseB: true, mustShow: isoShowTenantID},

	// Console: detection (alerts engineer).
	"GET /alerts": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?status=all&host=" + x.Alert.Host + "&tenant=" + x.Tenant.ID}
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Alert.Host }},
	"POST /alerts/triage": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("id", x.Alert.ID, "action", "acknowledge", "next", "/alerts")
	}, refuseB: true},
	"GET /alerts/{id}": {id: "alert", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Alert.Host }},
	"GET /rules":       {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return isoRuleTitle(x) }},
	"POST /rules/switch": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant", x.Tenant.ID, "rule_id", "iso-own-alpha", "enabled", "true", "next", "/rules")
	}, refuseB: true},
	"GET /exceptions": {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Exception.Reason }},
	"POST /exceptions": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "rule_id", "iso-rule-4", "reason", "matrix page", "owner", "matrix", "days", "30")
	}, refuseB: true},
	"POST /exceptions/{id}/delete": {id: "spare-exception"},

	// Audit.
	"GET /api/v1/audit": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?object=" + x.Viewer.ID, "?actor=" + url.QueryEscape("user:"+x.Login.Username),
			"?action=user.&tenant=" + x.Tenant.ID}
	}, total: (*isoFixture).auditTotal, mustShow: isoShowTenantID},

	// Inputs: an ingest token writes into its own tenant, whatever the
	// body names; everyone else is refused.
	"POST /services/collector":           isoHEC,
	"POST /services/collector/event":     isoHEC,
	"POST /services/collector/event/1.0": isoHEC,
	"POST /services/collector/raw":       isoHECRaw,
	"POST /services/collector/raw/1.0":   isoHECRaw,
	"POST /services/collector/ack":       {body: func(*isoFixture, *isoTenant) string { return `{"acks":[1]}` }},
	"GET /services/collector/health":     {queries: isoTenantQuery()},
	"GET /es/{$}":                        {queries: isoTenantQuery()},
	"HEAD /es/{$}":                       {queries: isoTenantQuery()},
	"GET /es/_license":                   {queries: isoTenantQuery()},
	"PUT /es/_index_template/{name}":     {body: func(*isoFixture, *isoTenant) string { return `{"index_patterns":["logs-*"]}` }},
	"PUT /es/_ilm/policy/{name}":         {body: func(*isoFixture, *isoTenant) string { return `{"policy":{}}` }},
	"POST /es/_bulk":                     isoBulk,
	"POST /es/{index}/_bulk":             isoBulk,

	// Events.
	"GET /api/v1/events": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID, "?observable=" + isoEventIP(x), "?q=" + url.QueryEscape(x.Viewer.Username), "?exact_total=true&tenant=" + x.Tenant.ID,
			"?f.user.name=" + url.QueryEscape(x.Viewer.Username)}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, total: func(*isoFixture, *isoTenant, string) int { return 3 }, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"GET /api/v1/events/{id}":      {id: "event", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"GET /api/v1/events/histogram": {queries: isoEventQueries},
	"GET /api/v1/events/top":       {queries: isoTopQuery, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return isoEventIP(x) }},
	"GET /api/v1/events/export":    {queries: isoExportQuery, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return isoEventIP(x) }},
	"GET /events":                  {queries: isoEventQueries, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Event.ID }},
	"GET /events/{id}":             {id: "event", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return isoEventIP(x) }},

	// Response playbooks (issue #7): A's playbook, run and connector; B's
	// never show, B's secret never even to B.
	"GET /api/v1/playbooks": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, total: func(f *isoFixture, a *isoTenant, _ string) int {
		_, n, _ := f.pbs.Playbooks(f.ctx, f.sys, playbook.PlaybookQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}})
		return n
	}, mustShow: isoShowTenantID},
	"POST /api/v1/playbooks": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "source": isoPlaybookSource(f.unique("made by a"))})
	}, refuseB: true, mustShow: isoShowTenantID},
	"POST /api/v1/playbooks/check": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"source": isoPlaybookSource("checked")})
	}, mustShow: func(*isoTenant, *isoPrincipal) string { return `"passed":true` }},
	"GET /api/v1/playbooks/{id}": {id: "playbook", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Playbook.ID }},
	"PUT /api/v1/playbooks/{id}": {id: "playbook", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"enabled": true})
	}, cross: func(f *isoFixture, b *isoTenant) []string {
		return []string{isoJSON(map[string]any{"tenant_id": b.Tenant.ID})}
	}, mustShow: isoShowTenantID},
	"POST /api/v1/playbooks/{id}/runs": {id: "playbook", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"dry_run": true, "alert": map[string]any{"level": "critical"}})
	}, mustShow: isoShowTenantID},
	"GET /api/v1/playbook-runs":      {queries: isoTenantQuery(), total: (*isoFixture).runTotal, mustShow: isoShowTenantID},
	"GET /api/v1/playbook-runs/{id}": {id: "run", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Run.ID }},
	// No step "nope": refused for everyone, and B's run must look missing.
	"POST /api/v1/playbook-runs/{id}/decide": {id: "run", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"step": "nope", "decision": "approve"})
	}, ok: func(*isoPrincipal) bool { return false }},
	"POST /api/v1/playbook-runs/{id}/revert": {id: "run", body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]string{"step": "nope"})
	}, ok: func(*isoPrincipal) bool { return false }},
	"GET /api/v1/connectors": {queries: isoTenantQuery(), total: func(*isoFixture, *isoTenant, string) int { return 1 }, mustShow: isoShowTenantID},
	"PUT /api/v1/connectors": {body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"tenant_id": x.Tenant.ID, "name": "edr", "kind": "slack"})
	}, refuseB: true, mustShow: isoShowTenantID},
	// {name} is "tansa", which no tenant has: refused everywhere.
	"DELETE /api/v1/connectors/{name}": {queries: isoTenantQuery(), refuseB: true, ok: func(*isoPrincipal) bool { return false }},
	"GET /api/v1/blocklist":            {queries: isoTenantQuery(), refuseB: true, total: func(*isoFixture, *isoTenant, string) int { return 0 }},
	"GET /playbooks":                   {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Playbook.Name }},
	"POST /playbooks": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "source", isoPlaybookSource(f.unique("page made by a")))
	}, refuseB: true},
	"GET /playbooks/{id}": {id: "playbook", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Playbook.Name }},
	"POST /playbooks/{id}": {id: "playbook", body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("source", x.Playbook.Source, "enabled", "on")
	}},
	"POST /playbooks/{id}/runs": {id: "playbook", body: func(f *isoFixture, x *isoTenant) string { return isoForm("dry_run", "on") }},
	"GET /playbook-runs":        {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Playbook.Name }},
	"GET /playbook-runs/{id}":   {id: "run", mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Playbook.Name }},
	"POST /playbook-runs/{id}/decide": {id: "run", body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("step", "nope", "decision", "approve")
	}, ok: func(*isoPrincipal) bool { return false }},
	"POST /playbook-runs/{id}/revert": {id: "run", body: func(f *isoFixture, x *isoTenant) string { return isoForm("step", "nope") },
		ok: func(*isoPrincipal) bool { return false }},
	"GET /admin/connectors": {queries: isoTenantQuery()},
	"POST /admin/connectors": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("tenant_id", x.Tenant.ID, "name", "edr", "kind", "slack", "config", "", "secrets", "")
	}, refuseB: true},

	// Console: switcher, language, settings.
	"POST /switch-tenant": {body: func(f *isoFixture, x *isoTenant) string { return isoForm("tenant", x.Tenant.ID, "next", "/") },
		refuseB: true, ok: isoIsProvider},
	"POST /language": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("language", "en", "next", "/?tenant="+x.Tenant.ID)
	},
		ok: isoIsUser},
	"GET /settings": {queries: isoTenantQuery()},
	"POST /settings": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("language", "en", "time_zone", "UTC", "tenant_id", x.Tenant.ID)
	}},

	// Console: tenants.
	"GET /admin/tenants": {queries: func(f *isoFixture, x *isoTenant) []string {
		if x == f.B {
			return []string{"?q=zq7", "?tenant=" + x.Tenant.ID}
		}
		return []string{""}
	}, mustShow: isoShowTenantName},
	"POST /admin/tenants": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("name", x.Tenant.Name+" copy", "language", "en", "time_zone", "UTC")
	}, refuseB: true, ok: func(p *isoPrincipal) bool { return p.p.AllTenants() }},
	"GET /admin/tenants/{id}": {id: "tenant", mustShow: isoShowTenantName},
	"POST /admin/tenants/{id}": {id: "tenant", body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("name", x.Tenant.Name, "language", "en", "time_zone", "UTC")
	}},

	// Console: users.
	"GET /admin/users": {queries: func(f *isoFixture, x *isoTenant) []string {
		qs := []string{"?tenant=" + x.Tenant.ID}
		if x == f.B {
			qs = append(qs, "?q=zq7")
		}
		return qs
	}, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.Viewer.Username }},
	"POST /admin/users": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("username", f.unique("page-made-by-a"), "role", "tenant-viewer", "tenant_id", x.Tenant.ID, "password", isoPassword, "language", "")
	}, refuseB: true},
	"POST /admin/users/{id}": {id: "user", body: func(f *isoFixture, x *isoTenant) string { return isoForm("action", "enable") }},

	// Console: tokens.
	"GET /admin/tokens": {queries: isoTenantQuery(), mustShow: func(x *isoTenant, _ *isoPrincipal) string { return x.SpareToken.Name }},
	"POST /admin/tokens": {body: func(f *isoFixture, x *isoTenant) string {
		return isoForm("name", f.unique("page made by a"), "role", "ingest", "tenant_id", x.Tenant.ID, "expires_in", "24h")
	}, refuseB: true, mustShow: func(x *isoTenant, _ *isoPrincipal) string { return "tansa_" }},
	"POST /admin/tokens/{id}/revoke": {id: "token"},

	// Console: audit.
	"GET /admin/audit": {queries: func(f *isoFixture, x *isoTenant) []string {
		return []string{"?tenant=" + x.Tenant.ID, "?object=" + x.Viewer.ID, "?actor=" + url.QueryEscape("user:"+x.Login.Username)}
	}},
}

var isoParamRE = regexp.MustCompile(`\{[^}]*\}`)

// isoRuleFor returns the isolation rule of rt: its entry in isolationRules or,
// for a console page whose shape says what it touches (/admin/users/{id}…),
// an inferred one. ok is false when the route has neither.
func isoRuleFor(rt route) (isoRule, bool, string) {
	if r, ok := isolationRules[rt.Method+" "+rt.Path]; ok {
		return r, true, "explicit"
	}
	if !rt.Page {
		return isoRule{}, false, ""
	}
	var r isoRule
	params := isoParamRE.FindAllString(rt.Path, -1)
	if len(params) > 1 || (len(params) == 1 && params[0] != "{id}") {
		return isoRule{}, false, ""
	}
	if len(params) == 1 {
		segs := strings.Split(rt.Path, "/")
		i := slices.Index(segs, "{id}")
		switch segs[i-1] {
		case "tenants":
			r.id = "tenant"
		case "users":
			r.id = "user"
		case "tokens":
			r.id = "token"
		default:
			return isoRule{}, false, ""
		}
	}
	if rt.Method == "GET" {
		r.queries = isoTenantQuery()
	} else {
		// Its form fields are unknown: send ones naming X and require only
		// that nothing of B shows, nothing of B changes and nothing fails.
		r.body = func(f *isoFixture, x *isoTenant) string {
			return isoForm("tenant", x.Tenant.ID, "tenant_id", x.Tenant.ID, "id", x.Tenant.ID)
		}
		r.ok = func(*isoPrincipal) bool { return false }
	}
	return r, true, "inferred"
}

// fill returns rt's path for objects of x.
func (r isoRule) fill(rt route, x *isoTenant) string {
	p := strings.ReplaceAll(rt.Path, "{$}", "")
	p = strings.ReplaceAll(p, "{file...}", "tansa.css")
	p = strings.ReplaceAll(p, "{name}", "tansa")
	p = strings.ReplaceAll(p, "{index}", "logs")
	p = strings.ReplaceAll(p, "{kind}", "ip")
	p = strings.ReplaceAll(p, "{format}", "stix")
	switch r.id {
	case "tenant":
		p = strings.ReplaceAll(p, "{id}", x.Tenant.ID)
	case "user":
		p = strings.ReplaceAll(p, "{id}", x.Spare.ID)
	case "token":
		p = strings.ReplaceAll(p, "{id}", x.SpareToken.ID)
	case "event":
		p = strings.ReplaceAll(p, "{id}", x.Event.ID)
	case "indicator":
		p = strings.ReplaceAll(p, "{id}", x.Indicator.ID)
	case "alert":
		p = strings.ReplaceAll(p, "{id}", x.Alert.ID)
	case "exception":
		p = strings.ReplaceAll(p, "{id}", x.Exception.ID)
	case "spare-exception":
		p = strings.ReplaceAll(p, "{id}", x.SpareException())
	case "rule-version":
		p = strings.ReplaceAll(p, "{id}", x.RuleVersion.ID)
	case "hunt":
		p = strings.ReplaceAll(p, "{id}", x.Hunt.ID)
	case "playbook":
		p = strings.ReplaceAll(p, "{id}", x.Playbook.ID)
	case "run":
		p = strings.ReplaceAll(p, "{id}", x.Run.ID)
	case "asset":
		p = strings.ReplaceAll(p, "{id}", x.Asset.ID)
	case "sweep":
		p = strings.ReplaceAll(p, "{id}", x.Sweep.ID)
	case "campaign":
		p = strings.ReplaceAll(p, "{id}", x.Campaign.ID)
	case "feed":
		p = strings.ReplaceAll(p, "{id}", x.Feed.ID)
	case "spare-feed":
		p = strings.ReplaceAll(p, "{id}", x.SpareFeed.ID)
	case "case", "task", "observable", "evidence":
		p = strings.ReplaceAll(p, "{id}", isoIDOf(r, x))
	}
	return p
}

// permitted reports whether p passes rt's authentication and permission:
// pages take only a session.
func isoPermitted(rt route, p *isoPrincipal) bool {
	if rt.Auth == authNone {
		return true
	}
	if rt.Page && !p.session() {
		return false
	}
	return rt.Auth == authAny || p.p.Can(rt.Perm)
}

func TestIsolationMatrixCoversEveryRoute(t *testing.T) {
	table := tableOnly(t)
	seen := map[string]bool{}
	for _, rt := range table {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		r, ok, how := isoRuleFor(rt)
		if !ok {
			t.Errorf("route %s has no tenant-isolation rule: add one to isolationRules in isolation_test.go", key)
			continue
		}
		if strings.Contains(rt.Path, "{id}") && r.id == "" {
			t.Errorf("route %s has {id} but its rule does not say whose object fills it", key)
		}
		if rest := isoParamRE.ReplaceAllStringFunc(rt.Path, func(s string) string {
			if s == "{id}" || s == "{$}" || s == "{file...}" || s == "{name}" || s == "{index}" || s == "{kind}" || s == "{format}" {
				return ""
			}
			return s
		}); strings.Contains(rest, "{") {
			t.Errorf("route %s has a path parameter the matrix cannot fill", key)
		}
		if how == "inferred" {
			t.Logf("route %s: rule inferred from its path; an explicit one in isolationRules tests it more closely", key)
		}
	}
	for key := range isolationRules {
		if !seen[key] {
			t.Logf("isolation rule %s names no route in routeTable()", key)
		}
	}
}

// leaks returns the markers of B found in res, except those the request
// itself carried (an echo of the caller's own input reveals nothing; that
// it is the same answer as for an ID that does not exist is checked
// separately).
func isoLeaks(res isoResponse, markers []string, request string) []string {
	var found []string
	for _, m := range markers {
		if m == "" || strings.Contains(request, m) || strings.Contains(request, url.QueryEscape(m)) {
			continue
		}
		if strings.Contains(res.body, m) || strings.Contains(res.header.Get("Location"), m) || strings.Contains(res.header.Get("Location"), url.QueryEscape(m)) {
			found = append(found, m)
		}
	}
	return found
}

func isoRefusal(rt route, res isoResponse) bool {
	switch res.status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	case http.StatusSeeOther, http.StatusFound:
		return rt.Page && strings.HasPrefix(res.header.Get("Location"), "/login")
	}
	return false
}

func isoSuccess(res isoResponse) bool {
	if res.status >= 200 && res.status < 300 {
		return true
	}
	return (res.status == http.StatusSeeOther || res.status == http.StatusFound) && !strings.HasPrefix(res.header.Get("Location"), "/login")
}

// isoCheckShape checks the answer's form: the API's error shape for its
// failures, HTML for pages.
func isoCheckShape(t *testing.T, rt route, res isoResponse) {
	t.Helper()
	if res.status >= 500 {
		t.Errorf("status %d, want no server error; body %.300s", res.status, res.body)
	}
	if isAPIPath(rt.Path) && res.status >= 400 {
		var e apiError
		if err := json.Unmarshal([]byte(res.body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("status %d: body %.200q is not the API's error shape {\"error\":{\"code\",\"message\"}}", res.status, res.body)
		}
	}
	if rt.Page && rt.Path != "/static/{file...}" && res.status != http.StatusSeeOther && res.status != http.StatusFound {
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("status %d: console page answered %q, want text/html", res.status, ct)
		}
	}
}

func isoListTotal(t *testing.T, res isoResponse) (int, bool) {
	t.Helper()
	var l struct {
		Items []json.RawMessage `json:"items"`
		Total *int              `json:"total"`
	}
	if err := json.Unmarshal([]byte(res.body), &l); err != nil || l.Total == nil || l.Items == nil {
		t.Errorf("body %.200q is not a list {\"items\",\"total\",…}", res.body)
		return 0, false
	}
	return *l.Total, true
}

// TestTenantIsolationMatrix calls every route as every isoPrincipal of tenant
// A: about A's own objects (positive control) and about B's (the wall).
func TestTenantIsolationMatrix(t *testing.T) {
	f := newIsoFixture(t, access.Options{})
	A, B := f.A, f.B
	ps := f.principals(A)
	bMarkers := B.markers()
	before := f.snapshot(B)
	auditBefore := len(f.allAudit())
	nonexistent := "01900000-0000-7000-8000-00000000dead"

	routes := f.web.routes
	cells := 0
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		rule, ok, _ := isoRuleFor(rt)
		if !ok {
			t.Errorf("%s: no isolation rule (see TestIsolationMatrixCoversEveryRoute)", key)
			continue
		}
		for _, p := range ps {
			cells++
			t.Run(key+"/"+p.name, func(t *testing.T) {
				f.t = t
				defer func() { f.t = nil }()
				caller := p
				if rule.freshSession && p.session() {
					c := *p
					c.cookie = f.loginCookie(p.login)
					caller = &c
				}
				send := func(x *isoTenant, path, body string) isoResponse {
					res := f.do(caller, rt.Method, path, body, "")
					isoCheckShape(t, rt, res)
					return res
				}
				queries := []string{""}
				body := ""

				// Positive control: the isoPrincipal's own tenant.
				if rule.queries != nil {
					queries = rule.queries(f, A)
				}
				if rule.body != nil {
					body = rule.body(f, A)
				}
				want := isoPermitted(rt, p) && (rule.ok == nil || rule.ok(p))
				for _, qs := range queries {
					path := rule.fill(rt, A) + qs
					wantTotal := -1
					if rule.total != nil {
						wantTotal = rule.total(f, A, qs)
					}
					res := send(A, path, body)
					switch {
					case want && rule.endsOK:
						if res.status != http.StatusSeeOther {
							t.Errorf("own tenant: %s %s: status %d, want 303", rt.Method, path, res.status)
						}
					case want && !isoSuccess(res):
						t.Errorf("own tenant: %s %s: status %d (Location %q), want success; body %.300s", rt.Method, path, res.status, res.header.Get("Location"), res.body)
					case !want && rt.Auth != authNone && !isoRefusal(rt, res):
						t.Errorf("own tenant: %s %s: status %d, want a refusal (the role may not do this); body %.300s", rt.Method, path, res.status, res.body)
					}
					if want && isoSuccess(res) && res.status < 300 && rule.mustShow != nil && wantTotal != 0 {
						if s := rule.mustShow(A, p); !strings.Contains(res.body, s) {
							t.Errorf("own tenant: %s %s: answer does not show %q; body %.300s", rt.Method, path, s, res.body)
						}
					}
					if want && res.status == http.StatusOK && isAPIPath(rt.Path) && rule.total != nil {
						if got, ok := isoListTotal(t, res); ok && got != wantTotal {
							t.Errorf("own tenant: %s %s: total %d, want %d", rt.Method, path, got, wantTotal)
						}
					}
				}

				// The wall: requests naming B.
				type probe struct {
					path, body string
					cross      bool
				}
				probes := []probe{}
				qsB := []string{""}
				if rule.queries != nil {
					qsB = rule.queries(f, B)
				}
				for _, qs := range qsB {
					b := ""
					if rule.body != nil {
						b = rule.body(f, B)
					}
					probes = append(probes, probe{rule.fill(rt, B) + qs, b, false})
				}
				if rule.cross != nil {
					for _, b := range rule.cross(f, B) {
						probes = append(probes, probe{rule.fill(rt, A), b, true})
					}
				}
				for _, pr := range probes {
					isCross := pr.cross
					res := send(B, pr.path, pr.body)
					where := fmt.Sprintf("%s %s %s", rt.Method, pr.path, pr.body)
					if l := isoLeaks(res, bMarkers, pr.path+" "+pr.body); len(l) > 0 {
						t.Errorf("%s: answer shows tenant B's data %q; body %.500s", where, l, res.body)
					}
					switch {
					case rule.id != "" && !isCross:
						if !isoRefusal(rt, res) {
							t.Errorf("%s: status %d, want 400/401/403/404 for B's object; body %.300s", where, res.status, res.body)
						}
						if isoPermitted(rt, p) && res.status != http.StatusNotFound {
							t.Errorf("%s: status %d, want 404 (B's object must look like none)", where, res.status)
						}
						// B's ID must get the same answer as an ID that does
						// not exist, so that IDs reveal nothing.
						other := strings.Replace(pr.path, isoIDOf(rule, B), nonexistent, 1)
						res2 := send(B, other, pr.body)
						norm := func(s, id string) string { return strings.ReplaceAll(s, id, "<id>") }
						if res2.status != res.status || norm(res2.body, nonexistent) != norm(res.body, isoIDOf(rule, B)) {
							t.Errorf("%s: answer for B's ID differs from the answer for an ID that does not exist:\nB's:  %d %.300s\nnone: %d %.300s",
								where, res.status, res.body, res2.status, res2.body)
						}
					case rule.refuseB || isCross:
						if !isoRefusal(rt, res) {
							t.Errorf("%s: status %d, want a refusal for a request naming tenant B; body %.300s", where, res.status, res.body)
						}
					case rule.total != nil:
						if res.status == http.StatusOK {
							if got, ok := isoListTotal(t, res); ok && got != 0 {
								t.Errorf("%s: total %d, want 0 (nothing of B)", where, got)
							}
						} else if !isoRefusal(rt, res) {
							t.Errorf("%s: status %d, want 200 with nothing or a refusal", where, res.status)
						}
					}
				}
			})
		}
	}
	f.t = t
	t.Logf("isolation matrix: %d routes × %d principals = %d cells", len(routes), len(ps), cells)

	if after := f.snapshot(B); after != before {
		t.Errorf("tenant B changed during the matrix:\nbefore %s\nafter  %s", before, after)
	}
	all := f.allAudit()
	for _, e := range all[:len(all)-auditBefore] {
		if e.TenantID == B.Tenant.ID && !strings.HasPrefix(e.Action, "login.") {
			t.Errorf("audit entry in tenant B written during the matrix: %s by %s on %s", e.Action, e.Actor, e.ObjectID)
		}
	}
	// The inputs wrote only into A, whose ingest token sent everything,
	// even the requests that named B.
	backlog, err := f.bus.Backlog(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if backlog[B.Tenant.ID] != 0 || backlog[A.Tenant.ID] == 0 {
		t.Errorf("bus backlog after the matrix: A %d, B %d; want A's ingest in A and nothing in B", backlog[A.Tenant.ID], backlog[B.Tenant.ID])
	}
	inB := func(u tansa.User) bool { return u.TenantID == B.Tenant.ID }
	if n, want := isoCount(f.allUsers(), inB), isoCount(B.users(), inB); n != want {
		t.Errorf("tenant B has %d users after the matrix, want %d", n, want)
	}
}

func isoIDOf(r isoRule, x *isoTenant) string {
	switch r.id {
	case "tenant":
		return x.Tenant.ID
	case "user":
		return x.Spare.ID
	case "token":
		return x.SpareToken.ID
	case "event":
		return x.Event.ID
	case "indicator":
		return x.Indicator.ID
	case "alert":
		return x.Alert.ID
	case "exception", "spare-exception":
		return x.Exception.ID
	case "rule-version":
		return x.RuleVersion.ID
	case "hunt":
		return x.Hunt.ID
	case "playbook":
		return x.Playbook.ID
	case "run":
		return x.Run.ID
	case "asset":
		return x.Asset.ID
	case "sweep":
		return x.Sweep.ID
	case "campaign":
		return x.Campaign.ID
	case "feed":
		return x.Feed.ID
	case "spare-feed":
		return x.SpareFeed.ID
	case "case":
		return x.Case.ID
	case "task":
		return x.Task.ID
	case "observable":
		return x.Observable.ID
	case "evidence":
		return x.Evidence.ID
	}
	return ""
}

// isoArtifactID is the prevalence ID of x's process path.
func isoArtifactID(f *isoFixture, x *isoTenant) string {
	ps, _, err := f.fleet.Prevalence(f.ctx, f.sys, fleet.PrevalenceQuery{Scope: access.Scope{Tenants: []string{x.Tenant.ID}}, Text: x.HostPath, Page: access.Page{Limit: 1}})
	if err != nil || len(ps) != 1 {
		f.t.Fatalf("prevalence of %s: %v, %v", x.HostPath, ps, err)
	}
	return ps[0].ID
}

// auditTotal is how many audit entries of tenant a match the API query qs.
func (f *isoFixture) auditTotal(a *isoTenant, qs string) int {
	v, _ := url.ParseQuery(strings.TrimPrefix(qs, "?"))
	return isoCount(f.allAudit(), func(e tansa.AuditEntry) bool {
		if e.TenantID != a.Tenant.ID {
			return false
		}
		if x := v.Get("object"); x != "" && e.ObjectID != x {
			return false
		}
		if x := v.Get("actor"); x != "" && e.Actor != x {
			return false
		}
		if x := v.Get("action"); x != "" && !(e.Action == x || (strings.HasSuffix(x, ".") && strings.HasPrefix(e.Action, x))) {
			return false
		}
		if x := v.Get("tenant"); x != "" && e.TenantID != x {
			return false
		}
		return true
	})
}

// The inputs' rules: bodies that name X (its tenant ID as the index, its
// name in the text) must still land in the token's own tenant.
var (
	isoHEC = isoRule{body: func(f *isoFixture, x *isoTenant) string {
		return isoJSON(map[string]any{"event": "matrix event for " + x.Tenant.Name, "index": x.Tenant.ID})
	}}
	isoHECRaw = isoRule{queries: func(f *isoFixture, x *isoTenant) []string { return []string{"?index=" + x.Tenant.ID} },
		body: func(f *isoFixture, x *isoTenant) string { return "matrix line for " + x.Tenant.Name + "\n" }}
	isoBulk = isoRule{body: func(f *isoFixture, x *isoTenant) string {
		return "{\"index\":{\"_index\":\"" + x.Tenant.ID + "\"}}\n" + isoJSON(map[string]string{"message": "matrix doc for " + x.Tenant.Name}) + "\n"
	}}
)

func isoTopQuery(f *isoFixture, x *isoTenant) []string {
	return []string{"?field=source.ip&tenant=" + x.Tenant.ID, "?field=source.ip&observable=" + isoEventIP(x)}
}

func isoExportQuery(f *isoFixture, x *isoTenant) []string {
	return []string{"?format=jsonl&tenant=" + x.Tenant.ID, "?format=csv&observable=" + isoEventIP(x)}
}

// isoEventQueries searches X's events by tenant and by X's address.
func isoEventQueries(f *isoFixture, x *isoTenant) []string {
	return []string{"?tenant=" + x.Tenant.ID, "?observable=" + isoEventIP(x)}
}

// caseTotal is how many of a's cases the API query qs matches, counted by
// the service as the system.
func (f *isoFixture) caseTotal(a *isoTenant, qs string) int {
	r := httptest.NewRequest("GET", "/api/v1/cases"+qs, nil)
	q, err := caseQuery(r, access.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	q.Scope = access.Scope{Tenants: []string{a.Tenant.ID}}
	_, n, err := f.cases.Cases(f.ctx, f.sys, q)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// isoPlaybookSource is a playbook of tenant X named name.
func isoPlaybookSource(name string) string {
	return "name: " + name + `
trigger: {alert: 'level == "critical"', manual: true}
steps:
  - id: approve
    action: approval
    approvers: {roles: [tenant-admin]}
    timeout: 1h
  - id: block
    action: block
    with: {values: "{{ observables.domain }}"}
tests:
  - name: critical
    alert: {level: critical}
    want: {steps: [approve, block]}
  - name: high
    alert: {level: high}
    want: {triggered: false}
`
}

// mkPlaybook gives x an "edr" connector, a playbook and a run of it.
func (f *isoFixture) mkPlaybook(x *isoTenant, prefix string) {
	f.t.Helper()
	x.PlaybookSecret = "https://hooks.example/" + prefix + "-secret"
	if _, err := f.pbs.PutConnector(f.ctx, f.sys, playbook.ConnectorInput{TenantID: x.Tenant.ID, Name: "edr", Kind: "slack",
		Secrets: map[string]string{"url": x.PlaybookSecret}}); err != nil {
		f.t.Fatalf("connector of %s: %v", prefix, err)
	}
	on := true
	pb, _, err := f.pbs.Create(f.ctx, f.sys, playbook.PlaybookInput{TenantID: x.Tenant.ID, Source: isoPlaybookSource(prefix + " playbook"), Enabled: &on})
	if err != nil {
		f.t.Fatalf("playbook of %s: %v", prefix, err)
	}
	x.Playbook = pb
	if x.Run, err = f.pbs.Start(f.ctx, f.sys, pb.ID, playbook.StartInput{Alert: map[string]any{"level": "critical"}}); err != nil {
		f.t.Fatalf("run of %s: %v", prefix, err)
	}
}

// runTotal is how many runs of tenant a there are now.
func (f *isoFixture) runTotal(a *isoTenant, _ string) int {
	_, n, err := f.pbs.Runs(f.ctx, f.sys, playbook.RunQuery{Scope: access.Scope{Tenants: []string{a.Tenant.ID}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}
