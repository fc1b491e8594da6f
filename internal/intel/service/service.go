// Package service is the server side of threat intelligence: it stores the
// indicators that imports bring, answers searches within the caller's
// tenants, and builds the block lists that firewalls and resolvers pull.
//
// Feed documents enter through Service.Import, which runs importer.Import
// with a sink that upserts into the Store inside one transaction together
// with the import log entry and its audit entry. Indicators leave through
// Indicators and Indicator (scoped to the caller) and BlockList (a tenant's
// own indicators plus the global ones, never allowlisted values).
//
// Visibility: an indicator with a tenant belongs to that tenant alone;
// a global one (empty tenant) is visible to every tenant, except that
// global TLP:RED intelligence is visible to provider roles only.
package service

import (
	"context"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Record is an indicator as the store keeps it.
type Record struct {
	// ID is the store's identifier, unique across tenants. Indicator.ID
	// is the source's (a STIX id) and may repeat across tenants.
	ID        string
	Indicator intel.Indicator
	Created   time.Time
	Updated   time.Time
}

// Import is one entry of the import log.
type Import struct {
	ID       string
	TenantID string // empty for a global import
	Time     time.Time
	Actor    string // who imported, as in the audit log ("user:alice")
	Source   string // the file name or feed the caller named
	// Result is what the import answered, with at most LogDetails
	// rejections and skips listed (their counts are complete).
	Result importer.Result
}

// LogDetails is how many rejected and skipped items the import log keeps
// per import, so that a garbage upload cannot make the log heavy to list;
// the import's own answer lists up to importer.Options.MaxRejects.
const LogDetails = 100

// Query selects indicators, most recently updated first.
type Query struct {
	// Tenants whose own indicators match; All matches every tenant's.
	Scope access.Scope
	// Global includes global indicators (empty tenant); GlobalRed also
	// those marked TLP:RED.
	Global    bool
	GlobalRed bool
	Text      string     // substring of the value or the name, case-insensitive
	Type      intel.Type // exact type; empty matches all
	access.Page
}

// ImportQuery selects import log entries, newest first.
type ImportQuery struct {
	Scope access.Scope // as access.Scope: Provider or All include global imports
	access.Page
}

// Writer upserts indicators inside an import's transaction. Upsert merges
// ind into the stored indicator of the same Key (intel.Indicator.Merge) or
// adds it, and reports which. Its Sightings are appended to the stored
// ones. After an error of the store itself every later call fails too.
type Writer interface {
	Upsert(ind intel.Indicator) (added bool, err error)
}

// Store keeps indicators, their sightings and the import log.
// Implementations are safe for concurrent use.
//
// Lookups of a missing object return an error of kind tansa.NotFound.
type Store interface {
	// ImportIndicators runs fn in one write transaction. When fn returns
	// nil, the upserts it made through w (created or updated at), the log
	// entry it returns and the audit entry are committed together;
	// otherwise, or when an upsert failed in the store, none of them is.
	ImportIndicators(ctx context.Context, at time.Time, fn func(w Writer) (Import, tansa.AuditEntry, error)) error
	// Indicator returns one indicator with all its sightings.
	Indicator(ctx context.Context, id string) (Record, error)
	// Indicators lists matching indicators without their sightings, and
	// their total.
	Indicators(ctx context.Context, q Query) ([]Record, int, error)
	Imports(ctx context.Context, q ImportQuery) ([]Import, int, error)
	// BlockCandidates returns the IP, CIDR, domain and URL indicators of
	// tenant and the global ones that are neither revoked nor flagged
	// allowlisted, without their sightings, in no particular order.
	BlockCandidates(ctx context.Context, tenant string) ([]intel.Indicator, error)
	// Shared returns up to limit indicators that tenant shares with its
	// partners — its own and the global ones that are not TLP:RED — updated
	// after (after, afterID) in (updated, ID) order, oldest first.
	Shared(ctx context.Context, tenant string, after time.Time, afterID string, limit int) ([]Record, error)
}

// Tenants tells whether a caller may reach a tenant; *access.Service
// implements it.
type Tenants interface {
	Tenant(ctx context.Context, c access.Caller, id string) (tansa.Tenant, error)
}

// Options tunes the service. Zero fields take the defaults in parentheses.
type Options struct {
	// Allowlist flags benign values at import and keeps them off block
	// lists (intel.DefaultAllowlist).
	Allowlist *intel.Allowlist
	// RPZZone is the origin of the RPZ feed (rpz.tansa.local).
	RPZZone string
	Now     func() time.Time // (time.Now)
	// Listener, when set, is told of every committed import that added or
	// changed indicators: live matching reloads, a retro-hunt starts.
	Listener Listener
}

// ImportNotice describes a committed import to a Listener. Every
// indicator the import added or changed was stamped updated at At.
type ImportNotice struct {
	ImportID string
	TenantID string // "" for global intelligence
	At       time.Time
	Actor    string
	Source   string
	Feed     string // the feed whose pull imported, if any
	Added    int
	Updated  int
}

// Listener hears of committed imports. It is called synchronously after
// the commit and should hand long work to a queue.
type Listener interface {
	Imported(ctx context.Context, n ImportNotice)
}

// Service enforces permissions, tenant scope and TLP over a Store, and
// audits every import. It is safe for concurrent use.
type Service struct {
	store   Store
	tenants Tenants
	opt     Options
}

// New returns a service over store. tenants checks that a named tenant
// exists and is within the caller's reach.
func New(store Store, tenants Tenants, opt Options) (*Service, error) {
	if opt.Allowlist == nil {
		a, err := intel.DefaultAllowlist()
		if err != nil {
			return nil, err
		}
		opt.Allowlist = a
	}
	if opt.RPZZone == "" {
		opt.RPZZone = "rpz.tansa.local"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{store: store, tenants: tenants, opt: opt}, nil
}

// Options returns the effective options, defaults filled in.
func (s *Service) Options() Options { return s.opt }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// visible reports whether c may see an indicator of tenant with label tlp.
func visible(c access.Caller, tenant string, tlp intel.TLP) bool {
	if tenant == "" {
		return tlp != intel.TLPRed || c.Role.Provider()
	}
	return c.CanAccess(tenant) && (c.Current == "" || c.Current == tenant)
}

// reach resolves the one tenant a request names for c: asked when c may
// reach it, else the tenant c works in (its own, or the one chosen in the
// console). It returns "" when c works across tenants and named none.
func (s *Service) reach(ctx context.Context, c access.Caller, asked string) (string, error) {
	return access.Reach(ctx, s.tenants, c, asked)
}

// NewSighting is a sighting to add to a stored indicator: live matching
// and retro-hunts record where and when an indicator was seen.
type NewSighting struct {
	IndicatorID string // the store's ID (Record.ID)
	Sighting    intel.Sighting
}
