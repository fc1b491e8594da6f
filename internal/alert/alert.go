// Package alert is stage ④ of the pipeline: it turns what detection raises
// into alerts a person triages, and keeps the tuning that suppresses known
// benign matches.
//
// Alerts enter through Service.Raise (the Sigma detector, the indicator
// matcher, sweeps): a match with the same tenant, kind, rule and group key
// as an open alert within the deduplication window merges into it (its
// count grows, its last-seen time moves, a bounded list of event IDs grows),
// otherwise it becomes a new alert. Matches that an exception covers are
// counted on the exception and never stored as alerts. Alerts leave through
// List and Get (scoped to the caller's tenants), through the bulk triage
// actions (each change audited in the same transaction), and through
// Subscribe, which tells the console's live queue and the playbooks about
// every new or changed alert.
package alert

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// CloseReason says why an alert was closed.
type CloseReason string

// The close reasons.
const (
	TruePositive  CloseReason = "true-positive"
	Benign        CloseReason = "benign"
	FalsePositive CloseReason = "false-positive"
	Duplicate     CloseReason = "duplicate"
)

// CloseReasons lists every close reason.
var CloseReasons = []CloseReason{TruePositive, Benign, FalsePositive, Duplicate}

// Valid reports whether r is a known close reason.
func (r CloseReason) Valid() bool { return slices.Contains(CloseReasons, r) }

// Sort orders an alert list.
type Sort string

// The sort orders; LastSeen (newest first) is the default.
const (
	SortLastSeen  Sort = "last_seen"  // newest activity first
	SortFirstSeen Sort = "first_seen" // newest first
	SortLevel     Sort = "level"      // most severe first, then newest
	SortCount     Sort = "count"      // most matches first, then newest
)

// Sorts lists every sort order.
var Sorts = []Sort{SortLastSeen, SortFirstSeen, SortLevel, SortCount}

// Query selects alerts. Zero fields match everything.
type Query struct {
	Scope    access.Scope
	Status   []tansa.AlertStatus // any of these
	MinLevel string              // this level or above
	Level    string              // exactly this level
	Kind     tansa.AlertKind
	RuleID   string
	Host     string // exact, case-insensitive
	User     string // exact, case-insensitive
	Assignee string // user ID; "-" selects unassigned alerts
	Text     string // substring of the rule title, host or user, case-insensitive
	Since    time.Time
	Until    time.Time // last seen before
	Sort     Sort
	access.Page
}

// Change is one alert as it was stored by Raise or a triage action.
type Change struct {
	Alert tansa.Alert
	New   bool // the alert was created rather than updated
}

// Mutation changes one stored alert inside a triage transaction: it gets
// the alert as stored and returns it changed with the audit entry of the
// change, or keep=false to leave it as it is. An error aborts the whole
// transaction.
type Mutation func(a tansa.Alert) (changed tansa.Alert, audit tansa.AuditEntry, keep bool, err error)

// MergeOptions tell Store.Merge how to deduplicate.
type MergeOptions struct {
	Window    time.Duration // a match merges into an open alert seen within this window
	MaxEvents int           // at most this many event IDs are linked to one alert
	Now       time.Time     // the time of the change
}

// Store keeps alerts and exceptions. Implementations are safe for
// concurrent use. Lookups of a missing object return an error of kind
// tansa.NotFound. Every triage and exception change is stored together with
// its audit entry in one transaction.
type Store interface {
	// Merge stores the matches in one transaction: each merges into the
	// most recent open alert (status not closed) of the same tenant, kind,
	// rule and group key whose first-seen to last-seen span, widened by
	// the window, holds the match's first-seen time; otherwise it is
	// inserted as given (ID, status and times set by the caller). It
	// returns the stored state of every alert it touched.
	Merge(ctx context.Context, in []tansa.Alert, opt MergeOptions) ([]Change, error)
	Alert(ctx context.Context, id string) (tansa.Alert, error)
	Alerts(ctx context.Context, q Query) ([]tansa.Alert, int, error)
	// Triage applies fn to each of ids in one transaction, storing each
	// alert fn changes with its audit entry. A missing ID fails the whole
	// call with NotFound and changes nothing.
	Triage(ctx context.Context, ids []string, fn Mutation) ([]tansa.Alert, error)

	PutAlertException(ctx context.Context, e Exception, a tansa.AuditEntry) error
	DeleteAlertException(ctx context.Context, id string, a tansa.AuditEntry) error
	AlertException(ctx context.Context, id string) (Exception, error)
	AlertExceptions(ctx context.Context, q ExceptionQuery) ([]Exception, int, error)
	// CountHits adds suppressed matches to exceptions' hit counts and moves
	// their last hit forward; unknown IDs are ignored (the exception was
	// deleted meanwhile).
	CountExceptionHits(ctx context.Context, hits map[string]Hit) error
}

// Hit is a number of matches suppressed by one exception.
type Hit struct {
	Count int
	Last  time.Time
}

// marshal encodes an audit summary, which always encodes.
func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
