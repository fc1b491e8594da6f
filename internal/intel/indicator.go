package intel

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Type is the kind of value an Indicator carries. The zero value is invalid.
type Type string

// The indicator types. Atomic types (all but TypeSTIXPattern) carry one
// normalised value; TypeSTIXPattern carries a whole STIX 2.1 pattern that is
// evaluated over an observation rather than looked up.
const (
	TypeIPv4        Type = "ipv4"
	TypeIPv6        Type = "ipv6"
	TypeCIDR        Type = "cidr"
	TypeDomain      Type = "domain"
	TypeURL         Type = "url"
	TypeMD5         Type = "md5"
	TypeSHA1        Type = "sha1"
	TypeSHA256      Type = "sha256"
	TypeEmail       Type = "email"
	TypeFilename    Type = "filename"
	TypeRegistryKey Type = "registry-key"
	TypeMutex       Type = "mutex"
	TypeUserAgent   Type = "user-agent"
	TypeJA3         Type = "ja3"
	TypeJA4         Type = "ja4"
	TypeSTIXPattern Type = "stix-pattern"
)

// Types lists every valid Type in a stable order.
func Types() []Type {
	return []Type{TypeIPv4, TypeIPv6, TypeCIDR, TypeDomain, TypeURL, TypeMD5, TypeSHA1, TypeSHA256,
		TypeEmail, TypeFilename, TypeRegistryKey, TypeMutex, TypeUserAgent, TypeJA3, TypeJA4, TypeSTIXPattern}
}

// Valid reports whether t is one of the defined types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// IsHash reports whether t is a file-hash type.
func (t Type) IsHash() bool { return t == TypeMD5 || t == TypeSHA1 || t == TypeSHA256 }

// ParseType returns the Type named by s. Besides the canonical names it
// accepts the spellings feeds commonly use ("ip", "ip-dst", "hostname",
// "sha-256", "regkey", "ua", …). It returns an Invalid error for anything else.
func ParseType(s string) (Type, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.NewReplacer("_", "-", " ", "-").Replace(k)
	switch k {
	case "ipv4", "ipv4-addr", "ip4":
		return TypeIPv4, nil
	case "ipv6", "ipv6-addr", "ip6":
		return TypeIPv6, nil
	case "cidr", "ip-range", "netblock", "subnet", "prefix":
		return TypeCIDR, nil
	case "domain", "domain-name", "hostname", "fqdn", "host":
		return TypeDomain, nil
	case "url", "uri", "link":
		return TypeURL, nil
	case "md5":
		return TypeMD5, nil
	case "sha1", "sha-1":
		return TypeSHA1, nil
	case "sha256", "sha-256":
		return TypeSHA256, nil
	case "email", "email-addr", "email-src", "email-dst", "e-mail", "mail":
		return TypeEmail, nil
	case "filename", "file-name", "file":
		return TypeFilename, nil
	case "registry-key", "regkey", "windows-registry-key", "registry":
		return TypeRegistryKey, nil
	case "mutex", "mutant":
		return TypeMutex, nil
	case "user-agent", "useragent", "ua", "http-user-agent":
		return TypeUserAgent, nil
	case "ja3", "ja3-fingerprint-md5":
		return TypeJA3, nil
	case "ja4":
		return TypeJA4, nil
	case "stix-pattern", "stix", "pattern":
		return TypeSTIXPattern, nil
	}
	return "", tansa.Errorf(tansa.Invalid, "unknown indicator type %q", s)
}

// TLP is a Traffic Light Protocol 2.0 label. The zero value means "not
// marked"; callers that must share treat it as TLPAmber.
type TLP string

// The TLP 2.0 labels.
const (
	TLPClear       TLP = "clear"
	TLPGreen       TLP = "green"
	TLPAmber       TLP = "amber"
	TLPAmberStrict TLP = "amber+strict"
	TLPRed         TLP = "red"
)

