package cases_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// fixture is a case service over a real SQLite store with two tenants:
// Japanese-speaking "jp" and English-speaking "vn".
type fixture struct {
	ctx     context.Context
	db      *sqlite.DB
	acc     *access.Service
	svc     *cases.Service
	sys     access.Caller
	jp, vn  tansa.Tenant
	analyst tansa.User // provider analyst of every tenant
	viewer  tansa.User // jp's viewer
	clock   *clock
	alerts  *fakeAlerts
	hunts   *fakeHunter
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeAlerts is a recording stand-in for internal/alert's lookup.
type fakeAlerts struct{ alerts []tansa.Alert }

func (f *fakeAlerts) AlertsByID(_ context.Context, c access.Caller, tenant string, ids []string) ([]tansa.Alert, error) {
	var out []tansa.Alert
	for _, a := range f.alerts {
		if a.TenantID == tenant && c.CanAccess(tenant) && slices.Contains(ids, a.ID) {
			out = append(out, a)
		}
	}
	return out, nil
}

type fakeHunter struct{ calls []string }

func (f *fakeHunter) RetroHunt(_ context.Context, _ access.Caller, tenant string, o cases.Observable) (cases.RetroHuntResult, error) {
	f.calls = append(f.calls, tenant+"/"+o.Value)
	return cases.RetroHuntResult{Matches: 3, Summary: "3 events"}, nil
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{ctx: ctx, db: db, acc: access.New(db, access.Options{}), sys: access.Caller{Principal: access.System("test")},
		clock: &clock{t: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}, alerts: &fakeAlerts{}, hunts: &fakeHunter{}}
	mk := func(name, lang string) tansa.Tenant {
		tn, err := f.acc.CreateTenant(ctx, f.sys, access.TenantInput{Name: &name, Language: &lang})
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	f.jp, f.vn = mk("Tokyo HQ", "ja"), mk("Hanoi plant", "en")
	user := func(name string, role tansa.Role, tenant string) tansa.User {
		pw := "correct-horse-battery-1"
		in := access.UserInput{Username: &name, Name: ptr(strings.ToUpper(name)), Role: &role, Password: &pw}
		if tenant != "" {
			in.TenantID = &tenant
		}
		u, err := f.acc.CreateUser(ctx, f.sys, in)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.analyst = user("analyst", tansa.RoleProviderAnalyst, "")
	f.viewer = user("viewer", tansa.RoleTenantViewer, f.jp.ID)
	f.svc, err = cases.New(db, f.acc, f.acc, cases.Options{Alerts: f.alerts, RetroHunter: f.hunts, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func as(u tansa.User) access.Caller {
	return access.Caller{Principal: access.Principal{Kind: "user", ID: u.ID, Name: u.Username, Role: u.Role, TenantID: u.TenantID, Tenants: u.Tenants}, Addr: "192.0.2.7"}
}

func (f *fixture) audit(t *testing.T, action string) []tansa.AuditEntry {
	t.Helper()
	es, _, err := f.acc.Audit(f.ctx, f.sys, access.AuditQuery{Action: action, Page: access.Page{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestLifeCycleTimersAndTimeline(t *testing.T) {
	f := newFixture(t)
	an := as(f.analyst)
	f.alerts.alerts = []tansa.Alert{{ID: "al-1", TenantID: f.jp.ID, RuleTitle: "Emotet C2", Level: "high"},
		{ID: "al-2", TenantID: f.vn.ID, RuleTitle: "other tenant", Level: "low"}}
	c, err := f.svc.Create(f.ctx, an, cases.CaseInput{TenantID: f.jp.ID, Title: "Emotet on PC-0042", Type: "malware", AlertIDs: []string{"al-1"},
		Observables: []cases.ObservableInput{{Value: "hxxp://evil[.]example/a"}, {Type: "sha256", Value: strings.Repeat("AB", 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	// The malware template's severity and tasks, in the tenant's language.
	if c.Severity != "high" || c.Phase != cases.PhaseNew || !c.Acknowledged.IsZero() {
		t.Errorf("new case: %+v", c)
	}
	if want := c.Created.Add(time.Hour); !c.AckDue.Equal(want) {
		t.Errorf("ack due %v, want %v (high: 1 h)", c.AckDue, want)
	}
	tasks, err := f.svc.Tasks(f.ctx, an, c.ID)
	if err != nil || len(tasks) != 9 || tasks[0].Title != "感染端末と利用者を特定する" || !tasks[0].Due.Equal(c.Created.Add(time.Hour)) {
		t.Fatalf("tasks: %d %+v %v", len(tasks), tasks, err)
	}
	obs, _ := f.svc.Observables(f.ctx, an, c.ID)
	if len(obs) != 2 || obs[0].Type != "url" || obs[0].Value != "http://evil.example/a" || obs[1].Value != strings.Repeat("ab", 32) {
		t.Errorf("observables refanged and normalised: %+v", obs)
	}
	// Linking another tenant's alert is refused.
	if _, err := f.svc.LinkAlerts(f.ctx, an, c.ID, []string{"al-2"}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("link another tenant's alert: %v, want Invalid", err)
	}
	if as, _ := f.svc.AlertsOf(f.ctx, an, c); len(as) != 1 || as[0].RuleTitle != "Emotet C2" {
		t.Errorf("linked alerts: %+v", as)
	}

	// Two hours later (ack target passed) it moves to triage, then on.
	f.clock.add(2 * time.Hour)
	c, err = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseTriage)})
	if err != nil {
		t.Fatal(err)
	}
	if tm := c.Timers(f.clock.now()); !tm[0].Breached || tm[0].Elapsed != 2*time.Hour || tm[1].Breached {
		t.Errorf("timers after a late acknowledgement: %+v", tm)
	}
	if _, err := f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseClosed)}); tansa.KindOf(err) != tansa.Invalid ||
		!strings.Contains(err.Error(), "resolution") {
		t.Errorf("close without a resolution: %v", err)
	}
	if _, err := f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseNew)}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("back to new: %v", err)
	}
	f.clock.add(time.Hour)
	c, _ = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseContainment)})
	f.clock.add(time.Hour)
	c, _ = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseEradication)})
	if !c.Contained.Equal(f.clock.now()) {
		t.Errorf("contained %v, want when it left containment (%v)", c.Contained, f.clock.now())
	}
	c, err = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseClosed), Resolution: ptr(cases.TruePositive), Comment: "reimaged"})
	if err != nil || c.Open() || c.Resolution != cases.TruePositive || c.Closed.IsZero() {
		t.Fatalf("close: %+v %v", c, err)
	}
	f.clock.add(time.Hour)
	c, err = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Phase: ptr(cases.PhaseEradication)})
	if err != nil || c.Reopened != 1 || c.Resolution != "" || !c.Closed.IsZero() || c.Version != 6 {
		t.Fatalf("reopen: %+v %v", c, err)
	}
	es, n, err := f.svc.Timeline(f.ctx, an, c.ID, access.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
	}
	want := []string{"case.create", "alert.link", "observable.add", "observable.add", "case.phase", "case.phase", "case.phase", "case.phase", "case.reopen"}
	if n != len(want) || !slices.Equal(kinds, want) {
		t.Errorf("timeline %v, want %v", kinds, want)
	}
	if !strings.Contains(es[7].Text, "closed as true-positive — reimaged") || es[0].Actor != "user:analyst" || es[0].Addr != "192.0.2.7" {
		t.Errorf("timeline entries: %+v", es)
	}
	if got := f.audit(t, "case."); len(got) != 6 {
		t.Errorf("%d case audit entries, want 6 (create, 4 updates, reopen)", len(got))
	}
	if got := f.audit(t, "case.reopen"); len(got) != 1 || !strings.Contains(string(got[0].Before), `"resolution":"true-positive"`) {
		t.Errorf("reopen audit: %+v", got)
	}

	// MTTA over the period: one case acknowledged after 2 h.
	m, err := f.svc.Metrics(f.ctx, an, f.jp.ID, time.Time{}, time.Time{})
	if err != nil || m.Cases != 1 || m.MTTA != 2*time.Hour || m.MTTC != 4*time.Hour || m.Closed != 0 || m.Breached != 1 {
		t.Errorf("metrics: %+v %v", m, err)
	}
}

