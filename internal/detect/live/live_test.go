package live_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/detect/live"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

const rules = `title: Whoami run
id: 11111111-1111-4111-8111-111111111111
status: test
level: high
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
---
title: Failed logon
id: 22222222-2222-4222-8222-222222222222
name: failed_logon
status: test
level: low
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Password spraying on one host
id: 33333333-3333-4333-8333-333333333333
status: test
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 3}
`

type fixture struct {
	ctx    context.Context
	db     *sqlite.DB
	access *access.Service
	alerts *alert.Service
	rules  *ruleset.Service
	sys    access.Caller
	tenant string
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
	f.alerts = alert.New(db, f.access, f.access, nil, alert.Options{})
	f.rules = ruleset.New(db, f.access)
	name := "Acme"
	tn, err := f.access.CreateTenant(ctx, f.sys, access.TenantInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tn.ID
	if _, err := f.rules.Import(ctx, f.sys, []byte(rules), ruleset.ImportInput{Set: "test", Name: "test.yml"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) detector() *live.Detector {
	return live.New(f.rules, f.alerts, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), live.Options{})
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func winEvent(id string, at time.Time, fields map[string]any) events.Record {
	return events.Record{Event: &tansa.Event{ID: id, Time: at, Format: "winevt", Fields: fields}}
}

func proc(id, host, image string, at time.Time) events.Record {
	return winEvent(id, at, map[string]any{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": int64(1), "Computer": host,
		"Image": image, "User": `ACME\bob`, "CommandLine": image + " /all"})
}

func failed(id, host string, at time.Time) events.Record {
	return winEvent(id, at, map[string]any{"Channel": "Security", "EventID": int64(4625), "Computer": host, "TargetUserName": "alice"})
}

func (f *fixture) list(t *testing.T) []tansa.Alert {
	t.Helper()
	got, _, err := f.alerts.List(f.ctx, f.sys, alert.Query{Page: access.Page{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDetectRaisesAndMerges(t *testing.T) {
	f := newFixture(t)
	d := f.detector()
	d.Detect(f.ctx, f.tenant, []events.Record{proc("e1", "ws1", `C:\Windows\System32\whoami.exe`, t0),
		proc("e2", "ws1", `C:\Windows\System32\notepad.exe`, t0), proc("e3", "ws1", `C:\Windows\System32\whoami.exe`, t0.Add(time.Second))})
	got := f.list(t)
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	a := got[0]
	if a.RuleID != "11111111-1111-4111-8111-111111111111" || a.Level != "high" || a.Count != 2 || a.Host != "ws1" || a.User != `ACME\bob` ||
		len(a.Tags) != 2 || len(a.EventIDs) != 2 || a.Kind != tansa.AlertSigma {
		t.Errorf("alert %+v", a)
	}
	if want := `"Image":"C:\\Windows\\System32\\whoami.exe"`; !contains(string(a.Context), want) {
		t.Errorf("context %s does not show the matched field %s", a.Context, want)
	}
	// The failed logons are level low: below the default policy, so they
	// raise nothing of their own, but they feed the correlation.
	d.Detect(f.ctx, f.tenant, []events.Record{proc("e4", "ws1", `C:\x\whoami.exe`, t0.Add(time.Minute)),
		failed("f1", "dc1", t0), failed("f2", "dc1", t0.Add(time.Minute)), failed("f3", "dc1", t0.Add(2*time.Minute))})
	got = f.list(t)
	if len(got) != 2 {
		t.Fatalf("%d alerts after the second batch, want 2 (whoami merged, one correlation): %+v", len(got), got)
	}
	var corr, whoami tansa.Alert
	for _, a := range got {
		if a.Kind == tansa.AlertCorrelation {
			corr = a
		} else {
			whoami = a
		}
	}
	if whoami.Count != 3 {
		t.Errorf("whoami alert count %d, want 3 (merged across batches)", whoami.Count)
	}
	if corr.RuleID != "33333333-3333-4333-8333-333333333333" || corr.Host != "dc1" || len(corr.EventIDs) != 3 || corr.GroupKey != "Computer=dc1" {
		t.Errorf("correlation alert %+v, want host dc1 and events f1..f3", corr)
	}
}

func TestExceptionSuppressesAndCounts(t *testing.T) {
	f := newFixture(t)
	d := f.detector()
	e, err := f.alerts.CreateException(f.ctx, f.sys, alert.ExceptionInput{TenantID: f.tenant, RuleID: "11111111-1111-4111-8111-111111111111",
		Conditions: []alert.Condition{{Field: "CommandLine", Op: alert.OpContains, Values: []string{"inventory"}}}, Reason: "inventory script", Owner: "it"})
	if err != nil {
		t.Fatal(err)
	}
	ev := proc("e1", "ws1", `C:\Windows\System32\whoami.exe`, t0)
	ev.Event.Fields["CommandLine"] = "whoami.exe /all > inventory.txt"
	d.Detect(f.ctx, f.tenant, []events.Record{ev, proc("e2", "ws2", `C:\Windows\System32\whoami.exe`, t0)})
	got := f.list(t)
	if len(got) != 1 || got[0].Host != "ws2" {
		t.Fatalf("alerts %+v, want only ws2's", got)
	}
	ex, _ := f.alerts.Exception(f.ctx, f.sys, e.ID)
	if ex.Hits != 1 || !ex.LastHit.Equal(t0) {
		t.Errorf("exception hits %d last %v, want 1 at %v", ex.Hits, ex.LastHit, t0)
	}
}

func TestSettingsRecompileAndStateSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	d := f.detector()
	d.Detect(f.ctx, f.tenant, []events.Record{failed("f1", "dc1", t0), failed("f2", "dc1", t0.Add(time.Minute))})
	// A restart: the state is saved, a new detector restores it, and the
	// third failure completes the correlation.
	d.Save(f.ctx)
	d2 := f.detector()
	d2.Detect(f.ctx, f.tenant, []events.Record{failed("f3", "dc1", t0.Add(2*time.Minute))})
	if got := f.list(t); len(got) != 1 || got[0].Kind != tansa.AlertCorrelation {
		t.Fatalf("alerts after restart %+v, want the correlation", got)
	}
	// Disabling the whoami rule takes effect on the next batch.
	if _, err := f.rules.Switch(f.ctx, f.sys, f.tenant, []string{"11111111-1111-4111-8111-111111111111"}, false); err != nil {
		t.Fatal(err)
	}
	d2.Detect(f.ctx, f.tenant, []events.Record{proc("e1", "ws1", `C:\x\whoami.exe`, t0)})
	if got := f.list(t); len(got) != 1 {
		t.Errorf("%d alerts after disabling the rule, want still 1", len(got))
	}
	// Switching it on again takes effect as well.
	if _, err := f.rules.Switch(f.ctx, f.sys, f.tenant, []string{"11111111-1111-4111-8111-111111111111"}, true); err != nil {
		t.Fatal(err)
	}
	d2.Detect(f.ctx, f.tenant, []events.Record{proc("e2", "ws9", `C:\x\whoami.exe`, t0)})
	if got := f.list(t); len(got) != 2 {
		t.Errorf("%d alerts after enabling the rule again, want 2", len(got))
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// syslogRules are SigmaHQ-shaped rules for logs that arrive by syslog:
// FortiGate's event log, sshd, Sigma's firewall category (no product), and
// two Linux rules that must not read sshd lines: one of a category
// (endpoint telemetry) and one of another service (auditd).
const syslogRules = `title: FortiGate - New Administrator Account Created
id: cd0a4943-0edd-42cf-b50c-06f77a10d4c1
status: test
level: medium
logsource: {product: fortigate, service: event}
detection:
  selection: {action: 'Add', cfgpath: 'system.admin'}
  condition: selection
---
title: Suspicious OpenSSH Daemon Error
id: e76b413a-83d0-4b94-8e4c-85db4a5b8bdc
status: test
level: medium
logsource: {product: linux, service: sshd}
detection:
  keywords: ['unexpected internal error', 'Corrupted MAC on input']
  condition: keywords
---
title: Cleartext Protocol Usage
id: d7fb8f0e-bd5f-45c2-b467-19571c490aad
status: test
level: medium
logsource: {category: firewall}
detection:
  selection: {dst_port: [21, 23, 80]}
  selection_allow1: {action: [forward, accept]}
  condition: selection and selection_allow1
---
title: Linux process running sshd words
id: 44444444-4444-4444-8444-444444444444
status: test
level: high
logsource: {product: linux, category: process_creation}
detection:
  keywords: ['Corrupted MAC']
  condition: keywords
---
title: auditd sshd words
id: 55555555-5555-4555-8555-555555555555
status: test
level: high
logsource: {product: linux, service: auditd}
detection:
  keywords: ['Corrupted MAC']
  condition: keywords
`

// TestDetectSyslogProducts checks that syslog lines, parsed as ingest
// parses them, meet the rules of the product that reads them (FortiGate,
// Linux sshd) and the product-less firewall rules, and no others.
func TestDetectSyslogProducts(t *testing.T) {
	f := newFixture(t)
	if _, err := f.rules.Import(f.ctx, f.sys, []byte(syslogRules), ruleset.ImportInput{Set: "syslog", Name: "syslog.yml"}); err != nil {
		t.Fatal(err)
	}
	d := f.detector()
	p := normalize.NewParser(nil)
	lines := []string{
		`<189>Nov 22 05:00:00 fw-1 date=2026-11-22 time=05:00:00 devname="fw-1" devid="FG100F0000001" logid="0100044547" type="event" subtype="system" level="information" vd="root" user="admin" ui="GUI(10.0.0.1)" action="Add" cfgtid=1 cfgpath="system.admin" cfgobj="backdoor" msg="Add system.admin backdoor"`,
		`<189>Nov 22 05:00:01 fw-1 date=2026-11-22 time=05:00:01 devname="fw-1" devid="FG100F0000001" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.0.5 srcport=40000 srcintf="port1" dstip=198.51.100.7 dstport=80 dstintf="wan1" sessionid=7 proto=6 action="accept" policyid=3 service="HTTP"`,
		`<189>Nov 22 05:00:02 fw-1 date=2026-11-22 time=05:00:02 devname="fw-1" devid="FG100F0000001" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.0.5 srcport=40001 srcintf="port1" dstip=198.51.100.7 dstport=443 dstintf="wan1" sessionid=8 proto=6 action="accept" policyid=3 service="HTTPS"`,
		`<38>Nov 22 05:00:03 srv-1 sshd[1234]: Corrupted MAC on input.`,
		`<38>Nov 22 05:00:04 srv-1 sshd[1235]: Failed password for invalid user admin from 198.51.100.9 port 50000 ssh2`,
	}
	var recs []events.Record
	for i, l := range lines {
		ev := p.Parse([]byte(l), "", t0)
		ev.ID, ev.TenantID = "s"+strconv.Itoa(i), f.tenant
		recs = append(recs, events.Record{Event: ev})
	}
	// A Windows event with FortiGate's field names is not a FortiGate log.
	recs = append(recs, winEvent("w1", t0, map[string]any{"Channel": "Security", "EventID": int64(4720), "action": "Add", "cfgpath": "system.admin"}))
	d.Detect(f.ctx, f.tenant, recs)
	got := map[string][]string{}
	for _, a := range f.list(t) {
		got[a.RuleTitle] = append(got[a.RuleTitle], a.EventIDs...)
	}
	want := map[string][]string{
		"FortiGate - New Administrator Account Created": {"s0"},
		"Cleartext Protocol Usage":                      {"s1"},
		"Suspicious OpenSSH Daemon Error":               {"s3"},
	}
	if len(got) != len(want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	for title, ids := range want {
		if !slices.Equal(got[title], ids) {
			t.Errorf("%s: events %v, want %v (all alerts: %v)", title, got[title], ids, got)
		}
	}
}