// ParseTLP returns the TLP named by s, accepting "TLP:GREEN"-style labels,
// any case, and the TLP 1.0 "white" as TLPClear. An empty s yields "" and no
// error.
func ParseTLP(s string) (TLP, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.TrimPrefix(k, "tlp:")
	k = strings.TrimPrefix(k, "tlp-")
	switch k {
	case "":
		return "", nil
	case "clear", "white":
		return TLPClear, nil
	case "green":
		return TLPGreen, nil
	case "amber":
		return TLPAmber, nil
	case "amber+strict", "amber-strict", "amber strict":
		return TLPAmberStrict, nil
	case "red":
		return TLPRed, nil
	}
	return "", tansa.Errorf(tansa.Invalid, "unknown tlp label %q", s)
}

// Rank orders labels from least (clear = 0) to most restrictive (red = 4);
// an unmarked value ranks as amber.
func (t TLP) Rank() int {
	switch t {
	case TLPClear:
		return 0
	case TLPGreen:
		return 1
	case TLPAmberStrict:
		return 3
	case TLPRed:
		return 4
	}
	return 2
}

// DecayModel names how an indicator's confidence falls with age.
type DecayModel string

// The decay models. DecayNone keeps the confidence until ValidUntil.
// DecayLinear falls in a straight line from the full confidence at the
// reference time to zero at ValidUntil (or at reference + HalfLife×2 when
// ValidUntil is unset). DecayExponential halves the confidence every HalfLife.
const (
	DecayNone        DecayModel = ""
	DecayLinear      DecayModel = "linear"
	DecayExponential DecayModel = "exponential"
)

// Decay describes how confidence ages. The reference time is the
// indicator's LastSeen, or ValidFrom when LastSeen is zero, so a new
// sighting refreshes the indicator.
type Decay struct {
	Model    DecayModel
	HalfLife time.Duration
}

// KillChainPhase is one phase of a named kill chain, as in STIX
// ("lockheed-martin-cyber-kill-chain", "delivery") or ATT&CK
// ("mitre-attack", "command-and-control").
type KillChainPhase struct {
	Chain string
	Phase string
}

// Context is the 5W1H of an indicator: who is behind it, why, against whom,
// by what route, and how to handle a hit. Every field is optional.
type Context struct {
	ThreatActors    []string // who: actor or intrusion-set names ("APT1", "Comment Crew")
	Campaigns       []string // which operation
	Malware         []string // with what: malware and tool family names
	Motives         []string // why: "financial-gain", "espionage", …
	Sectors         []string // against whom: targeted industry sectors
	Regions         []string // against whom: targeted regions or countries
	IntrusionRoutes []string // by what route: "spearphishing-attachment", "vpn-exploit", …
	Handling        string   // how: the recommended action on a hit, in words
	Description     string   // free text from the source
}

// RelationKind is a STIX relationship type such as "indicates" or "uses".
type RelationKind string

// Relation links an indicator to a STIX object that gives it meaning:
// malware, threat actor, campaign, intrusion set, attack pattern, tool,
// infrastructure or another indicator.
type Relation struct {
	Kind       RelationKind // "indicates", "attributed-to", "based-on", …
	TargetType string       // the STIX type of the target ("malware", "campaign", …)
	TargetID   string       // the STIX id of the target, when known
	TargetName string       // the target's name, when known
}

// Sighting records that an indicator was seen: where, when and for which
// tenant.
type Sighting struct {
	TenantID string
	Where    string    // the host, sensor, log source or feed that saw it
	When     time.Time // when it was seen
	Count    int       // how many times in the sighting's window; zero means once
	Ref      string    // the event, scan result or alert that holds the evidence
}

