package playbook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/blocklist"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/playbook/edr/edrfake"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// env is a playbook service over a real SQLite store with one tenant, a
// Defender fake as its "edr" connector, and a runner.
type env struct {
	t       *testing.T
	db      *sqlite.DB
	acc     *access.Service
	svc     *playbook.Service
	runner  *playbook.Runner
	fake    *edrfake.Defender
	tenant  tansa.Tenant
	sys     access.Caller
	analyst access.Caller
	viewer  access.Caller
	cancel  context.CancelFunc
	done    chan struct{}
}

const deviceID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tansa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, acc: access.New(db, access.Options{}), sys: access.Caller{Principal: access.System("test")}}
	name := "Alpha"
	if e.tenant, err = e.acc.CreateTenant(ctx, e.sys, access.TenantInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	e.analyst = access.Caller{Principal: access.Principal{Kind: "user", ID: "u1", Name: "ana", Role: tansa.RoleProviderAnalyst}}
	e.viewer = access.Caller{Principal: access.Principal{Kind: "user", ID: "u2", Name: "vic", Role: tansa.RoleTenantViewer, TenantID: e.tenant.ID}}
	e.fake = edrfake.NewDefender("app", "secret")
	e.fake.AddDevice("pc-042", deviceID)
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	sealer, _ := playbook.NewSealer(bytes.Repeat([]byte{7}, 32))
	e.runner = playbook.NewRunner(db, playbook.ActionDeps{Sealer: sealer, Tenants: e.acc, RetryBase: time.Millisecond}, nil,
		playbook.RunnerOptions{Poll: 20 * time.Millisecond, SingleNode: true})
	e.svc = playbook.NewService(db, e.runner, e.acc, e.acc, sealer)
	if _, err := e.svc.PutConnector(ctx, e.sys, playbook.ConnectorInput{TenantID: e.tenant.ID, Name: "edr", Kind: "defender",
		Config:  map[string]string{"base_url": srv.URL, "token_url": srv.URL + "/t/oauth2/v2.0/token", "client_id": "app"},
		Secrets: map[string]string{"client_secret": "secret"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() { defer close(e.done); e.runner.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

const isolatePlaybook = `name: Isolate after approval
trigger:
  alert: level == "critical" and host != ""
  manual: true
steps:
  - id: approve
    action: approval
    approvers: {roles: [provider-analyst]}
    timeout: 1h
  - id: isolate
    action: edr.isolate
    with: {connector: edr, host: "{{ host }}", comment: "{{ rule }}"}
  - id: block
    action: block
    with: {values: "{{ observables.domain }}"}
    if: len(observables.domain) > 0
tests:
  - name: isolates after approval
    alert: {level: critical, host: pc-042}
    want: {steps: [approve, isolate]}
  - name: quiet
    alert: {level: high, host: pc-042}
    want: {triggered: false}
`

func (e *env) playbook(src string) playbook.Playbook {
	e.t.Helper()
	on := true
	pb, _, err := e.svc.Create(context.Background(), e.sys, playbook.PlaybookInput{TenantID: e.tenant.ID, Source: src, Enabled: &on})
	if err != nil {
		e.t.Fatal(err)
	}
	return pb
}

// wait polls run id until cond holds.
func (e *env) wait(id string, cond func(playbook.Run) bool) playbook.Run {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := e.svc.Run(context.Background(), e.sys, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s stuck in %s (cursor %d, error %q): %+v", id, r.Status, r.Cursor, r.Error, r.Steps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) onlyRun(pb playbook.Playbook) playbook.Run {
	e.t.Helper()
	runs, n, err := e.svc.Runs(context.Background(), e.sys, playbook.RunQuery{PlaybookID: pb.ID, Page: access.Page{Limit: 10}})
	if err != nil || n != 1 {
		e.t.Fatalf("runs: %d, %v; want 1", n, err)
	}
	return runs[0]
}

func status(s string) func(playbook.Run) bool {
	return func(r playbook.Run) bool { return r.Status == s }
}

func TestAlertApprovalIsolateRevert(t *testing.T) {
	e := newEnv(t)
	e.start()
	ctx := context.Background()
	pb := e.playbook(isolatePlaybook)
	alert := tansa.Alert{ID: "alert-1", TenantID: e.tenant.ID, Kind: tansa.AlertSigma, RuleTitle: "Ransomware", Level: "critical", Host: "pc-042",
		Context: json.RawMessage(`{"dns":{"question":{"name":"evil.example"}}}`)}
	// The same alert delivered twice starts one run.
	for range 2 {
		if err := e.svc.Trigger(ctx, []tansa.Alert{alert}); err != nil {
			t.Fatal(err)
		}
	}
	run := e.onlyRun(pb)
	run = e.wait(run.ID, status(playbook.StatusWaiting))
	if e.fake.Calls("isolate", deviceID) != 0 {
		t.Fatal("isolated before approval")
	}
	// A viewer may not decide; an analyst (an approver role) may.
	if _, err := e.svc.Decide(ctx, e.viewer, run.ID, "approve", "approve", ""); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer decides: %v", err)
	}
	if _, err := e.svc.Decide(ctx, e.analyst, run.ID, "approve", "approve", "agreed with the customer"); err != nil {
		t.Fatal(err)
	}
	run = e.wait(run.ID, status(playbook.StatusSucceeded))
	if n := e.fake.Calls("isolate", deviceID); n != 1 {
		t.Errorf("isolate calls %d, want 1", n)
	}
	steps := map[string]playbook.StepRecord{}
	for _, s := range run.Steps {
		steps[s.StepID] = s
	}
	if a := steps["approve"]; a.DecidedBy != "user:ana" || a.Decision != "approve" || a.Decided.IsZero() || a.Comment != "agreed with the customer" {
		t.Errorf("approval record: %+v", a)
	}
	if iso := steps["isolate"]; iso.Status != playbook.StepSucceeded || iso.IdemKey != run.ID+"/isolate" || !strings.Contains(string(iso.Input), "pc-042") ||
		!strings.Contains(string(iso.Output), "action-1") {
		t.Errorf("isolate record: %+v", iso)
	}
	// The block step put evil.example on the tenant's block list, and the
	// intel service's RPZ and EDL carry it.
	intel, err := intelsvc.New(playbook.BlockingIntel{Store: e.db, Blocks: e.db}, e.acc, intelsvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rpz := func() string {
		l, err := intel.BlockList(ctx, e.sys, e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		l.WriteRPZ(&b, intel.RPZ())
		var edl bytes.Buffer
		l.WriteEDL(&edl, blocklist.KindDomain)
		return b.String() + "\n" + edl.String()
	}
	if z := rpz(); !strings.Contains(z, "evil.example CNAME .") || !strings.Contains(z, "\nevil.example\n") {
		t.Errorf("RPZ/EDL after block:\n%s", z)
	}
	// Revert both containments from the run.
	if _, err := e.svc.Revert(ctx, e.analyst, run.ID, "isolate"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Revert(ctx, e.analyst, run.ID, "isolate"); tansa.KindOf(err) != tansa.Conflict {
		t.Errorf("revert twice: %v", err)
	}
	if _, err := e.svc.Revert(ctx, e.analyst, run.ID, "block"); err != nil {
		t.Fatal(err)
	}
	if e.fake.Isolated(deviceID) || e.fake.Calls("release", deviceID) != 1 {
		t.Errorf("after revert: isolated %v, releases %d", e.fake.Isolated(deviceID), e.fake.Calls("release", deviceID))
	}
	if z := rpz(); strings.Contains(z, "evil.example") {
		t.Errorf("RPZ after unblock still has evil.example:\n%s", z)
	}
	run, _ = e.svc.Run(ctx, e.sys, run.ID)
	for _, s := range run.Steps {
		if (s.StepID == "isolate" || s.StepID == "block") && (s.RevertedBy != "user:ana" || s.Reverted.IsZero()) {
			t.Errorf("step %s: reverted by %q at %v", s.StepID, s.RevertedBy, s.Reverted)
		}
	}
}

// TestResumeReconciles stops the runner after a step was recorded as
// started and its isolation reached the console, and checks that the
// restarted runner finds it there instead of isolating again.
func TestResumeReconciles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	src := strings.Replace(isolatePlaybook, "  - id: approve\n    action: approval\n    approvers: {roles: [provider-analyst]}\n    timeout: 1h\n", "", 1)
	pb := e.playbook(strings.Replace(src, "[approve, isolate]", "[isolate]", 1))
	if err := e.svc.Trigger(ctx, []tansa.Alert{{ID: "a2", TenantID: e.tenant.ID, Level: "critical", Host: "pc-042"}}); err != nil {
		t.Fatal(err)
	}
	run := e.onlyRun(pb)
	// What a crash between the call and its record leaves: the step
	// recorded as started, the action done at the vendor.
	in, _ := json.Marshal(map[string]string{"connector": "edr", "host": "pc-042", "comment": "x"})
	rec := &playbook.StepRecord{StepID: "isolate", Action: playbook.ActIsolate, Status: playbook.StepStarted, Input: in, IdemKey: run.ID + "/isolate", Started: time.Now()}
	if err := e.db.SaveStep(ctx, run.ID, rec, playbook.RunUpdate{Status: playbook.StatusRunning, Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ClaimRun(ctx, run.ID, "dead-node", time.Now().Add(time.Hour), time.Now()); err != nil {
		t.Fatal(err)
	}
	fake := e.fake
	fake.Fail(edrfake.Fault{Status: 502, AfterEffect: true, Path: "/isolate"})
	// Deliver the isolation as the dead process did (its answer lost).
	defClient := httptest.NewServer(fake)
	defer defClient.Close()
	tok := postForm(t, defClient.URL+"/t/oauth2/v2.0/token")
	postJSON(t, defClient.URL+"/api/machines/"+deviceID+"/isolate", tok, `{"Comment":"x [tansa:`+run.ID+`/isolate]"}`)
	if fake.Calls("isolate", deviceID) != 1 {
		t.Fatal("setup: the dead process's isolation did not land")
	}
	e.start() // SingleNode: the dead node's lease is cleared
	run = e.wait(run.ID, status(playbook.StatusSucceeded))
	if n := fake.Calls("isolate", deviceID); n != 1 {
		t.Errorf("isolate calls after resume: %d, want 1", n)
	}
	for _, s := range run.Steps {
		if s.StepID == "isolate" && !strings.Contains(string(s.Output), `"reconciled":true`) {
			t.Errorf("isolate output %s, want reconciled", s.Output)
		}
	}
}

func TestDryRunAndManual(t *testing.T) {
	e := newEnv(t)
	e.start()
	ctx := context.Background()
	pb := e.playbook(isolatePlaybook)
	run, err := e.svc.Start(ctx, e.analyst, pb.ID, playbook.StartInput{Alert: map[string]any{"level": "critical", "host": "pc-042"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	run = e.wait(run.ID, status(playbook.StatusSucceeded))
	if n := e.fake.Calls("isolate", deviceID); n != 0 {
		t.Errorf("a dry run isolated %d times", n)
	}
	if len(run.Steps) != 3 || !strings.Contains(string(run.Steps[1].Output), "would") {
		t.Errorf("dry run steps: %+v", run.Steps)
	}
	if _, err := e.svc.Start(ctx, e.viewer, pb.ID, playbook.StartInput{}); tansa.KindOf(err) != tansa.Forbidden {
		t.Errorf("viewer starts: %v", err)
	}
}

func postForm(t *testing.T, u string) string {
	t.Helper()
	res, err := http.PostForm(u, url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"secret"}, "scope": {"x/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	return tok.AccessToken
}

func postJSON(t *testing.T, u, tok, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}
