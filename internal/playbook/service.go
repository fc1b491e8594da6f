package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Auditor appends audit entries; *access.Service implements it.
type Auditor interface {
	Record(ctx context.Context, c access.Caller, action, objType, objID, tenantID string) error
}

// Service is the playbooks' domain API: it checks permissions and tenant
// walls, keeps versions, starts runs (on alerts and by hand), takes
// approval decisions and reverts containment. It is safe for concurrent
// use.
type Service struct {
	store   Store
	runner  *Runner
	tenants Tenants
	audit   Auditor
	sealer  *Sealer
	now     func() time.Time

	mu        sync.Mutex
	triggers  map[string][]armed // tenant → enabled playbooks with an alert trigger
	loadedAt  time.Time
	refreshed time.Duration
}

type armed struct {
	pb  Playbook
	def *Definition
}

// NewService returns the service. runner executes the runs it starts.
func NewService(store Store, runner *Runner, tenants Tenants, audit Auditor, sealer *Sealer) *Service {
	return &Service{store: store, runner: runner, tenants: tenants, audit: audit, sealer: sealer, now: time.Now, refreshed: 30 * time.Second}
}

func actor(c access.Caller) string { return c.Kind + ":" + c.Name }

// tenantFor resolves the tenant a caller acts in: the one named, or the
// caller's only tenant.
func (s *Service) tenantFor(ctx context.Context, c access.Caller, tenant string) (string, error) {
	if tenant == "" {
		switch {
		case c.TenantID != "":
			tenant = c.TenantID
		case c.Current != "":
			tenant = c.Current
		case len(c.Tenants) == 1:
			tenant = c.Tenants[0]
		default:
			return "", tansa.Errorf(tansa.Invalid, "tenant: name the tenant (tenant_id)")
		}
	}
	if !c.CanAccess(tenant) {
		return "", tansa.Errorf(tansa.NotFound, "tenant %q not found", tenant)
	}
	if _, err := s.tenants.Tenant(ctx, c, tenant); err != nil {
		return "", err
	}
	return tenant, nil
}

// Checked is a document's validation: its problems by line, or the
// results of its test cases.
type Checked struct {
	Valid    bool         `json:"valid"`
	Problems Problems     `json:"problems"`
	Tests    []TestResult `json:"tests"`
	Passed   bool         `json:"passed"` // valid and every test case passed
}

// Check validates a document and runs its test cases; it stores nothing.
func (s *Service) Check(ctx context.Context, c access.Caller, src string) (Checked, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return Checked{}, err
	}
	return check(ctx, src), nil
}

func check(ctx context.Context, src string) Checked {
	d, err := Parse([]byte(src))
	if err != nil {
		ps := ProblemsOf(err)
		if ps == nil {
			ps = Problems{{Message: err.Error()}}
		}
		return Checked{Problems: ps, Tests: []TestResult{}}
	}
	res := Checked{Valid: true, Problems: Problems{}, Tests: d.RunTests(ctx), Passed: true}
	for _, t := range res.Tests {
		res.Passed = res.Passed && t.Passed
	}
	return res
}

// PlaybookInput creates or changes a playbook.
type PlaybookInput struct {
	TenantID string
	Source   string
	Enabled  *bool
	// Version is the version the editor started from; a save over a newer
	// one is a tansa.Conflict.
	Version int
}

