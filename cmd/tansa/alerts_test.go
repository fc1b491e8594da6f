package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func TestRulesImportHelp(t *testing.T) {
	out, _, err := runCmd(t, testEnv(nil), "rules", "import", "--help")
	if err != nil || !strings.Contains(out, "--server") || !strings.Contains(out, "medium") {
		t.Errorf("rules import --help: %v\n%s", err, out)
	}
}

// TestAlertsEndToEnd imports a SigmaHQ rule with tansa rules import, sends
// a real attack sample (EVTX) over HEC with tansa ingest, and finds the
// alert through the API; the same events again raise its count; an
// exception then suppresses them and counts the suppressed match.
func TestAlertsEndToEnd(t *testing.T) {
	rule := shareddata.Path(t, "sigma/rules/windows/process_creation/proc_creation_win_netsh_port_forwarding_3389.yml")
	sample := shareddata.Path(t, "evtx/EVTX-to-MITRE-Attack/TA0011-Command and Control/T1572-Protocol tunneling/ID4688-netsh RDP port forwarding abuse.evtx")
	const ruleID = "782d6f3e-4c5d-4b8c-92a3-1d05fed72e63"
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	_, token := cliTenant(t, getenv, dir, "Offsec Lab")
	admin, ingest := token("tenant-admin"), token("ingest")

	out, errOut, err := runCmd(t, testEnv(nil), "rules", "import", "--server", srv.base, "--token", admin, "--set", "sigmahq", rule)
	if err != nil || !strings.Contains(out, "version 1, live") || !strings.Contains(out, "\t1 rules\t0 rejected") {
		t.Fatalf("rules import: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	c := newClient(t, srv.base)
	c.auth = "Bearer " + admin
	var rules struct {
		Items []struct {
			RuleID  string `json:"rule_id"`
			Enabled bool   `json:"enabled"`
		}
		Total int
	}
	c.getJSON("/api/v1/rules", &rules)
	if rules.Total != 1 || rules.Items[0].RuleID != ruleID || !rules.Items[0].Enabled {
		t.Fatalf("rules of the tenant: %+v, want the imported rule, enabled (test, high)", rules)
	}

	send := func(n int) {
		t.Helper()
		state := filepath.Join(t.TempDir(), "state.json")
		out, errOut, err := runCmd(t, testEnv(nil), "ingest", "--server", srv.base, "--token", ingest, "--state", state, sample)
		if err != nil {
			t.Fatalf("ingest %d: %v\nstdout %s\nstderr %s", n, err, out, errOut)
		}
	}
	type list struct {
		Items []tansa.Alert
		Total int
	}
	waitFor := func(what string, ok func(l list) bool) list {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var l list
			c.getJSON("/api/v1/alerts?rule="+ruleID, &l)
			if ok(l) {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: alerts %+v", what, l)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	send(1)
	l := waitFor("the first import raises an alert", func(l list) bool { return l.Total == 1 })
	a := l.Items[0]
	if a.Level != "high" || a.Host != "fs01.offsec.lan" || a.Count != 1 || len(a.EventIDs) != 1 || a.Kind != tansa.AlertSigma ||
		!strings.Contains(string(a.Context), "connectp=3389") || a.Status != tansa.AlertNew {
		t.Errorf("alert %+v", a)
	}
	var ev struct {
		ID string `json:"id"`
	}
	c.getJSON("/api/v1/events/"+a.EventIDs[0], &ev)
	if ev.ID != a.EventIDs[0] {
		t.Errorf("the alert's event %s: got %q", a.EventIDs[0], ev.ID)
	}

	send(2)
	waitFor("the same events again merge into the alert", func(l list) bool { return l.Total == 1 && l.Items[0].Count == 2 })

	var ex alert.Exception
	c.postJSON("/api/v1/exceptions", map[string]any{"rule_id": ruleID, "host": "fs01.offsec.lan",
		"conditions": []map[string]any{{"field": "CommandLine", "op": "contains", "values": []string{"connectp=3389"}}},
		"reason":     "lab host, port forwarding is its job", "owner": "lab team"}, 201, &ex)
	send(3)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c.getJSON("/api/v1/exceptions/"+ex.ID, &ex)
		if ex.Hits == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exception hits %d, want 1", ex.Hits)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if l := waitFor("", func(list) bool { return true }); l.Total != 1 || l.Items[0].Count != 2 {
		t.Errorf("after the exception: %d alerts, count %d; want the alert unchanged at 2", l.Total, l.Items[0].Count)
	}

	// Bulk close with a reason, audited.
	var closed list
	c.postJSON("/api/v1/alerts/triage", map[string]any{"action": "close", "reason": "benign", "ids": []string{a.ID}}, 200, &closed)
	if closed.Items[0].Status != tansa.AlertClosed || closed.Items[0].CloseReason != "benign" {
		t.Errorf("after close: %+v", closed.Items[0])
	}
	var audit struct{ Total int }
	c.getJSON("/api/v1/audit?action=alert.close&limit=0", &audit)
	if audit.Total != 1 {
		t.Errorf("alert.close audit entries: %d, want 1", audit.Total)
	}
}
