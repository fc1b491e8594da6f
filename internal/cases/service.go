// Package cases is incident response's record: cases that move through the
// NIST SP 800-61 phases, with their tasks (from a template per incident
// type), notes, observables, evidence files and a timeline, timers against
// each tenant's SLA targets, and the issue-tracking view of everything open.
//
// Everything enters through Service, which checks the caller's permission
// and tenant, validates, and writes through a Store in one transaction with
// the audit entry and the timeline entry of the change. People call it from
// the HTTP edge; playbooks call it with a system caller (access.System).
// Alerts are linked by ID; their titles come through the Alerts interface
// when the composition root provides one, and observables are checked
// against intelligence and retro-hunted through Intel and RetroHunter.
package cases

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Tenants tells whether a caller may reach a tenant and which language it
// speaks; *access.Service implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Users looks up the people cases and tasks are assigned to;
// *access.Service implements it.
type Users interface {
	User(ctx context.Context, c access.Caller, id string) (tansa.User, error)
}

// Alerts looks up the alerts linked to a case. It returns those of ids that
// exist in tenant and that c may see, in any order; IDs it does not find
// are left out.
type Alerts interface {
	AlertsByID(ctx context.Context, c access.Caller, tenant string, ids []string) ([]tansa.Alert, error)
}

// IntelMatch is an indicator an observable's value is known as.
type IntelMatch struct {
	IndicatorID string `json:"indicator_id"`
	TenantID    string `json:"tenant_id,omitempty"` // empty for global intelligence
	Name        string `json:"name,omitempty"`
	TLP         string `json:"tlp,omitempty"`
	Active      bool   `json:"active"`
}

// Intel tells which observables are known indicators in a tenant's view of
// threat intelligence. The answer is keyed by observable ID.
type Intel interface {
	Known(ctx context.Context, c access.Caller, tenant string, obs []Observable) (map[string][]IntelMatch, error)
}

// RetroHuntResult is what a retro-hunt for one observable found.
type RetroHuntResult struct {
	CaseID  string `json:"case_id"` // the case of the observable, filled in by the service
	Matches int    `json:"matches"`
	Link    string `json:"link,omitempty"` // a console address listing what matched
	Summary string `json:"summary"`
}

// RetroHunter searches what the tenant has stored for an observable.
type RetroHunter interface {
	RetroHunt(ctx context.Context, c access.Caller, tenant string, o Observable) (RetroHuntResult, error)
}

// Options tunes the service. Zero fields take the defaults in parentheses;
// the lookups are optional and their features are absent without them.
type Options struct {
	Alerts      Alerts
	Intel       Intel
	RetroHunter RetroHunter
	// MaxEvidence bounds one evidence file (32 MiB).
	MaxEvidence int64
	Now         func() time.Time // (time.Now)
}

// DefaultMaxEvidence is the default size limit of one evidence file.
const DefaultMaxEvidence = 32 << 20

// Service enforces permissions, tenant walls and the case life cycle over a
// Store. It is safe for concurrent use.
type Service struct {
	store    Store
	tenants  Tenants
	users    Users
	opt      Options
	builtins []Template
}

