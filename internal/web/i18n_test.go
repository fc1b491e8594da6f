package web

import (
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func readCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := consoleFS.ReadFile("console/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return m
}

// verbs returns the fmt verbs of a message in order, so that a translation
// takes the same arguments as the original.
func verbs(msg string) []string {
	return regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`).FindAllString(msg, -1)
}

func TestCataloguesMatch(t *testing.T) {
	en := readCatalogue(t, "en")
	for _, lang := range access.Languages {
		cat := readCatalogue(t, lang)
		for k, msg := range cat {
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s.json: %q is empty", lang, k)
			}
			enMsg, ok := en[k]
			if !ok {
				t.Errorf("%s.json has %q, en.json does not", lang, k)
				continue
			}
			if got, want := verbs(msg), verbs(enMsg); !slices.Equal(got, want) {
				t.Errorf("%s.json %q takes %v, en.json takes %v", lang, k, got, want)
			}
		}
		for k := range en {
			if _, ok := cat[k]; !ok {
				t.Errorf("en.json has %q, %s.json does not", k, lang)
			}
		}
	}
}

// usedKeys finds every message key the console names literally: in
// templates (T "key", .T "key", $.T "key"), in Go (v.T("key"), the title
// key of newView, flash keys, navigation keys), plus the families built at
// run time (role.<role>, lang.<language>).
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where string, re *regexp.Regexp, text string) {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			used[m[1]] = append(used[m[1]], where)
		}
	}
	tmplKey := regexp.MustCompile(`(?:^|[\s({$.])T\s+"([^"]+)"`)
	names, err := fs.Glob(consoleFS, "console/templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := consoleFS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		add(path.Base(n), tmplKey, string(b))
	}
	goKeys := []*regexp.Regexp{
		regexp.MustCompile(`\bT\("([^"]+)"`),
		regexp.MustCompile(`newView\([^,]+, "([^"]+)"\)`),
		regexp.MustCompile(`"(flash\.[a-z0-9_.]+)"`),
		regexp.MustCompile(`"(nav\.[a-z0-9_.]+)"`),
	}
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range goKeys {
			add(f.Name(), re, string(b))
		}
	}
	for _, r := range tansa.Roles {
		used["role."+string(r)] = append(used["role."+string(r)], "role labels")
	}
	used["role.system"] = append(used["role.system"], "role labels")
	for _, l := range access.Languages {
		used["lang."+l] = append(used["lang."+l], "language labels")
	}
	return used
}

func TestCatalogueHasEveryUsedKey(t *testing.T) {
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use; the patterns no longer match the code", len(used))
	}
	for _, lang := range access.Languages {
		cat := readCatalogue(t, lang)
		for _, k := range slices.Sorted(maps.Keys(used)) {
			if _, ok := cat[k]; !ok {
				t.Errorf("%s.json lacks %q, used in %s", lang, k, strings.Join(slices.Compact(used[k]), ", "))
			}
		}
	}
}

