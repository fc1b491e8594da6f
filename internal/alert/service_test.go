package alert_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

type fixture struct {
	ctx    context.Context
	db     *sqlite.DB
	access *access.Service
	alerts *alert.Service
	reg    *prometheus.Registry
	sys    access.Caller
	t1, t2 string
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{ctx: ctx, db: db, access: access.New(db, access.Options{}), sys: access.Caller{Principal: access.System("test")},
		reg: prometheus.NewRegistry(), now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	f.alerts = alert.New(db, f.access, f.access, f.reg, alert.Options{Now: func() time.Time { return f.now }})
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

func caller(role tansa.Role, tenant string, tenants ...string) access.Caller {
	return access.Caller{Principal: access.Principal{Kind: "token", ID: string(role), Name: string(role) + "-" + tenant, Role: role, TenantID: tenant, Tenants: tenants}, Addr: "192.0.2.1"}
}

func match(tenant, rule, host string, at time.Time, ev string) tansa.Alert {
	return tansa.Alert{TenantID: tenant, Kind: tansa.AlertSigma, RuleID: rule, RuleTitle: "Rule " + rule, Level: "high", Host: host, User: "bob",
		GroupKey: host + "|bob", FirstSeen: at, LastSeen: at, EventIDs: []string{ev},
		Context: []byte(`{"fields":{"CommandLine":"backup.exe /full"}}`)}
}

func TestRaiseDedupesAndNotifies(t *testing.T) {
	f := newFixture(t)
	ch, cancel := f.alerts.Subscribe(10)
	defer cancel()
	at := f.now.Add(-time.Minute)
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r1", "ws1", at, "e1"), match(f.t1, "r1", "ws1", at.Add(time.Second), "e2")}); err != nil {
		t.Fatal(err)
	}
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r1", "ws1", at.Add(2*time.Second), "e3")}); err != nil {
		t.Fatal(err)
	}
	admin := caller(tansa.RoleTenantAdmin, f.t1)
	got, total, err := f.alerts.List(f.ctx, admin, alert.Query{Page: access.Page{Limit: 10}})
	if err != nil || total != 1 {
		t.Fatalf("List: %d alerts, %v; want 1 (three matches merged)", total, err)
	}
	if got[0].Count != 3 || len(got[0].EventIDs) != 3 || got[0].Status != tansa.AlertNew {
		t.Errorf("alert count %d events %v status %s, want 3, three IDs, new", got[0].Count, got[0].EventIDs, got[0].Status)
	}
	var notes []alert.Change
	for len(ch) > 0 {
		notes = append(notes, <-ch)
	}
	if len(notes) != 2 || !notes[0].New || notes[1].New || notes[1].Alert.Count != 3 {
		t.Errorf("notifications %+v, want one new then one update with count 3", notes)
	}
	// Invalid matches are refused whole.
	bad := match(f.t1, "r1", "ws1", at, "e4")
	bad.Level = "severe"
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r9", "ws1", at, "e5"), bad}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("Raise with an unknown level: %v, want Invalid", err)
	}
	if _, n, _ := f.alerts.List(f.ctx, admin, alert.Query{}); n != 1 {
		t.Errorf("%d alerts after a refused Raise, want 1", n)
	}
}