// Create stores a new playbook after validating it. A playbook whose
// test cases fail is stored but cannot be enabled.
func (s *Service) Create(ctx context.Context, c access.Caller, in PlaybookInput) (Playbook, Checked, error) {
	if err := c.Require(access.PermPlaybookWrite); err != nil {
		return Playbook{}, Checked{}, err
	}
	tenant, err := s.tenantFor(ctx, c, in.TenantID)
	if err != nil {
		return Playbook{}, Checked{}, err
	}
	d, chk, err := s.validated(ctx, in)
	if err != nil {
		return Playbook{}, chk, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	pb := Playbook{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Name: d.Name, Version: 1, Enabled: in.Enabled != nil && *in.Enabled,
		Source: in.Source, Created: now, Updated: now, UpdatedBy: actor(c)}
	if err := s.store.CreatePlaybook(ctx, pb); err != nil {
		return Playbook{}, chk, err
	}
	s.audited(ctx, c, "playbook.create", pb.ID, tenant)
	s.invalidate()
	return pb, chk, nil
}

func (s *Service) validated(ctx context.Context, in PlaybookInput) (*Definition, Checked, error) {
	chk := check(ctx, in.Source)
	if !chk.Valid {
		return nil, chk, chk.Problems.Err()
	}
	if in.Enabled != nil && *in.Enabled && !chk.Passed {
		var failed []string
		for _, t := range chk.Tests {
			if !t.Passed {
				failed = append(failed, fmt.Sprintf("line %d: test %q: %s", t.Line, t.Name, strings.Join(t.Failures, "; ")))
			}
		}
		return nil, chk, tansa.Errorf(tansa.Invalid, "a playbook whose tests fail cannot be enabled: %s", strings.Join(failed, "; "))
	}
	d, _ := Parse([]byte(in.Source))
	return d, chk, nil
}

// Update saves a new version (when the source changed) or switches the
// playbook on or off.
func (s *Service) Update(ctx context.Context, c access.Caller, id string, in PlaybookInput) (Playbook, Checked, error) {
	if err := c.Require(access.PermPlaybookWrite); err != nil {
		return Playbook{}, Checked{}, err
	}
	pb, err := s.reachable(ctx, c, id)
	if err != nil {
		return Playbook{}, Checked{}, err
	}
	if in.Source == "" {
		in.Source = pb.Source
	}
	if in.Enabled == nil {
		in.Enabled = &pb.Enabled
	}
	if in.Version == 0 {
		in.Version = pb.Version
	}
	d, chk, err := s.validated(ctx, in)
	if err != nil {
		return Playbook{}, chk, err
	}
	next := pb
	next.Name, next.Enabled, next.Updated, next.UpdatedBy = d.Name, *in.Enabled, s.now().UTC().Truncate(time.Microsecond), actor(c)
	if in.Source != pb.Source {
		next.Source, next.Version = in.Source, in.Version+1
	}
	if err := s.store.UpdatePlaybook(ctx, next, in.Version); err != nil {
		return Playbook{}, chk, err
	}
	s.audited(ctx, c, "playbook.update", id, pb.TenantID)
	s.invalidate()
	return next, chk, nil
}

// reachable returns a playbook the caller may see; others look missing.
func (s *Service) reachable(ctx context.Context, c access.Caller, id string) (Playbook, error) {
	pb, err := s.store.Playbook(ctx, id)
	if err != nil {
		return pb, err
	}
	if !c.CanAccess(pb.TenantID) {
		return Playbook{}, tansa.Errorf(tansa.NotFound, "playbook %q not found", id)
	}
	return pb, nil
}

// Playbook returns one playbook.
func (s *Service) Playbook(ctx context.Context, c access.Caller, id string) (Playbook, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return Playbook{}, err
	}
	return s.reachable(ctx, c, id)
}

// Playbooks lists the playbooks within the caller's tenants (narrowed to
// one when q.Scope names it).
func (s *Service) Playbooks(ctx context.Context, c access.Caller, q PlaybookQuery) ([]Playbook, int, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Playbooks(ctx, q)
}

func narrow(c access.Caller, asked access.Scope) access.Scope {
	sc := c.Scope()
	if len(asked.Tenants) == 1 {
		return sc.Narrow(asked.Tenants[0])
	}
	return sc
}

// StartInput starts a run by hand.
type StartInput struct {
	// Alert is the alert the run works on, as a map (AlertFromMap);
	// empty for a run that needs none.
	Alert  map[string]any
	CaseID string
	DryRun bool
}

// Start starts a run of a playbook by hand (from a case or an alert).
// A dry run records what each step would do without doing it.
func (s *Service) Start(ctx context.Context, c access.Caller, id string, in StartInput) (Run, error) {
	if err := c.Require(access.PermPlaybookRun); err != nil {
		return Run{}, err
	}
	pb, err := s.reachable(ctx, c, id)
	if err != nil {
		return Run{}, err
	}
	d, err := Parse([]byte(pb.Source))
	if err != nil {
		return Run{}, err
	}
	if !d.Trigger.Manual && !in.DryRun {
		return Run{}, tansa.Errorf(tansa.Invalid, "this playbook does not allow manual starts (trigger.manual); a dry run is possible")
	}
	facts := map[string]any{}
	alertID := ""
	if in.Alert != nil {
		f, a, err := AlertFromMap(in.Alert)
		if err != nil {
			return Run{}, tansa.Errorf(tansa.Invalid, "alert: %v", err)
		}
		if a.TenantID != "" && a.TenantID != pb.TenantID {
			return Run{}, tansa.Errorf(tansa.Invalid, "alert: it belongs to another tenant than the playbook")
		}
		f["tenant"] = pb.TenantID
		facts, alertID = f, a.ID
	} else {
		facts = AlertFacts(tansa.Alert{TenantID: pb.TenantID})
	}
	run := s.newRun(pb, "manual", "", alertID, facts, actor(c))
	run.CaseID, run.DryRun = in.CaseID, in.DryRun
	if _, err := s.store.CreateRun(ctx, run); err != nil {
		return Run{}, err
	}
	s.audited(ctx, c, "playbook.run.start", run.ID, pb.TenantID)
	if s.runner != nil {
		s.runner.Kick(run.ID)
	}
	return run, nil
}

