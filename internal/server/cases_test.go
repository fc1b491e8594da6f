package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// TestPlaybookCases drives the adapter as the playbook runner would,
// retries included: a create and a note repeated with the same step key
// happen once.
func TestPlaybookCases(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := access.New(db, access.Options{})
	sys := access.Caller{Principal: access.System("test")}
	name, other := "Osaka plant", "Other"
	tn, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	tn2, _ := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &other})
	svc, err := cases.New(db, acc, acc, cases.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc := playbookCases{svc: svc}
	in := playbook.CaseInput{Key: "run-1/step-open", Title: "C2 beacon from PC-7", Severity: "high", Template: "malware", AlertIDs: []string{"al-1"}}
	id1, err := pc.CreateCase(ctx, tn.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := pc.CreateCase(ctx, tn.ID, in)
	if err != nil || id2 != id1 {
		t.Fatalf("retried create: %s, %v; want the first case %s", id2, err, id1)
	}
	if _, n, _ := svc.Cases(ctx, sys, cases.Query{Page: access.Page{Limit: 0}}); n != 1 {
		t.Errorf("%d cases after a retried create, want 1", n)
	}
	up := playbook.CaseUpdate{Key: "run-1/step-contain", Status: "containment", Note: "isolated PC-7 through Defender"}
	for range 2 {
		if err := pc.UpdateCase(ctx, tn.ID, id1, up); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := svc.Case(ctx, sys, id1)
	notes, _ := svc.Notes(ctx, sys, id1)
	if c.Phase != cases.PhaseContainment || len(notes) != 1 || notes[0].Author != "system:playbook" {
		t.Errorf("after the update and its retry: phase %s, notes %+v", c.Phase, notes)
	}
	if err := pc.UpdateCase(ctx, tn.ID, id1, playbook.CaseUpdate{Key: "k3", Status: "closed"}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("close without a resolution: %v", err)
	}
	if err := pc.UpdateCase(ctx, tn.ID, id1, playbook.CaseUpdate{Key: "k4", Status: "closed:true-positive"}); err != nil {
		t.Fatal(err)
	}
	if c, _ = svc.Case(ctx, sys, id1); c.Resolution != cases.TruePositive {
		t.Errorf("resolution %q", c.Resolution)
	}
	if err := pc.UpdateCase(ctx, tn2.ID, id1, playbook.CaseUpdate{Note: "x"}); tansa.KindOf(err) != tansa.NotFound {
		t.Errorf("another tenant's run updating the case: %v, want NotFound", err)
	}
	// The same key in another tenant is another case.
	if id3, err := pc.CreateCase(ctx, tn2.ID, in); err != nil || id3 == id1 {
		t.Errorf("same key, other tenant: %s %v", id3, err)
	}
}

// TestCaseAlerts links alerts raised through the alert service to a case:
// the case shows their titles and levels, an unknown ID or another
// tenant's alert is refused.
func TestCaseAlerts(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := access.New(db, access.Options{})
	sys := access.Caller{Principal: access.System("test")}
	n1, n2 := "Nagoya", "Sendai"
	t1, _ := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &n1})
	t2, _ := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &n2})
	alerts := alert.New(db, acc, acc, nil, alert.Options{})
	raise := func(tenant, title string) string {
		t.Helper()
		if err := alerts.Raise(ctx, []tansa.Alert{{TenantID: tenant, Kind: tansa.AlertSigma, RuleID: "r-" + title, RuleTitle: title, Level: "high", Host: "PC-1"}}); err != nil {
			t.Fatal(err)
		}
		l, _, err := alerts.List(ctx, sys, alert.Query{Scope: access.Scope{Tenants: []string{tenant}}, Text: title, Page: access.Page{Limit: 1}})
		if err != nil || len(l) != 1 {
			t.Fatalf("raised alert %s: %v %v", title, l, err)
		}
		return l[0].ID
	}
	a1, other := raise(t1.ID, "Mimikatz"), raise(t2.ID, "Elsewhere")
	svc, err := cases.New(db, acc, acc, cases.Options{Alerts: caseAlerts{alerts}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, sys, cases.CaseInput{TenantID: t1.ID, Title: "x", AlertIDs: []string{other}}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("linking another tenant's alert: %v, want Invalid", err)
	}
	if _, err := svc.Create(ctx, sys, cases.CaseInput{TenantID: t1.ID, Title: "x", AlertIDs: []string{"no-such-alert"}}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("linking an unknown alert: %v, want Invalid", err)
	}
	c, err := svc.Create(ctx, sys, cases.CaseInput{TenantID: t1.ID, Title: "Credential dumping on PC-1", AlertIDs: []string{a1}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.AlertsOf(ctx, sys, c)
	if err != nil || len(got) != 1 || got[0].RuleTitle != "Mimikatz" || got[0].Level != "high" {
		t.Errorf("linked alerts: %+v %v", got, err)
	}
}