// New returns a service over store.
func New(store Store, tenants Tenants, users Users, opt Options) (*Service, error) {
	if opt.MaxEvidence <= 0 {
		opt.MaxEvidence = DefaultMaxEvidence
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	b, err := Builtins()
	if err != nil {
		return nil, err
	}
	return &Service{store: store, tenants: tenants, users: users, opt: opt, builtins: b}, nil
}

// Options returns the effective options.
func (s *Service) Options() Options { return s.opt }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func actor(c access.Caller) string { return c.Kind + ":" + c.Name }

// sees reports whether c may see data of tenant, in the tenant it works in.
func sees(c access.Caller, tenant string) bool {
	return tenant != "" && c.CanAccess(tenant) && (c.Current == "" || c.Current == tenant)
}

func notFound(what, id string) error {
	return tansa.Errorf(tansa.NotFound, "%s %q not found", what, id)
}

// reach resolves the one tenant a request names for c, or the tenant c
// works in when it names none. A caller that works across tenants must
// name one.
func (s *Service) reach(ctx context.Context, c access.Caller, asked string) (tansa.Tenant, error) {
	if asked == "" {
		switch {
		case c.Current != "" && c.CanAccess(c.Current):
			asked = c.Current
		case !c.Role.Provider() && c.TenantID != "":
			asked = c.TenantID
		case !c.Role.Provider():
			return tansa.Tenant{}, tansa.Errorf(tansa.Forbidden, "your credential belongs to no tenant")
		default:
			return tansa.Tenant{}, tansa.Errorf(tansa.Invalid, "tenant: name the tenant (tenant_id)")
		}
	}
	if c.Current != "" && c.Current != asked {
		return tansa.Tenant{}, notFound("tenant", asked)
	}
	return s.tenants.Tenant(ctx, c, asked)
}

// scope is c's scope narrowed to the tenant a query asks for.
func scope(c access.Caller, asked access.Scope) access.Scope {
	sc := c.Scope()
	sc.Provider = false
	if len(asked.Tenants) == 1 {
		return sc.Narrow(asked.Tenants[0])
	}
	return sc
}

func (s *Service) audit(c access.Caller, at time.Time, action, objType, objID, tenant string, before, after any) tansa.AuditEntry {
	return tansa.AuditEntry{Time: at, TenantID: tenant, Actor: actor(c), Addr: c.Addr, Action: action,
		ObjectType: objType, ObjectID: objID, Before: marshal(before), After: marshal(after)}
}

func entry(c access.Caller, at time.Time, cs *Case, kind, ref, text string) Entry {
	return Entry{CaseID: cs.ID, TenantID: cs.TenantID, Time: at, Actor: actor(c), Addr: c.Addr, Kind: kind, Ref: ref, Text: text}
}

func marshal(v any) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// text checks a free-text field: trimmed, at most max characters, no
// control characters but newlines and tabs.
func text(field, s string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", tansa.Errorf(tansa.Invalid, "%s: required", field)
	}
	if !utf8.ValidString(s) {
		return "", tansa.Errorf(tansa.Invalid, "%s: not UTF-8 text", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", tansa.Errorf(tansa.Invalid, "%s: %d characters exceed the limit of %d", field, n, max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f }) {
		return "", tansa.Errorf(tansa.Invalid, "%s: contains control characters", field)
	}
	return s, nil
}

func severityError(s string) error {
	return tansa.Errorf(tansa.Invalid, "severity: %q must be one of %s", s, strings.Join(Severities, ", "))
}

// assignee checks that user id may work on cases of tenant and returns its
// display name. An empty id unassigns. The user is looked up as the
// system, since analysts may assign colleagues whose records they may not
// read; a user who does not exist and one who may not work on the tenant get
// the same answer, so the check reveals nothing about other tenants.
func (s *Service) assignee(ctx context.Context, c access.Caller, tenant, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	refused := tansa.Errorf(tansa.Invalid, "assignee: user %q not found among the people who work on this tenant's cases", id)
	u, err := s.users.User(ctx, access.Caller{Principal: access.System("cases"), Addr: c.Addr}, id)
	if tansa.KindOf(err) == tansa.NotFound {
		return "", refused
	}
	if err != nil {
		return "", err
	}
	p := access.Principal{Kind: "user", Role: u.Role, TenantID: u.TenantID, Tenants: u.Tenants}
	if u.Disabled || !p.CanAccess(tenant) || !p.Can(access.PermCaseWrite) {
		return "", refused
	}
	name := u.Name
	if name == "" {
		name = u.Username
	}
	return name, nil
}

// get loads case id when c may see it.
func (s *Service) get(ctx context.Context, c access.Caller, id string) (Case, error) {
	cs, err := s.store.Case(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !sees(c, cs.TenantID)) {
		return Case{}, notFound("case", id)
	}
	return cs, err
}

// Case returns case id.
func (s *Service) Case(ctx context.Context, c access.Caller, id string) (Case, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return Case{}, err
	}
	return s.get(ctx, c, id)
}

// Cases lists the cases c may see that match q, and their total. q.Scope
// may name one tenant (Tenants[0]); it is intersected with c's.
func (s *Service) Cases(ctx context.Context, c access.Caller, q Query) ([]Case, int, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, 0, err
	}
	if q.Phase != "" && !q.Phase.Valid() {
		return nil, 0, tansa.Errorf(tansa.Invalid, "phase: %q is not a phase", q.Phase)
	}
	if q.State != "" && q.State != "open" && q.State != "closed" {
		return nil, 0, tansa.Errorf(tansa.Invalid, "state: %q must be open or closed", q.State)
	}
	if q.Severity != "" && !ValidSeverity(q.Severity) {
		return nil, 0, severityError(q.Severity)
	}
	if q.Sort != "" && !slices.Contains(Sorts, q.Sort) {
		return nil, 0, tansa.Errorf(tansa.Invalid, "sort: %q must be one of %s", q.Sort, strings.Join(Sorts, ", "))
	}
	q.Scope = scope(c, q.Scope)
	return s.store.Cases(ctx, q)
}

