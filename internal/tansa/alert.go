package tansa

import (
	"encoding/json"
	"slices"
	"time"
)

// AlertKind says which stage of detection raised an alert.
type AlertKind string

// The alert kinds.
const (
	AlertSigma       AlertKind = "sigma"       // a Sigma detection rule matched one event
	AlertCorrelation AlertKind = "correlation" // a Sigma correlation rule fired over several events
	AlertIOC         AlertKind = "ioc"         // an ingested event mentioned a known indicator
	AlertRetro       AlertKind = "retro"       // a stored event or sweep matched an indicator that arrived later
	AlertSweep       AlertKind = "sweep"       // an endpoint sweep reported a finding
)

// AlertKinds lists every alert kind.
var AlertKinds = []AlertKind{AlertSigma, AlertCorrelation, AlertIOC, AlertRetro, AlertSweep}

// Valid reports whether k is a known kind.
func (k AlertKind) Valid() bool { return slices.Contains(AlertKinds, k) }

// Levels are Sigma's severity levels, lowest first; alerts use them too.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank returns the position of level in Levels, or -1 when unknown.
func LevelRank(level string) int { return slices.Index(Levels, level) }

// AlertStatus is where an alert is in triage.
type AlertStatus string

// The alert statuses.
const (
	AlertNew          AlertStatus = "new"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertClosed       AlertStatus = "closed"
)

// Alert is something detection wants a person to look at: a rule, an
// indicator or a sweep finding matched, in one tenant. Matches with the same
// tenant, rule and GroupKey inside the deduplication window merge into one
// alert whose Count grows and whose LastSeen moves.
type Alert struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Kind      AlertKind `json:"kind"`
	RuleID    string    `json:"rule_id"`    // Sigma rule id, indicator id or finding rule
	RuleTitle string    `json:"rule_title"` // what a person reads in the queue
	Level     string    `json:"level"`      // one of Levels
	Tags      []string  `json:"tags"`       // ATT&CK and other tags, e.g. "attack.t1059.001"
	Host      string    `json:"host,omitempty"`
	User      string    `json:"user,omitempty"`
	// GroupKey is the deduplication key inside the rule: by default host and
	// user; a correlation's group-by values; an indicator's value.
	GroupKey  string    `json:"group_key"`
	Count     int       `json:"count"` // matches merged into this alert
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// EventIDs links the matching events (the first ones, bounded).
	EventIDs []string `json:"event_ids"`
	// Context carries what the kind knows: matched fields, an indicator's
	// 5W1H context, a correlation's group-by values, a finding's explanation.
	Context json.RawMessage `json:"context,omitempty"`

	Status      AlertStatus `json:"status"`
	Assignee    string      `json:"assignee,omitempty"` // user ID
	CloseReason string      `json:"close_reason,omitempty"`
	Created     time.Time   `json:"created"`
	Updated     time.Time   `json:"updated"`
}