func (s *Service) newRun(pb Playbook, trigger, key, alertID string, facts map[string]any, by string) Run {
	now := s.now().UTC().Truncate(time.Microsecond)
	id := uuid.Must(uuid.NewV7()).String()
	if key == "" {
		key = id
	}
	b, _ := json.Marshal(facts)
	return Run{ID: id, TenantID: pb.TenantID, PlaybookID: pb.ID, Playbook: pb.Name, Version: pb.Version, Status: StatusRunning,
		Trigger: trigger, TriggerKey: key, AlertID: alertID, Alert: b, StartedBy: by, Created: now, Updated: now}
}

// Trigger starts the enabled playbooks whose alert condition matches
// each new alert — once per playbook and alert, however often the alert
// is delivered. It is what the alert service's subscription calls.
func (s *Service) Trigger(ctx context.Context, alerts []tansa.Alert) error {
	armed, err := s.armed(ctx)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		list := armed[a.TenantID]
		if len(list) == 0 {
			continue
		}
		facts := AlertFacts(a)
		for _, ar := range list {
			ok, err := ar.def.Matches(facts)
			if err != nil || !ok {
				continue
			}
			key := a.ID
			if key == "" {
				key = uuid.NewString()
			}
			run := s.newRun(ar.pb, "alert", key, a.ID, facts, "alert:"+a.RuleID)
			created, err := s.store.CreateRun(ctx, run)
			if err != nil {
				return err
			}
			if created && s.runner != nil {
				s.runner.Kick(run.ID)
			}
		}
	}
	return nil
}

// armed returns the enabled alert-triggered playbooks by tenant, loaded
// again after a change made here or every 30 seconds (changes made by
// other nodes).
func (s *Service) armed(ctx context.Context) (map[string][]armed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.triggers != nil && s.now().Sub(s.loadedAt) < s.refreshed {
		return s.triggers, nil
	}
	pbs, err := s.store.EnabledPlaybooks(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string][]armed{}
	for _, pb := range pbs {
		d, err := Parse([]byte(pb.Source))
		if err != nil || d.trigger == nil {
			continue
		}
		m[pb.TenantID] = append(m[pb.TenantID], armed{pb, d})
	}
	s.triggers, s.loadedAt = m, s.now()
	return m, nil
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.triggers = nil
	s.mu.Unlock()
}

// Runs lists runs within the caller's tenants.
func (s *Service) Runs(ctx context.Context, c access.Caller, q RunQuery) ([]Run, int, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return nil, 0, err
	}
	q.Scope = narrow(c, q.Scope)
	return s.store.Runs(ctx, q)
}

// Run returns a run with its step records.
func (s *Service) Run(ctx context.Context, c access.Caller, id string) (Run, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return Run{}, err
	}
	return s.reachableRun(ctx, c, id)
}

func (s *Service) reachableRun(ctx context.Context, c access.Caller, id string) (Run, error) {
	r, err := s.store.Run(ctx, id)
	if err != nil {
		return r, err
	}
	if !c.CanAccess(r.TenantID) {
		return Run{}, tansa.Errorf(tansa.NotFound, "run %q not found", id)
	}
	return r, nil
}

// CanApprove reports whether the caller is one of an approval step's
// approvers.
func CanApprove(c access.Caller, st *Step) bool {
	if c.Kind == "user" && slices.Contains(st.Approvers.Users, c.Name) {
		return true
	}
	return slices.Contains(st.Approvers.Roles, string(c.Role))
}