// ObservableInput describes an observable to add. Type may be empty to
// guess it from the value.
type ObservableInput struct {
	Type        string `json:"type"`
	Value       string `json:"value"`
	Description string `json:"description"`
}

// CaseInput describes a new case. Severity defaults to the template's (or
// medium); Type names the template whose tasks the case gets.
type CaseInput struct {
	TenantID    string            `json:"tenant_id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Severity    string            `json:"severity"`
	Type        string            `json:"type"`
	Assignee    string            `json:"assignee"`
	AlertIDs    []string          `json:"alert_ids"`
	Observables []ObservableInput `json:"observables"`
	// Key, when set, makes the creation idempotent: a second Create with
	// the same key in the same tenant returns the case the first one
	// made, unchanged (a playbook step retried after a crash, a client
	// retrying after a lost answer).
	Key string `json:"idempotency_key"`
}

// keyNamespace derives the IDs of objects made with an idempotency key, so
// that a repeat finds the first one by its primary key.
var keyNamespace = uuid.MustParse("5b0e4c1e-7a1d-4d5e-9c57-0ca5e5ca5e00")

func keyedID(parts ...string) string {
	return uuid.NewSHA1(keyNamespace, []byte(strings.Join(parts, "\x00"))).String()
}

// MaxAlerts bounds the alerts linked in one request.
const MaxAlerts = 1000

func checkAlertIDs(ids []string) ([]string, error) {
	if len(ids) > MaxAlerts {
		return nil, tansa.Errorf(tansa.Invalid, "alert_ids: %d IDs exceed the limit of %d per request", len(ids), MaxAlerts)
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > 100 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, tansa.Errorf(tansa.Invalid, "alert_ids[%d]: %q is not an alert ID", i, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// linkable checks that the alerts exist in tenant, when alerts can be
// looked up.
func (s *Service) linkable(ctx context.Context, c access.Caller, tenant string, ids []string) error {
	if s.opt.Alerts == nil || len(ids) == 0 {
		return nil
	}
	found, err := s.opt.Alerts.AlertsByID(ctx, c, tenant, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(found, func(a tansa.Alert) bool { return a.ID == id && a.TenantID == tenant }) {
			return tansa.Errorf(tansa.Invalid, "alert_ids: alert %q not found in this tenant", id)
		}
	}
	return nil
}

// Create opens a case in a tenant, with the tasks of its type's template
// in the tenant's language, the alerts and observables given, and its SLA
// deadlines.
func (s *Service) Create(ctx context.Context, c access.Caller, in CaseInput) (Case, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Case{}, err
	}
	t, err := s.reach(ctx, c, in.TenantID)
	if err != nil {
		return Case{}, err
	}
	now := s.now()
	cs := Case{ID: newID(), TenantID: t.ID, Phase: PhaseNew, Creator: actor(c), Created: now, Updated: now, Version: 1}
	if in.Key != "" {
		if len(in.Key) > 200 {
			return Case{}, tansa.Errorf(tansa.Invalid, "idempotency_key: longer than 200 bytes")
		}
		cs.ID = keyedID("case", t.ID, in.Key)
		if old, err := s.store.Case(ctx, cs.ID); err == nil {
			return old, nil
		} else if tansa.KindOf(err) != tansa.NotFound {
			return Case{}, err
		}
	}
	if cs.Title, err = text("title", in.Title, true, 200); err != nil {
		return Case{}, err
	}
	if cs.Description, err = text("description", in.Description, false, 20000); err != nil {
		return Case{}, err
	}
	var tmpl Template
	if in.Type != "" {
		ts, err := s.templates(ctx, t.ID)
		if err != nil {
			return Case{}, err
		}
		var ok bool
		if tmpl, ok = findTemplate(ts, in.Type); !ok {
			return Case{}, tansa.Errorf(tansa.Invalid, "type: no case template %q", in.Type)
		}
		cs.Type = in.Type
	}
	cs.Severity = in.Severity
	switch {
	case cs.Severity == "" && tmpl.Severity != "":
		cs.Severity = tmpl.Severity
	case cs.Severity == "":
		cs.Severity = "medium"
	case !ValidSeverity(cs.Severity):
		return Case{}, severityError(cs.Severity)
	}
	if cs.AssigneeName, err = s.assignee(ctx, c, t.ID, in.Assignee); err != nil {
		return Case{}, err
	}
	cs.Assignee = in.Assignee
	if cs.Assignee != "" {
		cs.Acknowledged = now
	}
	if cs.AlertIDs, err = checkAlertIDs(in.AlertIDs); err != nil {
		return Case{}, err
	}
	if err := s.linkable(ctx, c, t.ID, cs.AlertIDs); err != nil {
		return Case{}, err
	}
	if err := s.setDeadlines(ctx, &cs); err != nil {
		return Case{}, err
	}
	obs, err := s.observables(c, &cs, nil, in.Observables, now)
	if err != nil {
		return Case{}, err
	}
	ch := Change{Case: &cs, Create: true, Alerts: cs.AlertIDs, Observables: obs}
	for i, k := range tmpl.Tasks {
		task := Task{ID: newID(), CaseID: cs.ID, TenantID: t.ID, Position: i + 1, Phase: k.Phase, Title: k.Title.In(t.Language),
			Description: k.Description.In(t.Language), Status: TaskOpen, Created: now, Updated: now}
		if k.DueHours > 0 {
			task.Due = now.Add(time.Duration(k.DueHours) * time.Hour)
		}
		ch.Tasks = append(ch.Tasks, task)
	}
	ch.Timeline = append(ch.Timeline, entry(c, now, &cs, "case.create", "", "created: "+cs.Title))
	if len(cs.AlertIDs) > 0 {
		ch.Timeline = append(ch.Timeline, entry(c, now, &cs, "alert.link", "", "linked alerts: "+strings.Join(cs.AlertIDs, ", ")))
	}
	for _, o := range obs {
		ch.Timeline = append(ch.Timeline, entry(c, now, &cs, "observable.add", o.ID, "observable "+o.Type+" "+o.Value))
	}
	ch.Audit = append(ch.Audit, s.audit(c, now, "case.create", "case", cs.ID, cs.TenantID, nil, cs))
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		if in.Key != "" && tansa.KindOf(err) == tansa.Conflict {
			// Another Create with the key won the race.
			return s.store.Case(ctx, cs.ID)
		}
		return Case{}, err
	}
	return cs, nil
}

// UpdateInput changes a case; nil fields stay as they are. Moving to
// PhaseClosed needs a Resolution; moving a closed case to another phase
// reopens it.
type UpdateInput struct {
	Title       *string     `json:"title"`
	Description *string     `json:"description"`
	Severity    *string     `json:"severity"`
	Assignee    *string     `json:"assignee"`
	Phase       *Phase      `json:"phase"`
	Resolution  *Resolution `json:"resolution"`
	// Comment, when set, is added to the timeline entry of the change.
	Comment string `json:"comment"`
}

// maxRetries bounds the retries of a read-modify-write that lost a race to
// another change of the same case; each waits a little longer, with jitter,
// so that a burst of automation on one case drains instead of colliding.
const maxRetries = 20

// Update applies in to case id. It retries when another change of the case
// landed between its read and its write.
func (s *Service) Update(ctx context.Context, c access.Caller, id string, in UpdateInput) (Case, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Case{}, err
	}
	for try := 0; ; try++ {
		cs, err := s.update(ctx, c, id, in)
		if tansa.KindOf(err) != tansa.Conflict || try >= maxRetries {
			return cs, err
		}
		select {
		case <-ctx.Done():
			return Case{}, ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(try+1) * int64(2*time.Millisecond)))):
		}
	}
}

func (s *Service) update(ctx context.Context, c access.Caller, id string, in UpdateInput) (Case, error) {
	old, err := s.get(ctx, c, id)
	if err != nil {
		return Case{}, err
	}
	cs := old
	now := s.now()
	var notes []string
	var timeline []Entry
	comment, err := text("comment", in.Comment, false, 2000)
	if err != nil {
		return Case{}, err
	}
	if in.Title != nil {
		if cs.Title, err = text("title", *in.Title, true, 200); err != nil {
			return Case{}, err
		}
		if cs.Title != old.Title {
			notes = append(notes, "title: "+cs.Title)
		}
	}
	if in.Description != nil {
		if cs.Description, err = text("description", *in.Description, false, 20000); err != nil {
			return Case{}, err
		}
		if cs.Description != old.Description {
			notes = append(notes, "description changed")
		}
	}
	if in.Severity != nil && *in.Severity != old.Severity {
		if !ValidSeverity(*in.Severity) {
			return Case{}, severityError(*in.Severity)
		}
		cs.Severity = *in.Severity
		if err := s.setDeadlines(ctx, &cs); err != nil {
			return Case{}, err
		}
		notes = append(notes, "severity: "+old.Severity+" → "+cs.Severity)
	}
	if in.Assignee != nil && *in.Assignee != old.Assignee {
		if cs.AssigneeName, err = s.assignee(ctx, c, cs.TenantID, *in.Assignee); err != nil {
			return Case{}, err
		}
		cs.Assignee = *in.Assignee
		if cs.Assignee == "" {
			notes = append(notes, "unassigned")
		} else {
			notes = append(notes, "assigned to "+cs.AssigneeName)
			if cs.Acknowledged.IsZero() {
				cs.Acknowledged = now
			}
		}
	}
	if in.Resolution != nil && *in.Resolution != "" && !in.Resolution.Valid() {
		return Case{}, tansa.Errorf(tansa.Invalid, "resolution: %q must be one of true-positive, benign, false-positive, duplicate", *in.Resolution)
	}
	if in.Phase != nil && *in.Phase != old.Phase {
		p := *in.Phase
		if !p.Valid() {
			return Case{}, tansa.Errorf(tansa.Invalid, "phase: %q is not a phase", p)
		}
		switch {
		case p == PhaseNew:
			return Case{}, tansa.Errorf(tansa.Invalid, "phase: a case cannot go back to new")
		case p == PhaseClosed:
			if in.Resolution == nil || *in.Resolution == "" {
				return Case{}, tansa.Errorf(tansa.Invalid, "resolution: closing a case needs a resolution (true-positive, benign, false-positive or duplicate)")
			}
			cs.Resolution = *in.Resolution
			cs.Closed = now
			notes = append(notes, "closed as "+string(cs.Resolution))
		case old.Phase == PhaseClosed:
			cs.Reopened++
			cs.Resolution, cs.Closed = "", time.Time{}
			timeline = append(timeline, entry(c, now, &cs, "case.reopen", "", "reopened ("+string(old.Resolution)+") → "+string(p)))
		default:
			notes = append(notes, "phase: "+string(old.Phase)+" → "+string(p))
		}
		cs.Phase = p
		if cs.Acknowledged.IsZero() {
			cs.Acknowledged = now
		}
		if cs.Contained.IsZero() && p.rank() > PhaseContainment.rank() && (p != PhaseClosed || old.Phase.rank() >= PhaseContainment.rank()) {
			cs.Contained = now
		}
	} else if in.Resolution != nil && *in.Resolution != old.Resolution {
		if old.Phase != PhaseClosed {
			return Case{}, tansa.Errorf(tansa.Invalid, "resolution: only a closed case has a resolution; set phase closed with it")
		}
		if *in.Resolution == "" {
			return Case{}, tansa.Errorf(tansa.Invalid, "resolution: a closed case needs one")
		}
		cs.Resolution = *in.Resolution
		notes = append(notes, "resolution: "+string(old.Resolution)+" → "+string(cs.Resolution))
	}
	if len(notes) == 0 && len(timeline) == 0 {
		if comment != "" {
			return Case{}, tansa.Errorf(tansa.Invalid, "comment: nothing changed; add a note instead")
		}
		return old, nil
	}
	cs.Updated = now
	cs.Version = old.Version + 1
	if len(notes) > 0 {
		kind := "case.update"
		if in.Phase != nil && *in.Phase != old.Phase && old.Phase != PhaseClosed {
			kind = "case.phase"
		}
		t := strings.Join(notes, "; ")
		if comment != "" {
			t += " — " + comment
		}
		timeline = append(timeline, entry(c, now, &cs, kind, "", t))
	} else if comment != "" {
		timeline[len(timeline)-1].Text += " — " + comment
	}
	action := "case.update"
	if timeline[0].Kind == "case.reopen" {
		action = "case.reopen"
	}
	ch := Change{Case: &cs, Timeline: timeline,
		Audit: []tansa.AuditEntry{s.audit(c, now, action, "case", cs.ID, cs.TenantID, old, cs)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Case{}, err
	}
	return cs, nil
}

// LinkAlerts links alerts to case id; alerts already linked are left as
// they are.
func (s *Service) LinkAlerts(ctx context.Context, c access.Caller, id string, alertIDs []string) (Case, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Case{}, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return Case{}, err
	}
	ids, err := checkAlertIDs(alertIDs)
	if err != nil {
		return Case{}, err
	}
	var added []string
	for _, a := range ids {
		if !slices.Contains(cs.AlertIDs, a) {
			added = append(added, a)
		}
	}
	if len(added) == 0 {
		return cs, nil
	}
	if err := s.linkable(ctx, c, cs.TenantID, added); err != nil {
		return Case{}, err
	}
	now := s.now()
	ch := Change{Touch: cs.ID, TouchAt: now, Alerts: added,
		Timeline: []Entry{entry(c, now, &cs, "alert.link", "", "linked alerts: "+strings.Join(added, ", "))},
		Audit:    []tansa.AuditEntry{s.audit(c, now, "case.link-alerts", "case", cs.ID, cs.TenantID, nil, map[string]any{"alert_ids": added})}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Case{}, err
	}
	cs.AlertIDs = append(cs.AlertIDs, added...)
	cs.Updated = now
	return cs, nil
}

// AlertsOf returns the linked alerts of cs that can be looked up, in link
// order, or nil when alerts cannot be looked up.
func (s *Service) AlertsOf(ctx context.Context, c access.Caller, cs Case) ([]tansa.Alert, error) {
	if s.opt.Alerts == nil || len(cs.AlertIDs) == 0 {
		return nil, nil
	}
	as, err := s.opt.Alerts.AlertsByID(ctx, c, cs.TenantID, cs.AlertIDs)
	if err != nil {
		return nil, err
	}
	as = slices.DeleteFunc(as, func(a tansa.Alert) bool { return a.TenantID != cs.TenantID })
	slices.SortFunc(as, func(a, b tansa.Alert) int {
		return slices.Index(cs.AlertIDs, a.ID) - slices.Index(cs.AlertIDs, b.ID)
	})
	return as, nil
}

// CanLookUpAlerts reports whether linked alerts' details are available.
func (s *Service) CanLookUpAlerts() bool { return s.opt.Alerts != nil }

// AddEntry appends a line to case id's timeline, for playbooks and other
// automation recording what they did. kind must start with a lowercase
// word and a dot ("playbook.step").
func (s *Service) AddEntry(ctx context.Context, c access.Caller, id, kind, ref, body string) (Entry, error) {
	if err := c.Require(access.PermCaseWrite); err != nil {
		return Entry{}, err
	}
	cs, err := s.get(ctx, c, id)
	if err != nil {
		return Entry{}, err
	}
	if !entryKindRE(kind) {
		return Entry{}, tansa.Errorf(tansa.Invalid, "kind: %q must look like playbook.step", kind)
	}
	if body, err = text("text", body, true, 4000); err != nil {
		return Entry{}, err
	}
	if ref, err = text("ref", ref, false, 200); err != nil {
		return Entry{}, err
	}
	now := s.now()
	e := entry(c, now, &cs, kind, ref, body)
	ch := Change{Touch: cs.ID, TouchAt: now, Timeline: []Entry{e},
		Audit: []tansa.AuditEntry{s.audit(c, now, "case.timeline", "case", cs.ID, cs.TenantID, nil, e)}}
	if err := s.store.ApplyCase(ctx, ch); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func entryKindRE(k string) bool {
	if len(k) < 3 || len(k) > 60 {
		return false
	}
	dot := strings.IndexByte(k, '.')
	if dot <= 0 || dot == len(k)-1 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Timeline returns case id's timeline, oldest first, and its length.
func (s *Service) Timeline(ctx context.Context, c access.Caller, id string, p access.Page) ([]Entry, int, error) {
	if err := c.Require(access.PermCaseRead); err != nil {
		return nil, 0, err
	}
	if _, err := s.get(ctx, c, id); err != nil {
		return nil, 0, err
	}
	return s.store.Timeline(ctx, id, "", p)
}
