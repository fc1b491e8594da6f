package ruleset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Tenants tells whether a caller may reach a tenant; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Service manages rule sets and settings within the caller's reach and
// gives the detector each tenant's enabled rules. It is safe for
// concurrent use.
type Service struct {
	store   Store
	tenants Tenants
	now     func() time.Time

	mu     sync.Mutex
	global uint64            // moves on every change of a global set
	gens   map[string]uint64 // moves on every change of one tenant's sets or settings
	parsed map[string][]*sigma.Rule
}

// New returns a service over store.
func New(store Store, tenants Tenants) *Service {
	return &Service{store: store, tenants: tenants, now: time.Now, gens: map[string]uint64{}, parsed: map[string][]*sigma.Rule{}}
}

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Generation is a number that moves whenever tenant's enabled rules may
// have changed: a global import or activation, or one of the tenant's own.
func (s *Service) Generation(tenant string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.global + s.gens[tenant]
}

func (s *Service) changed(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant == "" {
		s.global++
	} else {
		s.gens[tenant]++
	}
}

// reach resolves the tenant a request names for c; "" means global, which
// only a provider role over all tenants may change.
func (s *Service) reach(ctx context.Context, c access.Caller, asked string) (string, error) {
	return access.Reach(ctx, s.tenants, c, asked)
}

var setName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ImportInput describes one import.
type ImportInput struct {
	TenantID string // empty: the caller's tenant, or global for a provider working across tenants
	Set      string // the rule set's name ("sigmahq", "tansa", "local"); default "default"
	Source   string // provenance: a file name or URL
	Name     string // the uploaded file's name, for a single rule file
}

// Import reads an upload (an archive of rule files or one rule file),
// parses every rule and stores the ones that parse as the next version of
// the set, made live, with an audit entry. Files that do not parse are
// listed in the result with their line and reason; an import in which
// nothing parses fails with kind Invalid and stores nothing.
func (s *Service) Import(ctx context.Context, c access.Caller, data []byte, in ImportInput) (Version, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Version{}, err
	}
	tenant, err := s.reach(ctx, c, in.TenantID)
	if err != nil {
		return Version{}, err
	}
	if tenant == "" && !c.AllTenants() {
		return Version{}, tansa.Errorf(tansa.Forbidden, "global rules need a provider role over all tenants; name a tenant with tenant=ID")
	}
	if in.Set == "" {
		in.Set = "default"
	}
	if !setName.MatchString(in.Set) {
		return Version{}, tansa.Errorf(tansa.Invalid, "set: %q must be 1 to 63 lower-case letters, digits, '.', '_' or '-'", in.Set)
	}
	if len(in.Source) > 300 {
		in.Source = in.Source[:300]
	}
	files, err := Unpack(in.Name, data)
	if err != nil {
		return Version{}, err
	}
	v := Version{ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenant, Set: in.Set, Time: s.stamp(), Actor: c.Kind + ":" + c.Name,
		Source: in.Source, Result: Result{Files: len(files), Rejected: []Rejection{}}}
	nv := NewVersion{}
	for _, f := range files {
		rules, err := sigma.Parse(f.Path, f.Body)
		if err != nil {
			v.Result.RejectedCount++
			if len(v.Result.Rejected) < MaxRejections {
				rj := Rejection{Path: f.Path, Reason: err.Error()}
				var pe *sigma.ParseError
				if errors.As(err, &pe) {
					rj.Line, rj.Reason = pe.Line, pe.Reason
				}
				v.Result.Rejected = append(v.Result.Rejected, rj)
			}
			continue
		}
		nv.Files = append(nv.Files, f)
		for _, r := range rules {
			nv.Rules = append(nv.Rules, describe(r, v))
		}
	}
	if len(nv.Rules) == 0 {
		return Version{}, tansa.Errorf(tansa.Invalid, "no rule could be read from the %d files of the upload%s", len(files), firstReason(v.Result))
	}
	v.Rules, v.Result.Rules, v.Live = len(nv.Rules), len(nv.Rules), true
	nv.Version = v
	a := tansa.AuditEntry{Time: v.Time, TenantID: tenant, Actor: v.Actor, Addr: c.Addr, Action: "rules.import", ObjectType: "rule-version",
		ObjectID: v.ID, After: marshal(map[string]any{"set": v.Set, "source": v.Source, "files": v.Result.Files, "rules": v.Rules,
			"rejected": v.Result.RejectedCount})}
	n, err := s.store.CreateVersion(ctx, nv, a)
	if err != nil {
		return Version{}, err
	}
	v.Version = n
	s.changed(tenant)
	return v, nil
}