func TestTenantWallsAndRoles(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.Create(f.ctx, f.sys, cases.CaseInput{TenantID: f.vn.ID, Title: "Hanoi incident"})
	if err != nil {
		t.Fatal(err)
	}
	v := as(f.viewer)
	if _, err := f.svc.Case(f.ctx, v, c.ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("another tenant's case: %v, want NotFound", err)
	}
	if l, n, _ := f.svc.Cases(f.ctx, v, cases.Query{Page: access.Page{Limit: 10}}); n != 0 || len(l) != 0 {
		t.Errorf("viewer of jp lists %d cases", n)
	}
	if l, n, _ := f.svc.Cases(f.ctx, v, cases.Query{Scope: access.Scope{Tenants: []string{f.vn.ID}}, Page: access.Page{Limit: 10}}); n != 0 || len(l) != 0 {
		t.Errorf("viewer of jp naming vn lists %d cases", n)
	}
	if _, err := f.svc.Create(f.ctx, v, cases.CaseInput{Title: "x"}); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer creates: %v, want Forbidden", err)
	}
	if _, err := f.svc.AddNote(f.ctx, v, c.ID, "x"); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer notes: %v", err)
	}
	// A viewer cannot be assigned: they may not work on cases.
	if _, err := f.svc.Update(f.ctx, f.sys, c.ID, cases.UpdateInput{Assignee: &f.viewer.ID}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("assign jp's viewer to a vn case: %v, want Invalid", err)
	}
	c, err = f.svc.Update(f.ctx, f.sys, c.ID, cases.UpdateInput{Assignee: &f.analyst.ID})
	if err != nil || c.AssigneeName != "ANALYST" || c.Acknowledged.IsZero() {
		t.Errorf("assign: %+v %v", c, err)
	}
	// A provider user working in one tenant sees nothing of another.
	cur := as(f.analyst)
	cur.Current = f.jp.ID
	if _, err := f.svc.Case(f.ctx, cur, c.ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("analyst switched to jp: %v, want NotFound", err)
	}
}