// samplePages gives every page template data of the shape its handler
// passes, with something in every list so that each row renders.
func samplePages(hq, vn tansa.Tenant) map[string]any {
	now := time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)
	user := tansa.User{ID: "u1", Username: "hq-viewer", Name: "Hana", Email: "hana@example.test", Role: tansa.RoleTenantViewer,
		TenantID: hq.ID, LastLogin: now, LockedUntil: now.Add(time.Hour)}
	disabled := tansa.User{ID: "u2", Username: "gone", Role: tansa.RoleProviderAnalyst, Disabled: true}
	token := tansa.Token{ID: "k1", Name: "proxy", Role: tansa.RoleIngest, TenantID: vn.ID, Prefix: "tansa_abcdef", Created: now,
		Creator: "user:admin", Expires: now.Add(24 * time.Hour)}
	revoked := tansa.Token{ID: "k2", Name: "old", Role: tansa.RoleProviderAdmin, Prefix: "tansa_zyxwvu", Created: now, Revoked: now}
	pg := pager{From: 1, To: 2, Total: 40, Prev: "/x?offset=0", Next: "/x?offset=4"}
	return map[string]any{
		"error": 404,
		"login": "/admin/users",
		"home":  homeData{Tenants: []tansa.Tenant{hq, vn}, Total: 2},
		"settings": settingsPage{Form: settingsForm{Name: "Ada", Email: "ada@example.test", Language: "ja", TimeZone: "Asia/Tokyo", Known: true},
			TimeZones: timeZones(), PasswordError: "Not saved: password: at least 12 characters"},
		"tenants": tenantsPage{Items: []tansa.Tenant{hq, vn}, Q: "sakura", Pager: pg, Form: tenantForm{Name: "x", Language: "en", TimeZone: "UTC"},
			TimeZones: timeZones()},
		"tenant": tenantPage{Tenant: hq, Form: tenantForm{Name: hq.Name, Language: hq.Language, TimeZone: hq.TimeZone},
			Contacts: withBlankContacts(hq.Contacts), TimeZones: timeZones()},
		"users": usersPage{Items: []tansa.User{user, disabled}, Q: "h", Role: "tenant-viewer", Tenant: hq.ID, Pager: pg, Roles: peopleRoles(),
			Grantable: grantable(tansa.RoleProviderAdmin, true), Form: userForm{Username: "new", Role: "tenant-viewer", TenantID: hq.ID},
			Back: "/admin/users?q=h", Now: now},
		"password_reset": passwordResetPage{User: user, Password: "s3cret-s3cret-s3cret", Back: "/admin/users"},
		"tokens": tokensPage{Items: []tansa.Token{token, revoked}, Pager: pg, Grantable: grantable(tansa.RoleProviderAdmin, false),
			Form: tokenForm{Name: "n", Role: "ingest", TenantID: vn.ID, ExpiresIn: "720h"}, Now: now},
		"token_created": tokenCreatedPage{Token: token, Secret: "tansa_secret"},
		"audit": auditPage{Items: []auditRow{{AuditEntry: tansa.AuditEntry{ID: 1, Time: now, TenantID: hq.ID, Actor: "user:admin",
			Addr: "192.0.2.1", Action: "tenant.update", ObjectType: "tenant", ObjectID: hq.ID},
			BeforeJSON: `{"name": "a"}`, AfterJSON: `{"name": "b"}`}, {AuditEntry: tansa.AuditEntry{Action: "login.fail"}}},
			Filter: auditFilter{Action: "user.", Since: "2026-04-01T00:00"}, Pager: pg},
		"events": eventsPage{Items: []tansa.Event{sampleEvent, {ID: "e2", TenantID: vn.ID, Time: now, Format: "raw", Raw: []byte("?"), ParseError: "col 1: x"}},
			Filter: eventsFilter{Q: "failed", Fields: map[string]string{"source.ip": "198.51.100.7"}}, Pager: pg, Default: true,
			Side: []sideField{{Field: "source.ip", Values: []events.FieldCount{{Value: "198.51.100.7", Count: 3}}}}, Export: "q=failed"},
		"event": eventPage{Event: sampleEvent, Fields: []fieldRow{{Name: "source.ip", Value: "198.51.100.7"}}},
		// Endpoint sweeps.
		"endpoints": endpointsPage{Coverage: fleet.Coverage{Days: 7, Total: 3, Recent: 1, Stale: 1, Never: 1},
			Items: []fleet.Asset{sampleAsset, {ID: "a2", TenantID: vn.ID, Hostname: "never-pc", IPs: []string{}}}, Pager: pg, Swept: "never", Days: 7,
			Artifact: &fleet.Prevalence{Artifact: fleet.Artifact{Kind: "process", Value: "/tmp/x"}, ID: "1f", Assets: 1},
			Key:      fleetKeyBody{Recipient: "age1xyz", ScanExample2: "tansa scan --out x"}, Findings: []fleet.Finding{sampleFinding}},
		"endpoint": endpointPage{Asset: sampleAsset, Pager: pg, Sweeps: []fleet.Sweep{sampleSweep, sampleSweep},
			Findings: []findingView{{Finding: sampleFinding, Reviews: []fleet.Review{{Actor: "user:it", Time: now, Verdict: fleet.VerdictBenign, Comment: "IT's backup agent"}}}}},
		"endpoint_diff": fleet.Diff{From: sampleSweep, To: sampleSweep, Added: []fleet.Artifact{{Kind: "autorun", Value: "cron: x"}},
			Removed: []fleet.Artifact{{Kind: "process", Value: "/usr/bin/y"}}, NewFindings: []result.Finding{sampleFinding.Finding}, GoneFindings: []result.Finding{}},
		"prevalence": prevalencePage{Kinds: fleet.ArtifactKinds, Kind: "process", Q: "tmp", Pager: pg, Assets: 20000,
			Items: []fleet.Prevalence{{Artifact: fleet.Artifact{Kind: "process", Value: "/tmp/x"}, ID: "1f", Assets: 1}}},
		"packages": packagesPage{Platforms: []fleet.Platform{{Name: "windows-amd64", OS: "windows", Arch: "amd64", Bytes: 9e6, Built: now},
			{Name: "linux-amd64-yara", OS: "linux", Arch: "amd64", YARA: true}}, Key: fleetKeyBody{PackageKey: "pk"}, Tenant: hq.ID, Pager: pg,
			Campaigns: []fleet.CampaignProgress{{Campaign: fleet.Campaign{ID: "c1", TenantID: hq.ID, Name: "weekly", Interval: 168 * time.Hour}, Since: now, Swept: 3, Assets: 10},
				{Campaign: fleet.Campaign{ID: "c2", TenantID: vn.ID, Name: "once"}, Since: now}}},
		// Cases.
		"cases": casesPage{Items: []caseBody{toCaseBody(sampleCase, now), toCaseBody(sampleClosed, now)}, Pager: pg, Phases: cases.Phases,
			Severities: cases.Severities, Templates: sampleTemplates(), Filter: caseFilter{State: "open", Breached: true}, Now: now},
		"case": casePage{caseDetail: caseDetail{caseBody: toCaseBody(sampleClosed, now), Alerts: []alertSummary{{ID: "al1", RuleTitle: "Emotet C2", Level: "high"}},
			Tasks:       []cases.Task{{ID: "k1", Position: 1, Phase: cases.PhaseTriage, Title: "感染端末を特定する", Status: cases.TaskOpen, Due: now, OwnerName: "Aoki"}},
			Notes:       []cases.Note{{ID: "n1", Author: "user:aoki", Body: "line 1\nline 2", Created: now}},
			Observables: []cases.ObservableView{{Observable: cases.Observable{ID: "o1", Type: "ipv4", Value: "203.0.113.5"}, Known: []cases.IntelMatch{{IndicatorID: "i1", TLP: "amber"}}}, {Observable: cases.Observable{ID: "o2", Type: "domain", Value: "a.example"}}},
			Evidence:    []cases.Evidence{{ID: "v1", Name: "mail.eml", Size: 10, SHA256: "ab", Uploader: "user:aoki", Uploaded: now}}},
			Tab: "summary", Tabs: caseTabs, Timeline: []cases.Entry{{ID: 1, Time: now, Actor: "user:aoki", Kind: "case.create", Text: "created"}}, TimelinePgr: pg,
			Phases: cases.Phases, Resolutions: cases.Resolutions, Severities: cases.Severities, Statuses: cases.TaskStatuses,
			People: []tansa.User{user}, Me: "u9", HasAlerts: true, CanHunt: true, CanIntel: true, Now: now},
		"case_templates": templatesPage{Tenant: hq.ID, Items: []templateRow{{Template: sampleTemplates()[0], YAML: "type: x"}}, Edit: "type: x", CanChange: true},
		"tracker": trackerPage{Items: []cases.TrackerRow{{Kind: "case", ID: "c1", CaseID: "c1", Title: "Emotet", Status: "triage", Severity: "high", Due: now},
			{Kind: "task", ID: "k1", CaseID: "c1", Title: "Isolate", CaseTitle: "Emotet", Status: "in-progress", Severity: "high", OwnerName: "Aoki"}},
			Pager: pg, Severities: cases.Severities, Statuses: []string{"triage", "open"}, Export: "/api/v1/case-tracker?format=csv", Me: "u9", Now: now},
		// Playbooks (issue #7).
		"playbooks": playbooksPage{Items: []playbook.Playbook{samplePlaybook(hq, now)}, Pager: pg, Builtins: builtinPlaybooks(),
			Form: playbookForm{TenantID: hq.ID, Source: "name: x", Check: &sampleCheck}},
		"playbook": playbookPage{Playbook: samplePlaybook(hq, now), Form: playbookForm{Source: "name: x", Version: 2, Check: &sampleCheck},
			Runs: []playbook.Run{sampleRun(hq, now)}, RunsTotal: 1, Triggered: `level == "critical"`, Manual: true, SampleJSON: "{}"},
		"runs": runsPage{Runs: []playbook.Run{sampleRun(hq, now), sampleRun(vn, now)}, Pager: pg, Status: "waiting",
			Statuses: []string{playbook.StatusRunning, playbook.StatusWaiting, playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusRejected}},
		"run": runPage{Run: sampleRun(hq, now), Alert: "{}", Steps: []runStep{
			{ID: "approve", Action: playbook.ActApproval, Approvers: "tenant-admin", CanDecide: true,
				Record: &playbook.StepRecord{StepID: "approve", Status: playbook.StepSucceeded, Started: now, Decision: "timeout", DecidedBy: "timeout", Decided: now}},
			{ID: "isolate", Action: playbook.ActIsolate, Input: `{"host": "pc-1"}`, Output: "{}", CanRevert: true,
				Record: &playbook.StepRecord{StepID: "isolate", Status: playbook.StepStarted, Started: now, Finished: now, Attempts: 2, IdemKey: "r/isolate",
					Reverted: now, RevertedBy: "user:ana", Error: "HTTP 502"}},
			{ID: "block", Action: playbook.ActBlock, CanRevert: true},
		}},
		"connectors": connectorsPage{Items: []playbook.ConnectorView{{Connector: playbook.Connector{TenantID: hq.ID, Name: "edr", Kind: "defender",
			Config: map[string]string{"client_id": "x"}, Updated: now}, SecretsSet: []string{"client_secret"}}},
			Kinds: playbook.ConnectorKinds, Form: connectorForm{TenantID: hq.ID, Kind: "smtp"}},
		// Threat intelligence (issue #5).
		"intel": intelSearchPage{Filter: intelFilter{Q: "45.77", Type: "ipv4"}, Types: intel.Types(), Pager: pg, Export: "q=45.77",
			Items: []indicatorBody{sampleIndicator, {ID: "i2", Type: intel.TypeDomain, Value: "dns.google", Allowlisted: "public DNS", Tags: []string{}}}},
		"indicator": indicatorPage{Ind: sampleIndicator, HitsTotal: 2,
			Sightings: []sightingRow{{Sighting: intel.Sighting{TenantID: hq.ID, Where: "ws01", When: now, Count: 2, Ref: "e1"}, Event: true},
				{Sighting: intel.Sighting{TenantID: hq.ID, Where: "retro-hunt sweeps", When: now, Ref: "sweep:s1"}}},
			Hits: []hitBody{{HuntID: "h1", IndicatorID: "i1", Value: "45.77.61.11", Source: "events", Ref: "e1", Time: now},
				{HuntID: "h1", IndicatorID: "i1", Value: "45.77.61.11", Source: "sweeps", Ref: "s1", Time: now}},
			Hunts: []retro.Job{sampleHunt}},
		"intel_import": intelImportPage{Formats: []importer.Format{importer.FormatAuto, importer.FormatText}, Source: "c2.txt", Pager: pg,
			Result: &importer.Result{Format: importer.FormatText, Items: 3, Added: 2, RejectedCount: 1, Rejected: []importer.Rejection{{Item: "line 3", Reason: "not an indicator"}}},
			Imports: []importBody{{ID: "im1", TenantID: hq.ID, Time: now, Actor: "user:admin", Source: "c2.txt",
				Result: importer.Result{Format: importer.FormatText, Items: 3, Added: 2, Rejected: []importer.Rejection{{Item: "line 3", Reason: "x"}}}}, {ID: "im2", Time: now}}},
		"intel_feeds": intelFeedsPage{Kinds: []string{"taxii", "url", "file"}, Pager: pg,
			Items: []feedBody{{ID: "f1", TenantID: hq.ID, Name: "partner", Kind: feeds.KindTAXII, Source: "https://taxii.example/taxii2/", Interval: "1h0m0s", Enabled: true,
				LastPull: now, LastStatus: "ok", LastResult: &feeds.Summary{Added: 3}}, {ID: "f2", Name: "list", Kind: feeds.KindURL, LastPull: now, LastStatus: "error", LastError: "404"},
				{ID: "f3", Name: "new", Kind: feeds.KindFile}}},
		"intel_hunts": huntsPage{Items: []retro.Job{sampleHunt, {ID: "h2", TenantID: vn.ID, Origin: retro.OriginFeed, Status: retro.StatusFailed, Error: "x"}}, Pager: pg},
		"intel_hunt": huntPage{Job: sampleHunt, Percent: 50, Pager: pg,
			Hits: []hitBody{{HuntID: "h1", IndicatorID: "i1", Value: "45.77.61.11", Source: "events", Ref: "e1", Time: now}, {Source: "sweeps", Ref: "s1"}}},
		// Detection (alerts engineer).
		"alerts": alertsPage{Items: []tansa.Alert{sampleAlert(hq.ID, now), {ID: "a2", TenantID: vn.ID, Kind: tansa.AlertCorrelation, RuleTitle: "Spray",
			Level: "critical", Count: 9, Status: tansa.AlertClosed, CloseReason: "benign", LastSeen: now}},
			Filter: alertsFilter{Status: "open", MinLevel: "high", Sort: "level"}, Pager: pg, Reasons: alert.CloseReasons, Levels: tansa.Levels,
			Sorts: alert.Sorts, Statuses: []string{"open", "new", "acknowledged", "closed", "all"}, Back: "/alerts"},
		"alert": alertPage{Alert: sampleAlert(hq.ID, now), Fields: []contextRow{{"CommandLine", "netsh"}}, Context: []contextRow{{"channel", "Security"}},
			Reasons: alert.CloseReasons, Back: "/alerts/a1", ExceptionURL: "/exceptions?rule=r1"},
		"rules": rulesPage{Versions: []ruleset.Version{{ID: "v1", Set: "sigmahq", Version: 2, Time: now, Rules: 3000, Live: true}, {ID: "v2", TenantID: hq.ID, Set: "local", Version: 1}},
			Rules:    []ruleset.Rule{{RuleID: "r1", Title: "Netsh", Level: "high", Status: "test", Kind: "detection", Enabled: true}, {RuleID: "r2", Title: "Chain", Kind: "correlation"}},
			Settings: ruleset.DefaultSettings(hq.ID), HasTenant: true, Q: "net", Pager: pg, Back: "/rules"},
		"exceptions": exceptionsPage{Items: []alert.Exception{{ID: "x1", TenantID: hq.ID, RuleID: "r1", Host: "ws1", Reason: "backup", Owner: "it",
			Conditions: []alert.Condition{{Field: "CommandLine", Op: alert.OpContains, Values: []string{"backup"}}}, Hits: 4, LastHit: now, Expires: now.Add(-time.Hour)},
			{ID: "x2", TenantID: vn.ID, RuleID: "r2", Reason: "lab", Owner: "lab"}}, Pager: pg, Ops: alert.Ops, Now: now,
			Form: alert.ExceptionInput{RuleID: "r1"}, Field: alert.Condition{Op: alert.OpEquals, Values: []string{"x"}}},
	}
}

