package access

import (
	"context"
	"slices"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Perm names one thing a route or action needs.
type Perm string

// The permissions. A route declares exactly one; Principal.Can decides.
const (
	PermTenantRead  Perm = "tenant.read"
	PermTenantWrite Perm = "tenant.write"
	PermUserRead    Perm = "user.read"
	PermUserWrite   Perm = "user.write"
	PermTokenRead   Perm = "token.read"
	PermTokenWrite  Perm = "token.write"
	PermAuditRead   Perm = "audit.read"
	PermEventWrite  Perm = "event.write"
	PermEventRead   Perm = "event.read"
	PermIntelRead   Perm = "intel.read"
	PermIntelWrite  Perm = "intel.write"
	// Cases (internal/cases): reading cases, their tasks, evidence and the
	// tracker; changing them, their templates and SLA targets.
	PermCaseRead  Perm = "case.read"
	PermCaseWrite Perm = "case.write"
	// Playbooks: read playbooks and runs; write playbooks; run (start,
	// approve, revert containment); configure connectors (credentials).
	PermPlaybookRead   Perm = "playbook.read"
	PermPlaybookWrite  Perm = "playbook.write"
	PermPlaybookRun    Perm = "playbook.run"
	PermConnectorWrite Perm = "connector.write"
	// Endpoint sweeps (internal/fleet): uploading results (enrolment
	// tokens), reading the fleet, reviewing findings, and managing what
	// scanners get (packages, campaigns, expected endpoints).
	PermSweepUpload Perm = "sweep.upload"
	PermFleetRead   Perm = "fleet.read"
	PermFleetReview Perm = "fleet.review"
	PermFleetWrite  Perm = "fleet.write"
	// Detection (alerts engineer): reading and triaging alerts, reading
	// and managing rules, rule settings and exceptions.
	PermAlertRead  Perm = "alert.read"
	PermAlertWrite Perm = "alert.write"
	PermRuleRead   Perm = "rule.read"
	PermRuleWrite  Perm = "rule.write"
	// PermSelf is what every logged-in person has: their own profile and
	// preferences.
	PermSelf Perm = "self"
)

var rolePerms = map[tansa.Role][]Perm{
	tansa.RoleProviderAdmin: {PermSelf, PermTenantRead, PermTenantWrite, PermUserRead, PermUserWrite,
		PermTokenRead, PermTokenWrite, PermAuditRead, PermEventRead, PermIntelRead, PermIntelWrite,
		PermCaseRead, PermCaseWrite, PermPlaybookRead, PermPlaybookWrite, PermPlaybookRun, PermConnectorWrite,
		PermFleetRead, PermFleetReview, PermFleetWrite, PermAlertRead, PermAlertWrite, PermRuleRead, PermRuleWrite},
	tansa.RoleProviderAnalyst: {PermSelf, PermTenantRead, PermEventRead, PermIntelRead, PermIntelWrite,
		PermCaseRead, PermCaseWrite, PermPlaybookRead, PermPlaybookWrite, PermPlaybookRun,
		PermFleetRead, PermFleetReview, PermFleetWrite, PermAlertRead, PermAlertWrite, PermRuleRead, PermRuleWrite},
	tansa.RoleTenantAdmin: {PermSelf, PermTenantRead, PermUserRead, PermUserWrite, PermTokenRead,
		PermTokenWrite, PermAuditRead, PermEventRead, PermIntelRead, PermIntelWrite, PermCaseRead, PermCaseWrite,
		PermPlaybookRead, PermPlaybookWrite, PermPlaybookRun, PermConnectorWrite,
		PermFleetRead, PermFleetReview, PermFleetWrite, PermAlertRead, PermAlertWrite, PermRuleRead, PermRuleWrite},
	tansa.RoleTenantViewer: {PermSelf, PermTenantRead, PermEventRead, PermIntelRead, PermCaseRead, PermPlaybookRead,
		PermFleetRead, PermFleetReview, PermAlertRead, PermRuleRead},
	tansa.RoleIngest:  {PermEventWrite},
	tansa.RoleScanner: {PermSweepUpload},
}

// Principal is an authenticated caller: a user with a session or an API
// token. It is a value; copies are independent.
type Principal struct {
	Kind string // "user", "token" or "system"
	ID   string // user or token ID
	Name string // username or token name, for the audit trail
	Role tansa.Role
	// TenantID is the one tenant of a tenant role or an ingest token.
	TenantID string
	// Tenants restricts a provider role to a chosen set; empty means all.
	Tenants []string
	// Current is the tenant a provider user chose in the console's tenant
	// switcher; empty means all of theirs. It narrows views, never widens them.
	Current string
	// Language and TimeZone are a user's preferences; empty for tokens.
	Language string
	TimeZone string
}

// System is the principal of the command line and of background jobs run by
// the operator of the machine.
func System(name string) Principal {
	return Principal{Kind: "system", ID: name, Name: name, Role: tansa.RoleProviderAdmin}
}

// Can reports whether p's role grants perm.
func (p Principal) Can(perm Perm) bool { return slices.Contains(rolePerms[p.Role], perm) }

// AllTenants reports whether p reaches every tenant, present and future.
func (p Principal) AllTenants() bool { return p.Role.Provider() && len(p.Tenants) == 0 }

// CanAccess reports whether p may see data of tenant id. An empty id, meaning
// provider-wide data, is reachable by provider roles only.
func (p Principal) CanAccess(id string) bool {
	switch {
	case id == "":
		return p.Role.Provider()
	case p.Role.Provider():
		return len(p.Tenants) == 0 || slices.Contains(p.Tenants, id)
	default:
		return p.TenantID == id
	}
}

// Scope is the set of tenants a query may return. The zero Scope matches
// nothing.
type Scope struct {
	All      bool     // every tenant, and provider-wide rows
	Tenants  []string // otherwise, exactly these tenants
	Provider bool     // with Tenants: also provider-wide rows (tenant ID empty)
}

// Scope returns the tenants p's queries may touch, narrowed to the tenant
// chosen in the console when there is one. A provider role restricted to
// some tenants sees their rows only: provider-wide rows (other provider
// staff and their tenant sets, provider tokens, provider-wide audit) would
// show it the tenants it may not reach, and single lookups refuse them too.
func (p Principal) Scope() Scope {
	if p.Current != "" && p.CanAccess(p.Current) {
		return Scope{Tenants: []string{p.Current}}
	}
	switch {
	case p.AllTenants():
		return Scope{All: true}
	case p.Role.Provider():
		return Scope{Tenants: slices.Clone(p.Tenants)}
	case p.TenantID != "":
		return Scope{Tenants: []string{p.TenantID}}
	}
	return Scope{}
}

// Narrow returns s restricted to tenant id, or the zero (empty) scope when
// id is outside s. An empty id leaves s unchanged.
func (s Scope) Narrow(id string) Scope {
	if id == "" {
		return s
	}
	if s.All || slices.Contains(s.Tenants, id) {
		return Scope{Tenants: []string{id}}
	}
	return Scope{}
}

// Caller is who makes a change and from where, for the audit trail.
type Caller struct {
	Principal
	Addr string // the remote address, without port
}

// TenantFinder finds a tenant as a caller sees it; *Service is one.
type TenantFinder interface {
	Tenant(ctx context.Context, c Caller, id string) (tansa.Tenant, error)
}

// Reach resolves the one tenant a request names for c: asked when c may
// reach it (another tenant answers NotFound, like a missing one), else the
// tenant c works in — the one chosen in the console, or its credential's.
// It returns "" when c works across tenants and named none.
func Reach(ctx context.Context, tenants TenantFinder, c Caller, asked string) (string, error) {
	if asked == "" {
		if c.Current != "" && c.CanAccess(c.Current) {
			return c.Current, nil
		}
		if !c.Role.Provider() {
			if c.TenantID == "" {
				return "", tansa.Errorf(tansa.Forbidden, "your credential belongs to no tenant")
			}
			return c.TenantID, nil
		}
		return "", nil
	}
	if c.Current != "" && c.Current != asked {
		return "", tansa.Errorf(tansa.NotFound, "tenant %q not found", asked)
	}
	t, err := tenants.Tenant(ctx, c, asked)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

func (c Caller) actor() string { return c.Kind + ":" + c.Name }

// mayGrant reports whether a caller with role r may create or manage a
// credential with role target. Nobody grants more than they hold, and only
// provider admins create provider credentials.
func mayGrant(r, target tansa.Role) bool {
	switch r {
	case tansa.RoleProviderAdmin:
		return true
	case tansa.RoleTenantAdmin:
		return target == tansa.RoleTenantAdmin || target == tansa.RoleTenantViewer || target.Machine()
	}
	return false
}