// Decide answers a waiting approval gate: approve or reject.
func (s *Service) Decide(ctx context.Context, c access.Caller, runID, stepID, decision, comment string) (Run, error) {
	if err := c.Require(access.PermPlaybookRun); err != nil {
		return Run{}, err
	}
	if decision != "approve" && decision != "reject" {
		return Run{}, tansa.Errorf(tansa.Invalid, "decision: must be approve or reject")
	}
	run, err := s.reachableRun(ctx, c, runID)
	if err != nil {
		return Run{}, err
	}
	d, err := s.definitionOf(ctx, run)
	if err != nil {
		return Run{}, err
	}
	st := d.Step(stepID)
	if st == nil || st.Action != ActApproval {
		return Run{}, tansa.Errorf(tansa.Invalid, "step: %q is not an approval of this run", stepID)
	}
	if !CanApprove(c, st) {
		return Run{}, tansa.Errorf(tansa.Forbidden, "you are not among the approvers of %q (roles %s; users %s)", stepID,
			strings.Join(st.Approvers.Roles, ", "), strings.Join(st.Approvers.Users, ", "))
	}
	err = s.withLease(ctx, runID, func() error {
		run, err = s.store.Run(ctx, runID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(run.Steps, func(r StepRecord) bool { return r.StepID == stepID })
		if i < 0 || run.Steps[i].Status != StepWaiting || run.Status != StatusWaiting {
			return tansa.Errorf(tansa.Conflict, "step %q is not waiting for a decision", stepID)
		}
		rec := run.Steps[i]
		if rec.Decision != "" {
			return tansa.Errorf(tansa.Conflict, "step %q was already decided by %s", stepID, rec.DecidedBy)
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		rec.Decision, rec.DecidedBy, rec.Decided, rec.Comment = decision, actor(c), now, comment
		run.Steps[i] = rec
		return s.store.SaveStep(ctx, runID, &rec, RunUpdate{Status: StatusRunning, Cursor: run.Cursor, CaseID: run.CaseID, Updated: now})
	})
	if err != nil {
		return Run{}, err
	}
	s.audited(ctx, c, "playbook.run."+decision, runID, run.TenantID)
	if s.runner != nil {
		s.runner.Kick(runID)
	}
	return run, nil
}

// Revert undoes a containment step of a run: unblocks its values or
// releases its host, and records who did it and when.
func (s *Service) Revert(ctx context.Context, c access.Caller, runID, stepID string) (Run, error) {
	if err := c.Require(access.PermPlaybookRun); err != nil {
		return Run{}, err
	}
	run, err := s.reachableRun(ctx, c, runID)
	if err != nil {
		return Run{}, err
	}
	if s.runner == nil {
		return Run{}, tansa.Errorf(tansa.Unavailable, "no runner on this server")
	}
	err = s.withLease(ctx, runID, func() error {
		run, err = s.store.Run(ctx, runID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(run.Steps, func(r StepRecord) bool { return r.StepID == stepID })
		if i < 0 || !Containment(run.Steps[i].Action) || run.Steps[i].Status != StepSucceeded {
			return tansa.Errorf(tansa.Invalid, "step: %q is not a containment this run carried out", stepID)
		}
		rec := run.Steps[i]
		if !rec.Reverted.IsZero() {
			return tansa.Errorf(tansa.Conflict, "step %q was already reverted by %s", stepID, rec.RevertedBy)
		}
		if run.DryRun {
			return tansa.Errorf(tansa.Invalid, "a dry run contained nothing")
		}
		out, err := s.runner.acts.revert(ctx, run.TenantID, rec)
		if err != nil {
			return err
		}
		var prev map[string]any
		_ = json.Unmarshal(rec.Output, &prev)
		if prev == nil {
			prev = map[string]any{}
		}
		prev["reverted"] = out
		now := s.now().UTC().Truncate(time.Microsecond)
		rec.Output, rec.Reverted, rec.RevertedBy = mustJSON(prev), now, actor(c)
		run.Steps[i] = rec
		return s.store.SaveStep(ctx, runID, &rec, RunUpdate{Status: run.Status, Cursor: run.Cursor, WakeAt: run.WakeAt, Error: run.Error, CaseID: run.CaseID, Updated: now})
	})
	if err != nil {
		return Run{}, err
	}
	s.audited(ctx, c, "playbook.run.revert", runID, run.TenantID)
	return run, nil
}

// withLease runs fn holding the run's lease, waiting up to five seconds
// for a runner that is working on it.
func (s *Service) withLease(ctx context.Context, runID string, fn func() error) error {
	owner := "api-" + uuid.NewString()
	for i := 0; ; i++ {
		now := s.now()
		ok, err := s.store.ClaimRun(ctx, runID, owner, now.Add(time.Minute), now)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if i >= 50 {
			return tansa.Errorf(tansa.Unavailable, "the run is busy; try again")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer s.store.ReleaseRun(context.WithoutCancel(ctx), runID, owner)
	return fn()
}

func (s *Service) definitionOf(ctx context.Context, run Run) (*Definition, error) {
	if s.runner != nil {
		return s.runner.definition(ctx, run.PlaybookID, run.Version)
	}
	src, err := s.store.PlaybookSource(ctx, run.PlaybookID, run.Version)
	if err != nil {
		return nil, err
	}
	return Parse([]byte(src))
}

// Definition returns the parsed version a run runs, for showing its steps.
func (s *Service) Definition(ctx context.Context, run Run) (*Definition, error) {
	return s.definitionOf(ctx, run)
}

// ConnectorView is a connector as people see it: its settings and which
// secrets are set, never their values.
type ConnectorView struct {
	Connector
	SecretsSet []string `json:"secrets_set"`
}

// Connectors lists the connectors of the caller's tenants.
func (s *Service) Connectors(ctx context.Context, c access.Caller, scope access.Scope) ([]ConnectorView, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return nil, err
	}
	cs, err := s.store.Connectors(ctx, narrow(c, scope))
	if err != nil {
		return nil, err
	}
	out := make([]ConnectorView, len(cs))
	for i, cn := range cs {
		out[i] = s.view(cn)
	}
	return out, nil
}

func (s *Service) view(cn Connector) ConnectorView {
	v := ConnectorView{Connector: cn, SecretsSet: []string{}}
	if secrets, err := s.sealer.Open(cn.Secret); err == nil {
		for k, val := range secrets {
			if val != "" {
				v.SecretsSet = append(v.SecretsSet, k)
			}
		}
	}
	slices.Sort(v.SecretsSet)
	v.Secret = nil
	return v
}

// ConnectorInput configures a connector. Secrets left out keep their
// stored values, so that editing a setting does not need the password.
type ConnectorInput struct {
	TenantID string
	Name     string
	Kind     string
	Config   map[string]string
	Secrets  map[string]string
}

// PutConnector creates or changes a connector of a tenant.
func (s *Service) PutConnector(ctx context.Context, c access.Caller, in ConnectorInput) (ConnectorView, error) {
	if err := c.Require(access.PermConnectorWrite); err != nil {
		return ConnectorView{}, err
	}
	tenant, err := s.tenantFor(ctx, c, in.TenantID)
	if err != nil {
		return ConnectorView{}, err
	}
	if in.Config == nil {
		in.Config = map[string]string{}
	}
	secrets := map[string]string{}
	if old, err := s.store.Connector(ctx, tenant, in.Name); err == nil && old.Kind == in.Kind {
		if secrets, err = s.sealer.Open(old.Secret); err != nil {
			secrets = map[string]string{}
		}
	}
	for k, v := range in.Secrets {
		if v != "" {
			secrets[k] = v
		}
	}
	if err := validateConnector(in.Name, in.Kind, in.Config, secrets); err != nil {
		return ConnectorView{}, err
	}
	sealed, err := s.sealer.Seal(secrets)
	if err != nil {
		return ConnectorView{}, err
	}
	cn := Connector{TenantID: tenant, Name: in.Name, Kind: in.Kind, Config: in.Config, Secret: sealed,
		Updated: s.now().UTC().Truncate(time.Microsecond), UpdatedBy: actor(c)}
	if err := s.store.PutConnector(ctx, cn); err != nil {
		return ConnectorView{}, err
	}
	s.audited(ctx, c, "connector.put", tenant+"/"+in.Name, tenant)
	return s.view(cn), nil
}

// DeleteConnector removes a connector of a tenant.
func (s *Service) DeleteConnector(ctx context.Context, c access.Caller, tenant, name string) error {
	if err := c.Require(access.PermConnectorWrite); err != nil {
		return err
	}
	tenant, err := s.tenantFor(ctx, c, tenant)
	if err != nil {
		return err
	}
	if err := s.store.DeleteConnector(ctx, tenant, name); err != nil {
		return err
	}
	s.audited(ctx, c, "connector.delete", tenant+"/"+name, tenant)
	return nil
}

// Blocks lists the values playbooks blocked for a tenant.
func (s *Service) Blocks(ctx context.Context, c access.Caller, tenant string) ([]Block, error) {
	if err := c.Require(access.PermPlaybookRead); err != nil {
		return nil, err
	}
	tenant, err := s.tenantFor(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	return s.store.Blocks(ctx, tenant)
}

func (s *Service) audited(ctx context.Context, c access.Caller, action, id, tenant string) {
	if s.audit != nil {
		_ = s.audit.Record(ctx, c, action, "playbook", id, tenant)
	}
}
