package alert

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Tenants tells whether a caller may reach a tenant; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Users looks users up, for assignments; *access.Service implements it.
type Users interface {
	User(ctx context.Context, c access.Caller, id string) (tansa.User, error)
}

// Options tunes the service. Zero fields take the defaults in parentheses.
type Options struct {
	// Window is the deduplication window (1 h): a match merges into an
	// open alert of the same tenant, kind, rule and group key seen within
	// it.
	Window time.Duration
	// MaxEvents bounds the event IDs linked to one alert (100); the count
	// keeps growing beyond it.
	MaxEvents int
	Now       func() time.Time // (time.Now)
	// OnNew, when set, is called after every Raise that created alerts,
	// with the new ones, before Raise returns. Unlike a subscription it
	// never drops: response playbooks start from it. It must not call
	// Raise.
	OnNew func(ctx context.Context, created []tansa.Alert)
}

// Service raises, deduplicates, lists and triages alerts, and keeps the
// exceptions that tune them. It is safe for concurrent use.
type Service struct {
	store   Store
	tenants Tenants
	users   Users
	opt     Options

	// raise serialises Raise, so that two workers raising the same match
	// at once merge instead of creating two alerts.
	raise sync.Mutex

	subMu sync.Mutex
	subs  map[*subscription]struct{}

	exMu     sync.Mutex
	matchers map[string]*Matcher // tenant → its compiled exceptions

	raised     *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	dropped    prometheus.Counter
}

type subscription struct {
	ch chan Change
}

