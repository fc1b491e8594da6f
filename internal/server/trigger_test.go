package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// A new alert starts the playbooks whose trigger it matches, once per
// alert: the merge of a repeated match starts nothing more, and an alert the
// trigger does not match starts nothing.
func TestNewAlertStartsPlaybook(t *testing.T) {
	n := startTansa(t)
	src := `name: Open a case for high alerts
trigger:
  alert: level == "high" and kind == "sigma"
steps:
  - id: open
    action: case.create
    with:
      title: "{{ rule }} on {{ host }}"
      severity: high
      template: malware
`
	n.do("POST", "/api/v1/playbooks", map[string]any{"tenant_id": n.tenant.ID, "source": src, "enabled": true})
	now := time.Now().UTC()
	raise := func(rule, level, host string) {
		t.Helper()
		a := tansa.Alert{TenantID: n.tenant.ID, Kind: tansa.AlertSigma, RuleID: rule, RuleTitle: "Rule " + rule, Level: level,
			Host: host, GroupKey: host, FirstSeen: now, LastSeen: now, EventIDs: []string{rule + host}}
		if err := n.srv.Alerts.Raise(context.Background(), []tansa.Alert{a}); err != nil {
			t.Fatal(err)
		}
	}
	raise("r-high", "high", "pc-1")
	raise("r-high", "high", "pc-1") // merges into the first alert
	raise("r-high", "high", "pc-2")
	raise("r-low", "low", "pc-3")
	deadline := time.Now().Add(30 * time.Second)
	var runs map[string]any
	for time.Now().Before(deadline) {
		runs = n.do("GET", "/api/v1/playbook-runs?tenant="+n.tenant.ID, nil)
		if total, _ := runs["total"].(float64); total >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if total, _ := runs["total"].(float64); total != 2 {
		t.Fatalf("%v playbook runs, want 2 (one per new high alert): %v", runs["total"], runs)
	}
	// The runs open their cases.
	for time.Now().Before(deadline) {
		cs := n.do("GET", "/api/v1/cases?tenant="+n.tenant.ID, nil)
		if total, _ := cs["total"].(float64); total == 2 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Error(fmt.Sprintf("the two runs did not open two cases: %v", n.do("GET", "/api/v1/cases?tenant="+n.tenant.ID, nil)["total"]))
}