func TestEvidenceCustody(t *testing.T) {
	f := newFixture(t)
	an := as(f.analyst)
	c, _ := f.svc.Create(f.ctx, an, cases.CaseInput{TenantID: f.jp.ID, Title: "phish", Type: "phishing"})
	content := []byte("<html><script>alert(1)</script></html>")
	ev, err := f.svc.AddEvidence(f.ctx, an, c.ID, cases.EvidenceInput{Name: `C:\Users\x\請求書.html`, ContentType: "text/html"}, content)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if ev.Name != "請求書.html" || ev.SHA256 != hex.EncodeToString(sum[:]) || ev.Size != int64(len(content)) {
		t.Errorf("evidence %+v", ev)
	}
	if _, err := f.svc.AddEvidence(f.ctx, an, c.ID, cases.EvidenceInput{Name: "big"}, make([]byte, cases.DefaultMaxEvidence+1)); tansa.KindOf(err) != tansa.TooLarge {
		t.Errorf("oversized: %v", err)
	}
	v := as(f.viewer)
	for range 2 {
		f.clock.add(time.Minute)
		_, got, err := f.svc.Download(f.ctx, v, ev.ID)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("download: %v", err)
		}
	}
	_, custody, err := f.svc.Custody(f.ctx, an, ev.ID)
	if err != nil || len(custody) != 3 || custody[0].Kind != "evidence.upload" || custody[2].Kind != "evidence.download" || custody[2].Actor != "user:viewer" {
		t.Errorf("custody: %+v %v", custody, err)
	}
	if got := f.audit(t, "case-evidence.download"); len(got) != 2 {
		t.Errorf("%d download audit entries, want 2", len(got))
	}
}