// New returns a service over store counting on reg.
func New(store Store, tenants Tenants, users Users, reg prometheus.Registerer, opt Options) *Service {
	if opt.Window <= 0 {
		opt.Window = time.Hour
	}
	if opt.MaxEvents <= 0 {
		opt.MaxEvents = 100
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Service{store: store, tenants: tenants, users: users, opt: opt, subs: map[*subscription]struct{}{},
		matchers: map[string]*Matcher{},
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_alerts_raised_total", Help: "Matches raised as alerts (new or merged), by tenant and kind.",
		}, []string{"tenant", "kind"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_alerts_suppressed_total", Help: "Matches an exception suppressed, by tenant and exception.",
		}, []string{"tenant", "exception"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tansa_alert_notifications_dropped_total", Help: "Alert notifications a slow subscriber missed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(s.raised, s.suppressed, s.dropped)
	}
	return s
}

// Options returns the effective options, defaults filled in.
func (s *Service) Options() Options { return s.opt }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// visible reports whether c may see an object of tenant.
func visible(c access.Caller, tenant string) bool {
	return tenant != "" && c.CanAccess(tenant) && (c.Current == "" || c.Current == tenant)
}

// reach resolves the one tenant a request names for c: asked when c may
// reach it, else the tenant c works in. It returns "" when c works across
// tenants and named none.
func (s *Service) reach(ctx context.Context, c access.Caller, asked string) (string, error) {
	return access.Reach(ctx, s.tenants, c, asked)
}

// scope intersects the tenant a query asks for with what c may see.
func scope(c access.Caller, asked access.Scope) access.Scope {
	sc := c.Scope()
	if len(asked.Tenants) == 1 {
		sc = sc.Narrow(asked.Tenants[0])
	}
	sc.Provider = false
	return sc
}

// ---- raising

// MaxContext bounds an alert's context, so that one odd event cannot make
// alerts heavy to list.
const MaxContext = 64 << 10

// Raise stores matches as alerts: each is checked, merged into an open
// alert of the same tenant, kind, rule and group key within the window or
// stored as a new one, and every subscriber hears of the result. Matches an
// active exception of their tenant covers (by rule, host, user and the
// "fields" of their Context) are counted on the exception instead. It
// fails with kind Invalid, storing nothing, when a match lacks its tenant,
// kind, rule or level.
func (s *Service) Raise(ctx context.Context, in []tansa.Alert) error {
	if len(in) == 0 {
		return nil
	}
	now := s.now()
	keep := make([]tansa.Alert, 0, len(in))
	hits := map[string]map[string]Hit{}
	for i := range in {
		a := in[i]
		if err := s.fill(&a, now); err != nil {
			return err
		}
		m, err := s.Matcher(ctx, a.TenantID)
		if err != nil {
			return err
		}
		if id, ok := m.Match(&a, now, contextFields(a.Context)); ok {
			addHit(hits, a.TenantID, id, a.Count, a.LastSeen)
			continue
		}
		keep = append(keep, a)
	}
	for tenant, h := range hits {
		if err := s.CountSuppressed(ctx, tenant, h); err != nil {
			return err
		}
	}
	if len(keep) == 0 {
		return nil
	}
	s.raise.Lock()
	changes, err := s.store.Merge(ctx, keep, MergeOptions{Window: s.opt.Window, MaxEvents: s.opt.MaxEvents, Now: now})
	s.raise.Unlock()
	if err != nil {
		return err
	}
	for _, a := range keep {
		s.raised.WithLabelValues(a.TenantID, string(a.Kind)).Add(float64(a.Count))
	}
	s.publish(changes)
	if s.opt.OnNew != nil {
		var created []tansa.Alert
		for _, c := range changes {
			if c.New {
				created = append(created, c.Alert)
			}
		}
		if len(created) > 0 {
			s.opt.OnNew(ctx, created)
		}
	}
	return nil
}

func addHit(hits map[string]map[string]Hit, tenant, id string, n int, at time.Time) {
	if hits[tenant] == nil {
		hits[tenant] = map[string]Hit{}
	}
	h := hits[tenant][id]
	h.Count += n
	if at.After(h.Last) {
		h.Last = at
	}
	hits[tenant][id] = h
}

// fill checks a raised match and completes its stored fields.
func (s *Service) fill(a *tansa.Alert, now time.Time) error {
	switch {
	case a.TenantID == "":
		return tansa.Errorf(tansa.Invalid, "alert of rule %q: no tenant", a.RuleID)
	case !a.Kind.Valid():
		return tansa.Errorf(tansa.Invalid, "alert of rule %q: unknown kind %q", a.RuleID, a.Kind)
	case a.RuleID == "":
		return tansa.Errorf(tansa.Invalid, "alert of kind %s: no rule", a.Kind)
	}
	a.Level = strings.ToLower(a.Level)
	if a.Level == "" {
		a.Level = "informational"
	}
	if tansa.LevelRank(a.Level) < 0 {
		return tansa.Errorf(tansa.Invalid, "alert of rule %q: unknown level %q", a.RuleID, a.Level)
	}
	if len(a.Context) > MaxContext {
		return tansa.Errorf(tansa.TooLarge, "alert of rule %q: context of %d bytes exceeds %d", a.RuleID, len(a.Context), MaxContext)
	}
	if len(a.Context) > 0 && !json.Valid(a.Context) {
		return tansa.Errorf(tansa.Invalid, "alert of rule %q: context is not JSON", a.RuleID)
	}
	a.ID = uuid.Must(uuid.NewV7()).String()
	if a.Count <= 0 {
		a.Count = 1
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = now
	}
	if a.LastSeen.Before(a.FirstSeen) {
		a.LastSeen = a.FirstSeen
	}
	a.FirstSeen, a.LastSeen = a.FirstSeen.UTC().Truncate(time.Microsecond), a.LastSeen.UTC().Truncate(time.Microsecond)
	if a.Tags == nil {
		a.Tags = []string{}
	}
	a.EventIDs = slices.Compact(a.EventIDs)
	if len(a.EventIDs) > s.opt.MaxEvents {
		a.EventIDs = a.EventIDs[:s.opt.MaxEvents]
	}
	if a.EventIDs == nil {
		a.EventIDs = []string{}
	}
	a.Status, a.Assignee, a.CloseReason = tansa.AlertNew, "", ""
	a.Created, a.Updated = now, now
	return nil
}

// contextFields reads the "fields" object of an alert's context, for
// exceptions on alerts raised without their event.
func contextFields(raw json.RawMessage) func(string) (any, bool) {
	if len(raw) == 0 {
		return nil
	}
	// Decoded on the first field asked for: most rules have no exception
	// with conditions, and then the context is never read.
	var fields map[string]any
	decoded := false
	return func(name string) (any, bool) {
		if !decoded {
			decoded = true
			var c struct {
				Fields map[string]any `json:"fields"`
			}
			if json.Unmarshal(raw, &c) == nil {
				fields = c.Fields
			}
		}
		v, ok := fields[name]
		if l, isList := v.([]any); isList {
			out := make([]string, len(l))
			for i, x := range l {
				out[i] = tansa.FieldText(x)
			}
			return out, ok
		}
		return v, ok
	}
}

// ---- subscribing

// Subscribe returns a channel that receives every alert Raise creates or
// updates and every triage change, and a function that ends the
// subscription. A subscriber that does not keep up misses notifications
// (counted in tansa_alert_notifications_dropped_total) rather than
// stalling detection; buf sizes its channel.
func (s *Service) Subscribe(buf int) (<-chan Change, func()) {
	sub := &subscription{ch: make(chan Change, max(buf, 1))}
	s.subMu.Lock()
	s.subs[sub] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, sub)
			s.subMu.Unlock()
		})
	}
}

