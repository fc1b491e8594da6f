// Package retro runs retro-hunts: when indicators arrive (an import, a feed
// pull, or a person asking), it searches the events each tenant stored in
// its look-back window (intel_settings, 90 days by default) through the
// observable index, by exact token, and the stored endpoint sweep results
// when a sweep index is wired. Every hit becomes a sighting of the
// indicator and an alert of kind "retro".
//
// Work enters through Enqueue (one job per searched tenant, so a job and
// its results belong to one tenant) and is done by Run, a single worker
// that takes the oldest queued job; jobs, progress and hits are kept in the
// Store so that a restart resumes what was running. Results leave through
// Hunts, Hunt and Hits, scoped to the caller's tenants.
package retro

import (
	"context"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Origin says why a hunt was started.
type Origin string

// The origins of hunts.
const (
	OriginImport Origin = "import" // indicators imported through the API or the CLI
	OriginFeed   Origin = "feed"   // a scheduled feed pull
	OriginManual Origin = "manual" // "hunt this indicator now"
)

// Status is where a hunt is.
type Status string

// The statuses of hunts.
const (
	StatusQueued  Status = "queued"
	StatusRunning Status = "running"
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
)

// Job is one retro-hunt over one tenant's stored data.
type Job struct {
	ID         string
	TenantID   string // whose events and sweeps are searched
	Origin     Origin
	Ref        string // the import, feed or indicator that started it
	Actor      string // who started it, as in the audit log
	Indicators []string
	Days       int // the look-back window
	Status     Status
	Total      int // indicators to hunt
	Done       int // indicators hunted so far
	Hits       int // mentions found (all of them; Hits stores at most MaxStoredHits)
	Error      string
	Created    time.Time
	Started    time.Time
	Finished   time.Time
}

// Hit is one stored mention of a hunted indicator.
type Hit struct {
	HuntID      string
	IndicatorID string
	Value       string    // the value as the index holds it
	Source      string    // "events" or "sweeps"
	Ref         string    // the event ID or sweep result ID
	Time        time.Time // when the event happened
}

// MaxStoredHits bounds the hits a job keeps; Job.Hits counts them all.
const MaxStoredHits = 10000

// Query selects hunts, newest first.
type Query struct {
	Scope       access.Scope
	IndicatorID string // only hunts of this indicator; empty for all
	access.Page
}

// Store keeps hunts and their hits, and each tenant's look-back window.
// Implementations are safe for concurrent use; lookups of missing hunts
// fail with kind tansa.NotFound.
type Store interface {
	CreateHunts(ctx context.Context, jobs []Job) error
	Hunt(ctx context.Context, id string) (Job, error)
	Hunts(ctx context.Context, q Query) ([]Job, int, error)
	// ClaimHunt marks the oldest queued hunt running (started at now) and
	// returns it; false when none is queued.
	ClaimHunt(ctx context.Context, now time.Time) (Job, bool, error)
	// RequeueRunning puts hunts left running by a stopped server back in
	// the queue and returns how many.
	RequeueRunning(ctx context.Context) (int, error)
	// UpdateHunt stores a job's status, counters, error and finish time.
	UpdateHunt(ctx context.Context, j Job) error
	// AddHits stores hits; a hit stored already is kept once.
	AddHits(ctx context.Context, hits []Hit) error
	// Hits lists a hunt's hits, newest event first.
	Hits(ctx context.Context, huntID string, p access.Page) ([]Hit, int, error)
	// IndicatorHits lists the hits of an indicator in the hunts of the
	// given tenants, newest event first.
	IndicatorHits(ctx context.Context, indicatorID string, scope access.Scope, p access.Page) ([]Hit, int, error)
	// RetroDays returns tenant's look-back window, 0 when unset.
	RetroDays(ctx context.Context, tenant string) (int, error)
	SetRetroDays(ctx context.Context, tenant string, days int) error
}

// Lookup asks an index for mentions of values.
type Lookup struct {
	Values []string // exact observable values, in the index's normal form
	// Prefixes are string prefixes of values ("10.1.2."), for CIDRs; the
	// caller filters the answers.
	Prefixes []string
	Since    time.Time
	// Max bounds the mentions returned per value or prefix.
	Max int
}

// Mention is one stored record that mentions a value.
type Mention struct {
	Value string
	Ref   string // the event ID, or the sweep result ID
	Time  time.Time
}

// Index finds the stored records of one tenant that mention values. The
// event stores implement it over their observable index; the endpoint
// sweep store implements it over stored sweep results.
type Index interface {
	Mentions(ctx context.Context, tenant string, l Lookup) ([]Mention, error)
}

// Indicators is what a hunt needs of the intelligence store.
type Indicators interface {
	// HuntKeys returns the indicators with the given IDs with only what a
	// hunt selects and looks them up by: ID, tenant, type, value, TLP,
	// revoked and allowlisted (their stored columns, not the whole
	// record), in no particular order; unknown IDs are left out.
	HuntKeys(ctx context.Context, ids []string) ([]service.Record, error)
	// IndicatorsByID returns whole indicators, for the alerts of the few
	// a hunt found.
	IndicatorsByID(ctx context.Context, ids []string) ([]service.Record, error)
	AddSightings(ctx context.Context, s []service.NewSighting) error
	// IndicatorsVersion returns a value that changes whenever an
	// indicator is added or changed, so that keys read before a hunt
	// runs are known to be current.
	IndicatorsVersion(ctx context.Context) (string, error)
}

// Alerts receives the alerts hunts raise; internal/alert's Service
// implements it.
type Alerts interface {
	Raise(ctx context.Context, alerts []tansa.Alert) error
}

// Tenants lists every tenant, for hunting global indicators everywhere.
type Tenants interface {
	TenantIDs(ctx context.Context) ([]string, error)
}

// Finder resolves an indicator the caller may see, for manual hunts;
// *service.Service implements it.
type Finder interface {
	Indicator(ctx context.Context, c access.Caller, id string) (service.Record, error)
}

// DefaultDays is the look-back window of a tenant that set none.
const DefaultDays = 90

// MaxDays bounds the look-back window a tenant may set.
const MaxDays = 3660

// huntable reports whether ind can be looked up in an observable index.
func huntable(t intel.Type) bool {
	switch t {
	case intel.TypeIPv4, intel.TypeIPv6, intel.TypeCIDR, intel.TypeDomain, intel.TypeURL,
		intel.TypeMD5, intel.TypeSHA1, intel.TypeSHA256, intel.TypeEmail:
		return true
	}
	return false
}