var (
	sampleIndicator = indicatorBody{ID: "i1", TenantID: "t", Type: intel.TypeIPv4, Value: "45.77.61.11", Name: "C2", Confidence: 80, TLP: intel.TLPAmber,
		Active: true, Source: "partner", Tags: []string{"c2"}, Techniques: []string{"T1071"}, KillChain: []killChainBody{{Chain: "mitre-attack", Phase: "command-and-control"}},
		Context: indicatorContextBody{ThreatActors: []string{"APT-X"}, Campaigns: []string{"Op Y"}, Malware: []string{"Z"}, Motives: []string{"espionage"},
			Sectors: []string{"energy"}, Regions: []string{"JP"}, IntrusionRoutes: []string{"vpn-exploit"}, Handling: "block and isolate", Description: "d"},
		Relations: []relationBody{{Kind: "indicates", TargetType: "malware", TargetName: "Z", TargetID: "malware--1"}}}
	sampleHunt = retro.Job{ID: "h1", TenantID: "t", Origin: retro.OriginImport, Ref: "im1", Actor: "user:admin", Days: 90, Status: retro.StatusRunning,
		Total: 10, Done: 5, Hits: 2, Created: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	sampleAsset = fleet.Asset{ID: "a1", TenantID: "t", Hostname: "pc-001", Domain: "corp.example", OS: "windows", IPs: []string{"10.0.0.1"},
		LastSeen: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), Sweeps: 2, Findings: 1, MaxScore: 75}
	sampleSweep   = fleet.Sweep{ID: "s1", TenantID: "t", AssetID: "a1", Hostname: "pc-001", Started: sampleAsset.LastSeen, Received: sampleAsset.LastSeen, Scanner: "tansa-scan dev", Findings: 1}
	sampleFinding = fleet.Finding{ID: "s1:0", TenantID: "t", AssetID: "a1", SweepID: "s1", Hostname: "pc-001", Key: "rule|process|/tmp/x|",
		Verdict: fleet.VerdictMalicious, Finding: result.NewFinding("heuristic.x", 75, "k", "{p} runs from temp", map[string]string{"p": "/tmp/x"},
			result.Subject{Kind: "process", Path: "/tmp/x"}, "T1204")}
)