func (s *Service) publish(changes []Change) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		for _, c := range changes {
			select {
			case sub.ch <- c:
			default:
				s.dropped.Inc()
			}
		}
	}
}

// ---- reading

// List returns the alerts matching q that c may see and their total.
// Naming a tenant in q.Scope.Tenants[0] narrows the answer to it, or to
// nothing when c may not reach it.
func (s *Service) List(ctx context.Context, c access.Caller, q Query) ([]tansa.Alert, int, error) {
	if err := c.Require(access.PermAlertRead); err != nil {
		return nil, 0, err
	}
	if err := q.validate(); err != nil {
		return nil, 0, err
	}
	q.Scope = scope(c, q.Scope)
	return s.store.Alerts(ctx, q)
}

func (q *Query) validate() error {
	for _, st := range q.Status {
		if st != tansa.AlertNew && st != tansa.AlertAcknowledged && st != tansa.AlertClosed {
			return tansa.Errorf(tansa.Invalid, "status: %q must be new, acknowledged or closed", st)
		}
	}
	if q.MinLevel != "" && tansa.LevelRank(q.MinLevel) < 0 {
		return tansa.Errorf(tansa.Invalid, "min_level: %q must be one of %s", q.MinLevel, strings.Join(tansa.Levels, ", "))
	}
	if q.Level != "" && tansa.LevelRank(q.Level) < 0 {
		return tansa.Errorf(tansa.Invalid, "level: %q must be one of %s", q.Level, strings.Join(tansa.Levels, ", "))
	}
	if q.Kind != "" && !q.Kind.Valid() {
		return tansa.Errorf(tansa.Invalid, "kind: unknown alert kind %q", q.Kind)
	}
	if q.Sort == "" {
		q.Sort = SortLastSeen
	}
	if !slices.Contains(Sorts, q.Sort) {
		return tansa.Errorf(tansa.Invalid, "sort: %q must be last_seen, first_seen, level or count", q.Sort)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return tansa.Errorf(tansa.Invalid, "since must be before until")
	}
	return nil
}

// Get returns alert id when c may see it; another tenant's alert answers
// like a missing one.
func (s *Service) Get(ctx context.Context, c access.Caller, id string) (tansa.Alert, error) {
	if err := c.Require(access.PermAlertRead); err != nil {
		return tansa.Alert{}, err
	}
	a, err := s.store.Alert(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && !visible(c, a.TenantID)) {
		return tansa.Alert{}, tansa.Errorf(tansa.NotFound, "alert %q not found", id)
	}
	return a, err
}

// Visible reports whether c may see alert a, for subscribers that pass
// alerts on to a caller (the console's live stream).
func Visible(c access.Caller, a tansa.Alert) bool {
	return c.Can(access.PermAlertRead) && visible(c, a.TenantID)
}

// ---- triage

// Action is a triage action.
type Action string

// The triage actions.
const (
	Acknowledge Action = "acknowledge"
	Assign      Action = "assign"
	Close       Action = "close"
	Reopen      Action = "reopen"
)

// TriageInput is one bulk triage request.
type TriageInput struct {
	Action   Action      `json:"action"`
	IDs      []string    `json:"ids"`
	Assignee string      `json:"assignee,omitempty"` // user ID for assign; empty unassigns
	Reason   CloseReason `json:"reason,omitempty"`   // for close
	Note     string      `json:"note,omitempty"`     // kept in the audit entry
}

// MaxBulk is how many alerts one triage request may change.
const MaxBulk = 500

// triageState is what the audit trail records of an alert before and
// after a triage change.
type triageState struct {
	Status      tansa.AlertStatus `json:"status"`
	Assignee    string            `json:"assignee,omitempty"`
	CloseReason string            `json:"close_reason,omitempty"`
	Note        string            `json:"note,omitempty"`
}