func TestScopeAndTriage(t *testing.T) {
	f := newFixture(t)
	at := f.now.Add(-time.Minute)
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r1", "ws1", at, "e1"), match(f.t1, "r1", "ws2", at, "e2"), match(f.t2, "r1", "ws1", at, "e3")}); err != nil {
		t.Fatal(err)
	}
	a1, a2 := caller(tansa.RoleTenantAdmin, f.t1), caller(tansa.RoleTenantAdmin, f.t2)
	mine, _, _ := f.alerts.List(f.ctx, a1, alert.Query{Page: access.Page{Limit: 10}})
	theirs, _, _ := f.alerts.List(f.ctx, a2, alert.Query{Page: access.Page{Limit: 10}})
	if len(mine) != 2 || len(theirs) != 1 {
		t.Fatalf("tenant 1 sees %d, tenant 2 sees %d; want 2 and 1", len(mine), len(theirs))
	}
	if _, n, _ := f.alerts.List(f.ctx, a1, alert.Query{Scope: access.Scope{Tenants: []string{f.t2}}}); n != 0 {
		t.Errorf("tenant 1 asking for tenant 2's alerts sees %d, want 0", n)
	}
	if _, err := f.alerts.Get(f.ctx, a1, theirs[0].ID); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("Get of another tenant's alert: %v, want NotFound", err)
	}
	// Bulk close including another tenant's alert: refused whole, nothing changes.
	_, err := f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Close, Reason: alert.Benign, IDs: []string{mine[0].ID, theirs[0].ID}})
	if tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("triage across tenants: %v, want NotFound", err)
	}
	if a, _ := f.alerts.Get(f.ctx, a1, mine[0].ID); a.Status != tansa.AlertNew {
		t.Errorf("alert is %s after a refused triage, want new", a.Status)
	}
	viewer := caller(tansa.RoleTenantViewer, f.t1)
	if _, err := f.alerts.Triage(f.ctx, viewer, alert.TriageInput{Action: alert.Acknowledge, IDs: []string{mine[0].ID}}); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer acknowledging: %v, want Forbidden", err)
	}
	if _, err := f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Close, Reason: "bored", IDs: []string{mine[0].ID}}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("close with an unknown reason: %v, want Invalid", err)
	}
	out, err := f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Close, Reason: alert.FalsePositive, IDs: []string{mine[0].ID, mine[1].ID}, Note: "scanner"})
	if err != nil || len(out) != 2 || out[0].Status != tansa.AlertClosed || out[1].CloseReason != "false-positive" {
		t.Fatalf("bulk close: %+v, %v", out, err)
	}
	// Assign to a user of the other tenant: refused; to one of this tenant: acknowledged and assigned.
	name, other := "bob", "eve"
	role, viewerRole := tansa.RoleTenantAdmin, tansa.RoleTenantViewer
	pw := "a-long-password-123"
	bob, err := f.access.CreateUser(f.ctx, f.sys, access.UserInput{Username: &name, Role: &role, TenantID: &f.t1, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	eve, err := f.access.CreateUser(f.ctx, f.sys, access.UserInput{Username: &other, Role: &role, TenantID: &f.t2, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	vname := "val"
	val, err := f.access.CreateUser(f.ctx, f.sys, access.UserInput{Username: &vname, Role: &viewerRole, TenantID: &f.t1, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Reopen, IDs: []string{mine[0].ID}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []tansa.User{eve, val} {
		if _, err := f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Assign, Assignee: u.ID, IDs: []string{mine[0].ID}}); tansa.KindOf(err) != tansa.Invalid {
			t.Errorf("assign to %s: %v, want Invalid", u.Username, err)
		}
	}
	out, err = f.alerts.Triage(f.ctx, a1, alert.TriageInput{Action: alert.Assign, Assignee: bob.ID, IDs: []string{mine[0].ID}})
	if err != nil || out[0].Assignee != bob.ID || out[0].Status != tansa.AlertAcknowledged {
		t.Errorf("assign to bob: %+v, %v", out, err)
	}
	// Every change audited in the tenant: 2 closes, 1 reopen, 1 assign.
	for action, want := range map[string]int{"alert.close": 2, "alert.reopen": 1, "alert.assign": 1} {
		_, n, err := f.access.Audit(f.ctx, f.sys, access.AuditQuery{Action: action, Scope: access.Scope{Tenants: []string{f.t1}}})
		if err != nil || n != want {
			t.Errorf("%s audit entries: %d, %v; want %d", action, n, err, want)
		}
	}
}

func TestExceptionsSuppressAndCount(t *testing.T) {
	f := newFixture(t)
	a1 := caller(tansa.RoleTenantAdmin, f.t1)
	e, err := f.alerts.CreateException(f.ctx, a1, alert.ExceptionInput{RuleID: "r1", Host: "WS1",
		Conditions: []alert.Condition{{Field: "CommandLine", Op: alert.OpStartsWith, Values: []string{"BACKUP.exe"}}},
		Reason:     "nightly backup", Owner: "alice", Expires: f.now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.alerts.CreateException(f.ctx, a1, alert.ExceptionInput{RuleID: "r1", Owner: "alice"}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("exception without a reason: %v, want Invalid", err)
	}
	if _, err := f.alerts.CreateException(f.ctx, a1, alert.ExceptionInput{TenantID: f.t2, RuleID: "r1", Reason: "x", Owner: "y"}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("exception in another tenant: %v, want NotFound", err)
	}
	at := f.now.Add(-time.Minute)
	other := match(f.t1, "r1", "ws1", at, "e3")
	other.Context = []byte(`{"fields":{"CommandLine":"mimikatz.exe"}}`)
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r1", "ws1", at, "e1"), match(f.t1, "r1", "ws1", at, "e2"), other,
		match(f.t1, "r1", "ws2", at, "e4"), match(f.t2, "r1", "ws1", at, "e5")}); err != nil {
		t.Fatal(err)
	}
	alerts, _, _ := f.alerts.List(f.ctx, caller(tansa.RoleProviderAdmin, ""), alert.Query{Page: access.Page{Limit: 10}})
	if len(alerts) != 3 {
		t.Errorf("%d alerts, want 3 (ws1 mimikatz, ws2, tenant two)", len(alerts))
	}
	got, _ := f.alerts.Exception(f.ctx, a1, e.ID)
	if got.Hits != 2 || !got.LastHit.Equal(at) {
		t.Errorf("exception hits %d last %v, want 2 at %v", got.Hits, got.LastHit, at)
	}
	if n := suppressedMetric(t, f.reg, e.ID); n != 2 {
		t.Errorf("tansa_alerts_suppressed_total{exception=%s} = %v, want 2", e.ID, n)
	}
	// After it expires it no longer applies.
	f.now = f.now.Add(48 * time.Hour)
	if err := f.alerts.Raise(f.ctx, []tansa.Alert{match(f.t1, "r1", "ws1", f.now, "e6")}); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := f.alerts.List(f.ctx, a1, alert.Query{}); n != 3 {
		t.Errorf("%d alerts of tenant one after expiry, want 3", n)
	}
	if _, err := f.alerts.DeleteException(f.ctx, a1, e.ID); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"exception.create", "exception.delete"} {
		if _, n, _ := f.access.Audit(f.ctx, f.sys, access.AuditQuery{Action: action}); n != 1 {
			t.Errorf("%s audit entries: %d, want 1", action, n)
		}
	}
}

func suppressedMetric(t *testing.T, reg *prometheus.Registry, id string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tansa_alerts_suppressed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "exception" && l.GetValue() == id {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Playbooks start from OnNew: it must hear of every created alert exactly
// once and never of a merge, whatever a subscriber's buffer does.
func TestOnNewHearsEveryCreatedAlertOnce(t *testing.T) {
	f := newFixture(t)
	var heard []string
	f.alerts = alert.New(f.db, f.access, f.access, prometheus.NewRegistry(), alert.Options{
		Now: func() time.Time { return f.now },
		OnNew: func(_ context.Context, created []tansa.Alert) {
			for _, a := range created {
				heard = append(heard, a.RuleID+"/"+a.Host)
			}
		},
	})
	_, cancel := f.alerts.Subscribe(1) // a slow subscriber that drops
	defer cancel()
	at := f.now.Add(-time.Minute)
	var batch []tansa.Alert
	for i := range 50 {
		batch = append(batch, match(f.t1, "r1", fmt.Sprintf("ws%d", i), at, fmt.Sprintf("e%d", i)))
	}
	if err := f.alerts.Raise(f.ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same matches again merge: no new alert, nothing heard.
	if err := f.alerts.Raise(f.ctx, batch[:10]); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 50 {
		t.Fatalf("OnNew heard %d alerts, want the 50 created", len(heard))
	}
	seen := map[string]bool{}
	for _, h := range heard {
		if seen[h] {
			t.Errorf("OnNew heard %s twice", h)
		}
		seen[h] = true
	}
}