// Indicator is one piece of threat intelligence: a typed, normalised value
// (or a STIX pattern) with its provenance, trust, sharing limits, validity
// and context. TenantID empty means the indicator is global and applies to
// every tenant; otherwise only that tenant sees and matches it.
//
// An Indicator is a plain value: copy it freely; the matcher and the block
// lists never modify one they are given.
type Indicator struct {
	ID          string // stable identifier; STIX "indicator--<uuid>" when imported from STIX
	TenantID    string
	Type        Type
	Value       string // normalised (see Normalize); for TypeSTIXPattern the canonical pattern text
	Name        string
	Confidence  int // 0–100
	TLP         TLP
	ValidFrom   time.Time
	ValidUntil  time.Time // zero means no end
	Decay       Decay
	Source      string // the feed, file or person it came from
	FirstSeen   time.Time
	LastSeen    time.Time
	Tags        []string
	KillChain   []KillChainPhase
	Techniques  []string // MITRE ATT&CK technique IDs: "T1566", "T1059.001"
	Context     Context
	Relations   []Relation
	Sightings   []Sighting
	Revoked     bool
	Allowlisted string // non-empty when the value hits an allowlist: the list's reason
}

// Key returns the identity used for de-duplication: tenant, type and value.
// Two indicators with the same key describe the same thing and are merged.
func (ind *Indicator) Key() string {
	return ind.TenantID + "\x00" + string(ind.Type) + "\x00" + ind.Value
}

// Validate checks the invariants that do not need normalisation: a valid
// type, a non-empty value, confidence in 0–100, a known TLP and a validity
// window that does not end before it starts. It returns an Invalid error
// that names the offending field.
func (ind *Indicator) Validate() error {
	switch {
	case !ind.Type.Valid():
		return tansa.Errorf(tansa.Invalid, "indicator %q: unknown type %q", ind.Value, ind.Type)
	case ind.Value == "":
		return tansa.Errorf(tansa.Invalid, "indicator of type %s: empty value", ind.Type)
	case ind.Confidence < 0 || ind.Confidence > 100:
		return tansa.Errorf(tansa.Invalid, "indicator %q: confidence %d outside 0-100", ind.Value, ind.Confidence)
	case !ind.ValidUntil.IsZero() && !ind.ValidFrom.IsZero() && ind.ValidUntil.Before(ind.ValidFrom):
		return tansa.Errorf(tansa.Invalid, "indicator %q: valid_until %s before valid_from %s", ind.Value,
			ind.ValidUntil.Format(time.RFC3339), ind.ValidFrom.Format(time.RFC3339))
	case ind.Decay.Model != DecayNone && ind.Decay.Model != DecayLinear && ind.Decay.Model != DecayExponential:
		return tansa.Errorf(tansa.Invalid, "indicator %q: unknown decay model %q", ind.Value, ind.Decay.Model)
	case ind.Decay.Model == DecayExponential && ind.Decay.HalfLife <= 0:
		return tansa.Errorf(tansa.Invalid, "indicator %q: exponential decay needs a positive half-life", ind.Value)
	}
	if ind.TLP != "" {
		if _, err := ParseTLP(string(ind.TLP)); err != nil {
			return tansa.Errorf(tansa.Invalid, "indicator %q: %w", ind.Value, err)
		}
	}
	return nil
}

// ConfidenceAt returns the confidence the indicator deserves at time t after
// decay: zero before ValidFrom, at or after ValidUntil, and when revoked.
func (ind *Indicator) ConfidenceAt(t time.Time) int {
	if ind.Revoked || (!ind.ValidFrom.IsZero() && t.Before(ind.ValidFrom)) ||
		(!ind.ValidUntil.IsZero() && !t.Before(ind.ValidUntil)) {
		return 0
	}
	ref := ind.LastSeen
	if ref.IsZero() || (!ind.ValidFrom.IsZero() && ref.Before(ind.ValidFrom)) {
		ref = ind.ValidFrom
	}
	age := t.Sub(ref)
	if ref.IsZero() || age <= 0 {
		return ind.Confidence
	}
	c := float64(ind.Confidence)
	switch ind.Decay.Model {
	case DecayExponential:
		c *= math.Exp2(-float64(age) / float64(ind.Decay.HalfLife))
	case DecayLinear:
		end := ind.ValidUntil
		if end.IsZero() {
			if ind.Decay.HalfLife <= 0 {
				return ind.Confidence
			}
			end = ref.Add(2 * ind.Decay.HalfLife)
		}
		span := end.Sub(ref)
		if span <= 0 || age >= span {
			return 0
		}
		c *= 1 - float64(age)/float64(span)
	}
	return int(math.Round(c))
}