// Triage applies one action to alerts in one transaction, auditing each
// change. An alert c may not see fails the whole request like a missing
// one, and nothing changes. Alerts already in the asked state are left as
// they are (no audit entry). It returns the alerts after the change.
func (s *Service) Triage(ctx context.Context, c access.Caller, in TriageInput) ([]tansa.Alert, error) {
	if err := c.Require(access.PermAlertWrite); err != nil {
		return nil, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(in.IDs)))
	if len(ids) == 0 || len(ids) > MaxBulk {
		return nil, tansa.Errorf(tansa.Invalid, "ids: between 1 and %d alert IDs", MaxBulk)
	}
	if len(in.Note) > 2000 {
		return nil, tansa.Errorf(tansa.Invalid, "note: at most 2000 characters")
	}
	var assignee tansa.User
	switch in.Action {
	case Acknowledge, Reopen:
	case Close:
		if !in.Reason.Valid() {
			return nil, tansa.Errorf(tansa.Invalid, "reason: %q must be true-positive, benign, false-positive or duplicate", in.Reason)
		}
	case Assign:
		if in.Assignee != "" {
			u, err := s.users.User(ctx, access.Caller{Principal: access.System("alert-assign")}, in.Assignee)
			if err != nil && tansa.KindOf(err) != tansa.NotFound {
				return nil, err
			}
			if err != nil || u.Disabled {
				return nil, tansa.Errorf(tansa.Invalid, "assignee: user %q not found", in.Assignee)
			}
			assignee = u
		}
	default:
		return nil, tansa.Errorf(tansa.Invalid, "action: %q must be acknowledge, assign, close or reopen", in.Action)
	}
	now := s.now()
	actor := c.Kind + ":" + c.Name
	out, err := s.store.Triage(ctx, ids, func(a tansa.Alert) (tansa.Alert, tansa.AuditEntry, bool, error) {
		if !visible(c, a.TenantID) {
			return a, tansa.AuditEntry{}, false, tansa.Errorf(tansa.NotFound, "alert %q not found", a.ID)
		}
		before := triageState{Status: a.Status, Assignee: a.Assignee, CloseReason: a.CloseReason}
		switch in.Action {
		case Acknowledge:
			if a.Status != tansa.AlertNew {
				return a, tansa.AuditEntry{}, false, nil
			}
			a.Status = tansa.AlertAcknowledged
		case Reopen:
			if a.Status != tansa.AlertClosed {
				return a, tansa.AuditEntry{}, false, nil
			}
			a.Status, a.CloseReason = tansa.AlertAcknowledged, ""
		case Close:
			if a.Status == tansa.AlertClosed && a.CloseReason == string(in.Reason) {
				return a, tansa.AuditEntry{}, false, nil
			}
			a.Status, a.CloseReason = tansa.AlertClosed, string(in.Reason)
		case Assign:
			if in.Assignee != "" {
				p := access.Principal{Role: assignee.Role, TenantID: assignee.TenantID, Tenants: assignee.Tenants}
				if !p.CanAccess(a.TenantID) || !p.Can(access.PermAlertWrite) {
					return a, tansa.AuditEntry{}, false, tansa.Errorf(tansa.Invalid, "assignee: user %q may not triage alerts of this tenant", in.Assignee)
				}
			}
			if a.Assignee == in.Assignee {
				return a, tansa.AuditEntry{}, false, nil
			}
			a.Assignee = in.Assignee
			if a.Status == tansa.AlertNew && in.Assignee != "" {
				a.Status = tansa.AlertAcknowledged
			}
		}
		a.Updated = now
		after := triageState{Status: a.Status, Assignee: a.Assignee, CloseReason: a.CloseReason, Note: in.Note}
		return a, tansa.AuditEntry{Time: now, TenantID: a.TenantID, Actor: actor, Addr: c.Addr, Action: "alert." + string(in.Action),
			ObjectType: "alert", ObjectID: a.ID, Before: marshal(before), After: marshal(after)}, true, nil
	})
	if err != nil {
		return nil, err
	}
	changes := make([]Change, len(out))
	for i, a := range out {
		changes[i] = Change{Alert: a}
	}
	s.publish(changes)
	return out, nil
}
