package intel

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Hit describes one indicator found in one tenant's data, for the alert it
// raises: live matching (tansa.AlertIOC) or a retro-hunt (tansa.AlertRetro).
type Hit struct {
	Kind      tansa.AlertKind
	TenantID  string // the tenant whose data mentioned the indicator
	RecordID  string // the store's ID of the indicator
	Indicator *Indicator
	// Observed is the value as the data had it and Field where (a field
	// name such as "source.ip", or "events"/"sweeps" for a retro-hunt).
	Observed string
	Field    string
	Host     string
	User     string
	First    time.Time
	Last     time.Time
	Count    int
	EventIDs []string
	Ref      string // what else holds the evidence: a hunt job, a sweep result
}

// AlertContext is what an indicator alert carries in tansa.Alert.Context:
// the indicator's identity, trust and sharing limits, and its 5W1H.
type AlertContext struct {
	IndicatorID  string    `json:"indicator_id"`
	SourceID     string    `json:"source_id,omitempty"`
	Type         Type      `json:"type"`
	Value        string    `json:"value"`
	Observed     string    `json:"observed,omitempty"`
	Field        string    `json:"field,omitempty"`
	Confidence   int       `json:"confidence"`
	TLP          TLP       `json:"tlp,omitempty"`
	Source       string    `json:"source,omitempty"`
	Global       bool      `json:"global"`
	ThreatActors []string  `json:"threat_actors,omitempty"`
	Campaigns    []string  `json:"campaigns,omitempty"`
	Malware      []string  `json:"malware,omitempty"`
	Motives      []string  `json:"motives,omitempty"`
	Sectors      []string  `json:"sectors,omitempty"`
	Regions      []string  `json:"regions,omitempty"`
	Routes       []string  `json:"intrusion_routes,omitempty"`
	Handling     string    `json:"handling,omitempty"`
	Description  string    `json:"description,omitempty"`
	KillChain    []string  `json:"kill_chain,omitempty"`
	Ref          string    `json:"ref,omitempty"`
	ValidUntil   time.Time `json:"valid_until,omitzero"`
}

// MaxAlertEvents bounds the events one indicator alert links.
const MaxAlertEvents = 20

// Level maps an indicator's confidence to an alert level: a confident
// indicator is worth a person's attention at once, a weak one less so.
func (ind *Indicator) Level() string {
	switch c := ind.Confidence; {
	case c >= 85:
		return "high"
	case c >= 50:
		return "medium"
	case c > 0:
		return "low"
	}
	return "medium" // unknown confidence: neither dismissed nor urgent
}

// Alert turns h into the alert it raises. Matches of the same indicator in
// the same tenant share GroupKey (the value), so the alert queue merges
// repeated sightings into one alert whose count grows.
func (h Hit) Alert() tansa.Alert {
	ind := h.Indicator
	title := ind.Name
	if title == "" {
		title = string(ind.Type) + " " + ind.Value
	}
	prefix := "Indicator: "
	if h.Kind == tansa.AlertRetro {
		prefix = "Retro-hunt: "
	}
	var tags []string
	for _, t := range ind.Techniques {
		tags = append(tags, "attack."+strings.ToLower(t))
	}
	tags = append(tags, ind.Tags...)
	if ind.TLP != "" {
		tags = append(tags, "tlp:"+string(ind.TLP))
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	cx := AlertContext{IndicatorID: h.RecordID, SourceID: ind.ID, Type: ind.Type, Value: ind.Value, Observed: h.Observed,
		Field: h.Field, Confidence: ind.Confidence, TLP: ind.TLP, Source: ind.Source, Global: ind.TenantID == "",
		ThreatActors: ind.Context.ThreatActors, Campaigns: ind.Context.Campaigns, Malware: ind.Context.Malware,
		Motives: ind.Context.Motives, Sectors: ind.Context.Sectors, Regions: ind.Context.Regions,
		Routes: ind.Context.IntrusionRoutes, Handling: ind.Context.Handling, Description: ind.Context.Description,
		Ref: h.Ref, ValidUntil: ind.ValidUntil}
	for _, k := range ind.KillChain {
		cx.KillChain = append(cx.KillChain, k.Chain+":"+k.Phase)
	}
	raw, _ := json.Marshal(cx) // strings, ints and times always encode
	count := max(h.Count, 1)
	ids := h.EventIDs
	if len(ids) > MaxAlertEvents {
		ids = ids[:MaxAlertEvents]
	}
	if ids == nil {
		ids = []string{}
	}
	first, last := h.First, h.Last
	if first.IsZero() {
		first = last
	}
	return tansa.Alert{TenantID: h.TenantID, Kind: h.Kind, RuleID: h.RecordID, RuleTitle: prefix + title, Level: ind.Level(),
		Tags: tags, Host: h.Host, User: h.User, GroupKey: ind.Value, Count: count, FirstSeen: first, LastSeen: last,
		EventIDs: ids, Context: raw, Status: tansa.AlertNew}
}

// Matchable reports whether ind may match in tenant's data: its own
// indicators and global ones, never allowlisted or revoked ones, and never
// global TLP:RED intelligence — an alert would show it to the tenant's
// people, who may not see it.
func (ind *Indicator) Matchable(tenant string) bool {
	if ind.Revoked || ind.Allowlisted != "" {
		return false
	}
	if ind.TenantID == "" {
		return ind.TLP != TLPRed
	}
	return ind.TenantID == tenant
}