// Active reports whether the indicator should be matched and blocked at t:
// not revoked, inside its validity window and with confidence left after
// decay (an indicator whose confidence was zero from the start stays active
// while valid, because zero means "unknown" in STIX).
func (ind *Indicator) Active(t time.Time) bool {
	if ind.Revoked || (!ind.ValidFrom.IsZero() && t.Before(ind.ValidFrom)) ||
		(!ind.ValidUntil.IsZero() && !t.Before(ind.ValidUntil)) {
		return false
	}
	return ind.Confidence == 0 || ind.ConfidenceAt(t) > 0
}

// Merge folds other, a newer report of the same Key, into ind: it widens the
// seen window, keeps the higher confidence and the stricter TLP, and unions
// tags, kill-chain phases, techniques, context, relations and sightings.
// Scalar fields that other sets replace those of ind.
func (ind *Indicator) Merge(other *Indicator) {
	if other.Name != "" {
		ind.Name = other.Name
	}
	if other.Confidence > ind.Confidence {
		ind.Confidence = other.Confidence
	}
	if other.TLP != "" && (ind.TLP == "" || other.TLP.Rank() > ind.TLP.Rank()) {
		ind.TLP = other.TLP
	}
	if !other.ValidFrom.IsZero() && (ind.ValidFrom.IsZero() || other.ValidFrom.Before(ind.ValidFrom)) {
		ind.ValidFrom = other.ValidFrom
	}
	if !other.ValidUntil.IsZero() && other.ValidUntil.After(ind.ValidUntil) {
		ind.ValidUntil = other.ValidUntil
	}
	if other.Decay.Model != DecayNone {
		ind.Decay = other.Decay
	}
	if ind.Source == "" {
		ind.Source = other.Source
	}
	if !other.FirstSeen.IsZero() && (ind.FirstSeen.IsZero() || other.FirstSeen.Before(ind.FirstSeen)) {
		ind.FirstSeen = other.FirstSeen
	}
	if other.LastSeen.After(ind.LastSeen) {
		ind.LastSeen = other.LastSeen
	}
	ind.Revoked = other.Revoked
	if other.Allowlisted != "" {
		ind.Allowlisted = other.Allowlisted
	}
	ind.Tags = union(ind.Tags, other.Tags)
	ind.Techniques = union(ind.Techniques, other.Techniques)
	for _, k := range other.KillChain {
		if !slices.Contains(ind.KillChain, k) {
			ind.KillChain = append(ind.KillChain, k)
		}
	}
	for _, r := range other.Relations {
		if !slices.Contains(ind.Relations, r) {
			ind.Relations = append(ind.Relations, r)
		}
	}
	ind.Sightings = append(ind.Sightings, other.Sightings...)
	ind.Context.Merge(other.Context)
}

// Merge unions other into c; text fields of other replace empty ones of c.
func (c *Context) Merge(other Context) {
	c.ThreatActors = union(c.ThreatActors, other.ThreatActors)
	c.Campaigns = union(c.Campaigns, other.Campaigns)
	c.Malware = union(c.Malware, other.Malware)
	c.Motives = union(c.Motives, other.Motives)
	c.Sectors = union(c.Sectors, other.Sectors)
	c.Regions = union(c.Regions, other.Regions)
	c.IntrusionRoutes = union(c.IntrusionRoutes, other.IntrusionRoutes)
	if c.Handling == "" {
		c.Handling = other.Handling
	}
	if c.Description == "" {
		c.Description = other.Description
	}
}

// IsZero reports whether no context field is set.
func (c *Context) IsZero() bool {
	return len(c.ThreatActors)+len(c.Campaigns)+len(c.Malware)+len(c.Motives)+len(c.Sectors)+
		len(c.Regions)+len(c.IntrusionRoutes) == 0 && c.Handling == "" && c.Description == ""
}

// union appends to a the elements of b it lacks, keeping a's order.
func union(a, b []string) []string {
	for _, s := range b {
		if s != "" && !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