func TestSystemCallerForPlaybooks(t *testing.T) {
	f := newFixture(t)
	pb := access.Caller{Principal: access.System("playbook:isolate-host")}
	c, err := f.svc.Create(f.ctx, pb, cases.CaseInput{TenantID: f.vn.ID, Title: "Auto: C2 beacon", Severity: "critical", AlertIDs: []string{"al-9"}})
	if err == nil {
		t.Fatal("linking an alert the lookup does not know was accepted")
	}
	f.alerts.alerts = []tansa.Alert{{ID: "al-9", TenantID: f.vn.ID}}
	if c, err = f.svc.Create(f.ctx, pb, cases.CaseInput{TenantID: f.vn.ID, Title: "Auto: C2 beacon", Severity: "critical", AlertIDs: []string{"al-9"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddEntry(f.ctx, pb, c.ID, "playbook.step", "run-1", "isolated host PC-7 through Defender"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddEntry(f.ctx, pb, c.ID, "Bad Kind", "", "x"); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := f.svc.AddObservables(f.ctx, pb, c.ID, []cases.ObservableInput{{Value: "45.77.1.2"}, {Value: "45.77.1.2"}}); err != nil {
		t.Fatal(err)
	}
	obs, _ := f.svc.Observables(f.ctx, pb, c.ID)
	if len(obs) != 1 {
		t.Errorf("%d observables, want one (duplicates skipped)", len(obs))
	}
	res, err := f.svc.RetroHunt(f.ctx, pb, obs[0].ID)
	if err != nil || res.Matches != 3 || !slices.Equal(f.hunts.calls, []string{f.vn.ID + "/45.77.1.2"}) {
		t.Errorf("retro-hunt: %+v %v %v", res, err, f.hunts.calls)
	}
	es, _, _ := f.svc.Timeline(f.ctx, pb, c.ID, access.Page{Limit: 50})
	if last := es[len(es)-1]; last.Kind != "observable.retro-hunt" || last.Actor != "system:playbook:isolate-host" {
		t.Errorf("last entry %+v", last)
	}
	// Concurrent updates of one case all land, each on its own version.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			title := "Auto: C2 beacon " + string(rune('A'+i))
			if _, err := f.svc.Update(f.ctx, pb, c.ID, cases.UpdateInput{Title: &title}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := f.svc.Case(f.ctx, pb, c.ID); got.Version != 9 {
		t.Errorf("version %d after 8 concurrent updates, want 9", got.Version)
	}
}

func TestTemplatesPerTenantAndTracker(t *testing.T) {
	f := newFixture(t)
	an := as(f.analyst)
	doc := []byte("type: phishing\nseverity: high\nname: {en: Our phishing, ja: 当社版フィッシング}\ntasks:\n  - {phase: triage, due_hours: 1, title: {en: Call the reporter, ja: 報告者に電話する}}\n")
	if _, err := f.svc.PutTemplate(f.ctx, an, f.vn.ID, doc); err != nil {
		t.Fatal(err)
	}
	vnT, _ := f.svc.Templates(f.ctx, an, f.vn.ID)
	jpT, _ := f.svc.Templates(f.ctx, an, f.jp.ID)
	if len(vnT) != 5 || vnT[1].Name.EN != "Our phishing" || vnT[1].TenantID != f.vn.ID || jpT[1].Name.EN != "Phishing e-mail" {
		t.Errorf("templates: vn %+v / jp %+v", vnT[1], jpT[1])
	}
	c, err := f.svc.Create(f.ctx, an, cases.CaseInput{TenantID: f.vn.ID, Title: "Invoice phish", Type: "phishing", Assignee: f.analyst.ID})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := f.svc.Tasks(f.ctx, an, c.ID)
	if len(tasks) != 1 || tasks[0].Title != "Call the reporter" || c.Severity != "high" {
		t.Errorf("tasks from the tenant's template: %+v", tasks)
	}
	if _, err := f.svc.PutTemplate(f.ctx, an, f.vn.ID, []byte("type: phishing\nseverity: urgent\n")); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("bad template: %v", err)
	}
	if err := f.svc.DeleteTemplate(f.ctx, an, f.vn.ID, "phishing"); err != nil {
		t.Fatal(err)
	}
	if vnT, _ = f.svc.Templates(f.ctx, an, f.vn.ID); vnT[1].TenantID != "" {
		t.Errorf("after delete: %+v", vnT[1])
	}
	rows, n, err := f.svc.Tracker(f.ctx, an, cases.TrackerQuery{Scope: access.Scope{Tenants: []string{f.vn.ID}}, Page: access.Page{Limit: 50}})
	if err != nil || n != 2 || rows[0].Kind != "task" || rows[1].OwnerName != "ANALYST" {
		t.Fatalf("tracker: %d %+v %v", n, rows, err)
	}
	rows[0].Title = "=HYPERLINK(\"http://x\")"
	var b bytes.Buffer
	if err := cases.WriteTrackerCSV(&b, rows, "ja", time.UTC, func(string) string { return "ハノイ工場" }); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "\uFEFF種別,ID,テナント") || !strings.Contains(out, "\r\n") || !strings.Contains(out, `'=HYPERLINK`) || !strings.Contains(out, "ハノイ工場") {
		t.Errorf("CSV:\n%s", out)
	}
}

func TestSLATargets(t *testing.T) {
	f := newFixture(t)
	an := as(f.analyst)
	if _, err := f.svc.SetSLA(f.ctx, an, f.jp.ID, []cases.SLATarget{{Severity: "low", Acknowledge: 5 * time.Minute, Close: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	c, _ := f.svc.Create(f.ctx, an, cases.CaseInput{TenantID: f.jp.ID, Title: "x", Severity: "low"})
	if !c.AckDue.Equal(c.Created.Add(5*time.Minute)) || !c.ContainDue.IsZero() || !c.CloseDue.Equal(c.Created.Add(time.Hour)) {
		t.Errorf("deadlines %v %v %v", c.AckDue, c.ContainDue, c.CloseDue)
	}
	c, _ = f.svc.Update(f.ctx, an, c.ID, cases.UpdateInput{Severity: ptr("critical")})
	if !c.AckDue.Equal(c.Created.Add(15 * time.Minute)) {
		t.Errorf("after raising severity to critical (default target): ack due %v", c.AckDue)
	}
	if _, err := f.svc.SetSLA(f.ctx, an, f.jp.ID, []cases.SLATarget{{Severity: "low", Acknowledge: -time.Minute}}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("negative target: %v", err)
	}
	f.clock.add(20 * time.Minute)
	l, n, _ := f.svc.Cases(f.ctx, an, cases.Query{BreachedAt: f.clock.now(), Page: access.Page{Limit: 10}})
	if n != 1 || l[0].ID != c.ID {
		t.Errorf("breached list: %d", n)
	}
}