func firstReason(r Result) string {
	if len(r.Rejected) == 0 {
		return ""
	}
	j := r.Rejected[0]
	return fmt.Sprintf(" (first: %s:%d: %s)", j.Path, j.Line, j.Reason)
}

func describe(r *sigma.Rule, v Version) Rule {
	kind := "detection"
	switch {
	case r.Correlation != nil:
		kind = "correlation"
	case r.Filter != nil:
		kind = "filter"
	}
	id := r.ID
	if id == "" {
		id = r.Name
	}
	level := strings.ToLower(r.Level)
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return Rule{VersionID: v.ID, Set: v.Set, TenantID: v.TenantID, RuleID: id, Title: r.Title, Level: level, Status: strings.ToLower(r.Status),
		Kind: kind, Product: r.Logsource.Product, Category: r.Logsource.Category, Service: r.Logsource.Service, Tags: tags, Path: r.Path}
}

// Versions lists the versions c may see, newest first: its tenants' and
// the global ones.
func (s *Service) Versions(ctx context.Context, c access.Caller, q VersionQuery) ([]Version, int, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return nil, 0, err
	}
	asked := q.Scope
	q.Scope = c.Scope()
	if len(asked.Tenants) == 1 {
		q.Scope = q.Scope.Narrow(asked.Tenants[0])
	}
	q.Scope.Provider = false
	q.Global = q.Scope.All || len(q.Scope.Tenants) > 0
	return s.store.RuleVersions(ctx, q)
}

// Version returns version id when c may see it.
func (s *Service) Version(ctx context.Context, c access.Caller, id string) (Version, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return Version{}, err
	}
	v, err := s.store.RuleVersion(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && v.TenantID != "" && (!c.CanAccess(v.TenantID) || (c.Current != "" && c.Current != v.TenantID))) {
		return Version{}, tansa.Errorf(tansa.NotFound, "rule version %q not found", id)
	}
	return v, err
}

// Activate makes version id the live one of its set (to roll back an
// import, or forward again), audited.
func (s *Service) Activate(ctx context.Context, c access.Caller, id string) (Version, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Version{}, err
	}
	v, err := s.Version(ctx, c, id)
	if err != nil {
		return Version{}, err
	}
	if v.TenantID == "" && !c.AllTenants() {
		return Version{}, tansa.Errorf(tansa.Forbidden, "global rules need a provider role over all tenants")
	}
	a := tansa.AuditEntry{Time: s.stamp(), TenantID: v.TenantID, Actor: c.Kind + ":" + c.Name, Addr: c.Addr, Action: "rules.activate",
		ObjectType: "rule-version", ObjectID: v.ID, After: marshal(map[string]any{"set": v.Set, "version": v.Version})}
	if err := s.store.SetLive(ctx, id, a); err != nil {
		return Version{}, err
	}
	s.changed(v.TenantID)
	v.Live = true
	return v, nil
}

// Rules lists the rules of the live versions the tenant named in q (or
// c's) runs from, each marked enabled or not by the tenant's settings.
func (s *Service) Rules(ctx context.Context, c access.Caller, q RuleQuery) ([]Rule, int, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return nil, 0, err
	}
	tenant, err := s.reach(ctx, c, q.Tenant)
	if err != nil {
		if tansa.KindOf(err) == tansa.NotFound {
			return []Rule{}, 0, nil
		}
		return nil, 0, err
	}
	q.Tenant = tenant
	st, err := s.settings(ctx, tenant)
	if err != nil {
		return nil, 0, err
	}
	rules, total, err := s.store.Rules(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	for i := range rules {
		r := &rules[i]
		r.Enabled = st.Runs(r.RuleID, r.Level, r.Status)
	}
	return rules, total, nil
}

func (s *Service) settings(ctx context.Context, tenant string) (Settings, error) {
	if tenant == "" {
		return DefaultSettings(""), nil
	}
	st, err := s.store.RuleSettings(ctx, tenant)
	if tansa.KindOf(err) == tansa.NotFound {
		return DefaultSettings(tenant), nil
	}
	return st, err
}

// Settings returns the rule settings of the tenant named (or c's).
func (s *Service) Settings(ctx context.Context, c access.Caller, tenant string) (Settings, error) {
	if err := c.Require(access.PermRuleRead); err != nil {
		return Settings{}, err
	}
	tenant, err := s.reach(ctx, c, tenant)
	if err != nil {
		return Settings{}, err
	}
	if tenant == "" {
		return Settings{}, tansa.Errorf(tansa.Invalid, "tenant: settings belong to one tenant; name it with tenant=ID")
	}
	return s.settings(ctx, tenant)
}

