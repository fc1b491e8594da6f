// Package ruleset keeps the Sigma rules that live detection runs: global
// rule sets (the provider's, such as a SigmaHQ release) and each tenant's
// own, every import a new numbered version of its set, one version live;
// and each tenant's rule settings (which levels and statuses are enabled,
// rules switched on or off by ID, and the placeholder values of Sigma's
// expand modifier).
//
// Rule files enter through Service.Import (an archive or a single file,
// parsed before anything is stored, each failure reported with file, line
// and reason) and leave through Service.Live, which gives the detector a
// tenant's enabled rules, parsed once per version and cached. Every change
// is audited in the same transaction and moves the tenant's Generation, so
// the detector knows to recompile.
package ruleset

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Rule describes one rule of a version, for listing.
type Rule struct {
	VersionID string   `json:"version_id"`
	Set       string   `json:"set"`
	TenantID  string   `json:"tenant_id"` // empty for a global set
	RuleID    string   `json:"rule_id"`
	Title     string   `json:"title"`
	Level     string   `json:"level"`
	Status    string   `json:"status"`
	Kind      string   `json:"kind"` // detection, correlation or filter
	Product   string   `json:"product,omitempty"`
	Category  string   `json:"category,omitempty"`
	Service   string   `json:"service,omitempty"`
	Tags      []string `json:"tags"`
	Path      string   `json:"path"`
	// Enabled says whether the tenant's settings run the rule; set by the
	// service for the tenant asked about.
	Enabled bool `json:"enabled"`
}

// Rejection is a rule file an import could not use.
type Rejection struct {
	Path   string `json:"path"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

// Result is what an import did.
type Result struct {
	Files         int         `json:"files"`
	Rules         int         `json:"rules"`
	Rejected      []Rejection `json:"rejected"`
	RejectedCount int         `json:"rejected_count"`
}

// MaxRejections is how many rejections a result lists (the count is
// complete).
const MaxRejections = 100

// Version is one import of a rule set.
type Version struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"` // empty for a global set
	Set      string    `json:"set"`
	Version  int       `json:"version"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Source   string    `json:"source"`
	Rules    int       `json:"rules"`
	Live     bool      `json:"live"`
	Result   Result    `json:"result"`
}

// VersionQuery selects versions, newest first.
type VersionQuery struct {
	// Scope of the tenants' own sets; Global adds the global sets.
	Scope  access.Scope
	Global bool
	Set    string
	access.Page
}

// RuleQuery selects rules of live versions.
type RuleQuery struct {
	Tenant string // the tenant's own live sets and the global ones; empty: global ones only
	Text   string // substring of the title or rule ID
	Level  string
	Status string
	access.Page
}

// Settings are a tenant's choices of which rules run.
type Settings struct {
	TenantID string `json:"tenant_id"`
	// MinLevel and Statuses are the policy: a rule runs when its level is
	// at least MinLevel and its status is one of Statuses…
	MinLevel string   `json:"min_level"`
	Statuses []string `json:"statuses"`
	// …unless its ID is in Disabled; a rule in Enabled runs whatever its
	// level and status.
	Enabled  []string `json:"enabled"`
	Disabled []string `json:"disabled"`
	// Placeholders are the values of %name% placeholders for rules using
	// the expand modifier (e.g. "Admins_Workstations": ["ws-01", …]).
	Placeholders map[string][]string `json:"placeholders"`
	Updated      time.Time           `json:"updated,omitzero"`
}

// DefaultSettings is the policy of a tenant that chose none: stable and
// test rules of level medium and above.
func DefaultSettings(tenant string) Settings {
	return Settings{TenantID: tenant, MinLevel: "medium", Statuses: []string{"stable", "test"},
		Enabled: []string{}, Disabled: []string{}, Placeholders: map[string][]string{}}
}

// Statuses are Sigma's rule statuses.
var Statuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}

// Runs reports whether settings s run a rule of id, level and status.
func (s *Settings) Runs(id, level, status string) bool {
	if slices.Contains(s.Enabled, id) {
		return true
	}
	if slices.Contains(s.Disabled, id) {
		return false
	}
	level, status = strings.ToLower(level), strings.ToLower(status)
	if level == "" {
		level = "informational"
	}
	return tansa.LevelRank(level) >= tansa.LevelRank(s.MinLevel) && slices.Contains(s.Statuses, status)
}

func (s *Settings) validate() error {
	if tansa.LevelRank(s.MinLevel) < 0 {
		return tansa.Errorf(tansa.Invalid, "min_level: %q must be one of %s", s.MinLevel, strings.Join(tansa.Levels, ", "))
	}
	for _, st := range s.Statuses {
		if !slices.Contains(Statuses, st) {
			return tansa.Errorf(tansa.Invalid, "statuses: %q must be one of %s", st, strings.Join(Statuses, ", "))
		}
	}
	if len(s.Enabled)+len(s.Disabled) > 20000 {
		return tansa.Errorf(tansa.Invalid, "enabled and disabled: at most 20000 rule IDs")
	}
	n := 0
	for name, vals := range s.Placeholders {
		if name == "" || len(name) > 200 {
			return tansa.Errorf(tansa.Invalid, "placeholders: names are 1 to 200 characters")
		}
		n += len(vals)
	}
	if n > 10000 {
		return tansa.Errorf(tansa.Invalid, "placeholders: at most 10000 values in all")
	}
	if s.Enabled == nil {
		s.Enabled = []string{}
	}
	if s.Disabled == nil {
		s.Disabled = []string{}
	}
	if s.Statuses == nil {
		s.Statuses = []string{}
	}
	if s.Placeholders == nil {
		s.Placeholders = map[string][]string{}
	}
	return nil
}

// NewVersion is what Store.CreateVersion stores: the version, its rule
// files and the rules they hold.
type NewVersion struct {
	Version Version
	Files   []File
	Rules   []Rule
}

// Store keeps rule sets, their versions, tenant settings and the live
// detector's saved state. Implementations are safe for concurrent use.
// Lookups of a missing object return an error of kind tansa.NotFound.
type Store interface {
	// CreateVersion stores v as the next version of its set (numbering it:
	// v.Version.Version is set by the store), makes it live and appends the
	// audit entry, in one transaction. It returns the version number.
	CreateVersion(ctx context.Context, v NewVersion, a tansa.AuditEntry) (int, error)
	// SetLive makes version id the live one of its set, audited.
	SetLive(ctx context.Context, id string, a tansa.AuditEntry) error
	RuleVersion(ctx context.Context, id string) (Version, error)
	RuleVersions(ctx context.Context, q VersionQuery) ([]Version, int, error)
	// LiveVersions returns the live versions of the global sets and of
	// tenant's sets.
	LiveVersions(ctx context.Context, tenant string) ([]Version, error)
	// VersionFiles returns the rule files of version id.
	VersionFiles(ctx context.Context, id string) ([]File, error)
	// Rules lists the rules of the live versions q.Tenant sees, by set and
	// path.
	Rules(ctx context.Context, q RuleQuery) ([]Rule, int, error)
	// RuleSettings returns tenant's settings, or NotFound when it has none.
	RuleSettings(ctx context.Context, tenant string) (Settings, error)
	PutRuleSettings(ctx context.Context, s Settings, a tansa.AuditEntry) error
	// DetectState and PutDetectState keep the live correlators' snapshot
	// per tenant (nil when none).
	DetectState(ctx context.Context, tenant string) ([]byte, error)
	PutDetectState(ctx context.Context, tenant string, data []byte, at time.Time) error
}