// sampleCase and sampleClosed are cases for the page-rendering tests.
var (
	sampleCase = cases.Case{ID: "c1", TenantID: "t", Title: "Emotet on PC-0042", Severity: "high", Phase: cases.PhaseTriage,
		AlertIDs: []string{"al1"}, Created: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), AckDue: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	sampleClosed = cases.Case{ID: "c2", TenantID: "t", Title: "Invoice phish", Severity: "medium", Phase: cases.PhaseClosed, Resolution: cases.FalsePositive,
		Type: "phishing", Reopened: 1, AssigneeName: "Aoki", Description: "text", Created: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Closed: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
)

func sampleTemplates() []cases.Template {
	ts, err := cases.Builtins()
	if err != nil {
		panic(err)
	}
	ts[1].TenantID = "t"
	return ts
}

// sampleEvent is an event for the page-rendering tests.
var sampleEvent = tansa.Event{ID: "e1", TenantID: "t", Time: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), Source: "hec", Format: "sshd",
	Raw: []byte("Failed password for root from 198.51.100.7"), Fields: map[string]any{"source.ip": "198.51.100.7", "message": "Failed password"}}

// TestEveryPageRenders executes every page template in both languages for
// a provider administrator and a tenant viewer, so a template that breaks
// for one audience or language fails here rather than in front of a user.
func TestEveryPageRenders(t *testing.T) {
	e := newConsoleEnv(t)
	samples := samplePages(e.hq, e.vn)
	for name := range e.srv.pages.tmpl {
		if _, ok := samples[name]; !ok {
			t.Errorf("template %s has no sample data in samplePages; add it", name)
		}
	}
	sys := access.Caller{Principal: access.System("test")}
	for _, username := range []string{"admin", "hq-viewer"} {
		u, err := e.access.User(t.Context(), sys, e.userID(username))
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range access.Languages {
			p := access.Principal{Kind: "user", ID: u.ID, Name: u.Username, Role: u.Role, TenantID: u.TenantID, Language: lang}
			for name, tmpl := range e.srv.pages.tmpl {
				r := withPrincipal(httptest.NewRequest("GET", "/admin/x", nil), p)
				v := e.srv.newView(r, name+".title")
				v.Data = samples[name]
				v.Error = "Not saved: something"
				v.Flash = "flash.user_created"
				if err := tmpl.Execute(io.Discard, v); err != nil {
					t.Errorf("%s as %s in %s: %v", name, username, lang, err)
				}
			}
		}
	}
}