// PutSettings replaces the rule settings of st.TenantID (or c's), audited
// with before and after.
func (s *Service) PutSettings(ctx context.Context, c access.Caller, st Settings) (Settings, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Settings{}, err
	}
	old, err := s.Settings(ctx, c, st.TenantID)
	if err != nil {
		return Settings{}, err
	}
	st.TenantID = old.TenantID
	if err := st.validate(); err != nil {
		return Settings{}, err
	}
	st.Enabled, st.Disabled = distinct(st.Enabled), distinct(st.Disabled)
	st.Updated = s.stamp()
	a := tansa.AuditEntry{Time: st.Updated, TenantID: st.TenantID, Actor: c.Kind + ":" + c.Name, Addr: c.Addr, Action: "rules.settings",
		ObjectType: "rule-settings", ObjectID: st.TenantID, Before: marshal(old), After: marshal(st)}
	if err := s.store.PutRuleSettings(ctx, st, a); err != nil {
		return Settings{}, err
	}
	s.changed(st.TenantID)
	return st, nil
}

// Switch turns rules on (enabled true) or off for the tenant named (or
// c's), whatever its level and status policy says.
func (s *Service) Switch(ctx context.Context, c access.Caller, tenant string, ids []string, enabled bool) (Settings, error) {
	if err := c.Require(access.PermRuleWrite); err != nil {
		return Settings{}, err
	}
	if len(ids) == 0 || len(ids) > 5000 {
		return Settings{}, tansa.Errorf(tansa.Invalid, "rule_ids: between 1 and 5000 rule IDs")
	}
	st, err := s.Settings(ctx, c, tenant)
	if err != nil {
		return Settings{}, err
	}
	for _, id := range ids {
		st.Enabled = slices.DeleteFunc(st.Enabled, func(x string) bool { return x == id })
		st.Disabled = slices.DeleteFunc(st.Disabled, func(x string) bool { return x == id })
		if enabled {
			st.Enabled = append(st.Enabled, id)
		} else {
			st.Disabled = append(st.Disabled, id)
		}
	}
	return s.PutSettings(ctx, c, st)
}

func distinct(xs []string) []string {
	out := slices.Clone(xs)
	sort.Strings(out)
	return slices.Compact(out)
}

// Live is what the detector runs for one tenant.
type Live struct {
	Settings Settings
	// Rules are the parsed rules of the live versions (global sets first),
	// all of them; Settings.Runs says which raise alerts.
	Rules    []*sigma.Rule
	Versions []Version
}

// Live returns tenant's live rules and settings. Versions are parsed once
// and cached: they never change.
func (s *Service) Live(ctx context.Context, tenant string) (Live, error) {
	st, err := s.settings(ctx, tenant)
	if err != nil {
		return Live{}, err
	}
	vs, err := s.store.LiveVersions(ctx, tenant)
	if err != nil {
		return Live{}, err
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if (vs[i].TenantID == "") != (vs[j].TenantID == "") {
			return vs[i].TenantID == ""
		}
		return vs[i].Set < vs[j].Set
	})
	out := Live{Settings: st, Versions: vs}
	for _, v := range vs {
		rules, err := s.parse(ctx, v.ID)
		if err != nil {
			return Live{}, err
		}
		out.Rules = append(out.Rules, rules...)
	}
	return out, nil
}

func (s *Service) parse(ctx context.Context, id string) ([]*sigma.Rule, error) {
	s.mu.Lock()
	rules, ok := s.parsed[id]
	s.mu.Unlock()
	if ok {
		return rules, nil
	}
	files, err := s.store.VersionFiles(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		rs, err := sigma.Parse(f.Path, f.Body)
		if err != nil {
			continue // stored files parsed at import; a newer engine may refuse one, which the detector's log shows
		}
		rules = append(rules, rs...)
	}
	s.mu.Lock()
	s.parsed[id] = rules
	s.mu.Unlock()
	return rules, nil
}

// LoadState returns the detector's saved state of tenant (nil when none).
func (s *Service) LoadState(ctx context.Context, tenant string) ([]byte, error) {
	return s.store.DetectState(ctx, tenant)
}

// SaveState stores the detector's state of tenant.
func (s *Service) SaveState(ctx context.Context, tenant string, data []byte) error {
	return s.store.PutDetectState(ctx, tenant, data, s.stamp())
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