var sampleCheck = playbook.Checked{Problems: playbook.Problems{{Line: 3, Message: "unknown name levle"}},
	Tests: []playbook.TestResult{{Name: "t", Line: 9, Failures: []string{"steps [], want [a]"}}, {Name: "u", Line: 12, Passed: true}}}

func samplePlaybook(t tansa.Tenant, now time.Time) playbook.Playbook {
	return playbook.Playbook{ID: "p1", TenantID: t.ID, Name: "Block C2", Version: 2, Enabled: true, Source: "name: Block C2", Created: now, Updated: now, UpdatedBy: "user:ana"}
}

func sampleRun(t tansa.Tenant, now time.Time) playbook.Run {
	return playbook.Run{ID: "r1", TenantID: t.ID, PlaybookID: "p1", Playbook: "Block C2", Version: 2, Status: playbook.StatusWaiting, DryRun: true,
		Trigger: "alert", StartedBy: "alert:rule-1", CaseID: "c1", Error: "step x: failed", Created: now, Updated: now}
}

// sampleAlert is an alert of tenant with everything filled in.
func sampleAlert(tenant string, now time.Time) tansa.Alert {
	return tansa.Alert{ID: "a1", TenantID: tenant, Kind: tansa.AlertSigma, RuleID: "r1", RuleTitle: "Netsh port forwarding", Level: "high",
		Tags: []string{"attack.t1090"}, Host: "ws1", User: "bob", Count: 120, FirstSeen: now, LastSeen: now, EventIDs: []string{"e1"},
		Status: tansa.AlertAcknowledged, Assignee: "u1"}
}
