package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/TcM1911/stix2"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/stixpattern"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// tlpMarkings are the well-known STIX marking-definition ids: the TLP 1.0
// ones from STIX 2.1 §7.2.1.4 and the TLP 2.0 ones from the OASIS TLP 2.0
// extension.
var tlpMarkings = map[string]intel.TLP{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": intel.TLPClear, // TLP:WHITE
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": intel.TLPGreen,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": intel.TLPAmber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": intel.TLPRed,
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": intel.TLPClear, // TLP 2.0
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": intel.TLPGreen,
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": intel.TLPAmber,
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": intel.TLPAmberStrict,
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": intel.TLPRed,
}

// tlp2Marking returns the TLP 2.0 marking-definition id for t, used on
// export.
func tlp2Marking(t intel.TLP) string {
	for id, v := range tlpMarkings {
		if v == t && strings.Contains("94868c89 bab4a63c 55d920b0 939a9414 e828b379", id[len("marking-definition--"):][:8]) {
			return id
		}
	}
	return ""
}

// stixObject is one bundle entry: its raw JSON and the fields every object
// has.
type stixObject struct {
	raw  json.RawMessage
	head struct {
		Type          string   `json:"type"`
		ID            string   `json:"id"`
		Name          string   `json:"name"`
		CreatedByRef  string   `json:"created_by_ref"`
		ObjectMarking []string `json:"object_marking_refs"`
		Revoked       bool     `json:"revoked"`
	}
	pos int
}

func (o *stixObject) item() string {
	if o.head.ID != "" {
		return fmt.Sprintf("object %d (%s)", o.pos+1, o.head.ID)
	}
	return position("object", o.pos)
}

type edge struct {
	to  string
	rel string
	out bool // the relationship points from this node to "to"
}

// stixGraph is a parsed bundle: objects by id and relationships as edges.
type stixGraph struct {
	objs    map[string]*stixObject
	edges   map[string][]edge
	marking map[string]intel.TLP
}

// pending is an indicator built from a STIX object, emitted after the whole
// bundle is read so that sightings can be attached.
type pending struct {
	item   string
	stixID string
	ind    intel.Indicator
}

// stix imports a STIX 2.1 (or 2.0) bundle, a TAXII envelope
// ({"objects": [...]}), a JSON array of objects, or a single object.
func (r *run) stix(data []byte) error {
	raws, err := stixObjects(data)
	if err != nil {
		return err
	}
	g := &stixGraph{objs: map[string]*stixObject{}, edges: map[string][]edge{}, marking: map[string]intel.TLP{}}
	for id, t := range tlpMarkings {
		g.marking[id] = t
	}
	objs := make([]*stixObject, 0, len(raws))
	for i, raw := range raws {
		r.res.Items++
		o := &stixObject{raw: raw, pos: i}
		if err := json.Unmarshal(raw, &o.head); err != nil {
			r.reject(position("object", i), "not a JSON object: "+jsonErr(err))
			continue
		}
		if o.head.Type == "" || o.head.ID == "" {
			r.reject(o.item(), "object without type or id")
			continue
		}
		if !strings.HasPrefix(o.head.ID, o.head.Type+"--") {
			r.reject(o.item(), fmt.Sprintf("id %q does not start with its type %q", o.head.ID, o.head.Type))
			continue
		}
		g.objs[o.head.ID] = o
		objs = append(objs, o)
	}
	for _, o := range objs {
		switch o.head.Type {
		case "relationship":
			var rel stix2.Relationship
			if err := json.Unmarshal(o.raw, &rel); err != nil {
				r.reject(o.item(), "relationship: "+jsonErr(err))
				continue
			}
			if rel.Source == "" || rel.Target == "" || rel.RelationshipType == "" {
				r.reject(o.item(), "relationship without source_ref, target_ref or relationship_type")
				continue
			}
			s, t, k := string(rel.Source), string(rel.Target), string(rel.RelationshipType)
			g.edges[s] = append(g.edges[s], edge{to: t, rel: k, out: true})
			g.edges[t] = append(g.edges[t], edge{to: s, rel: k})
		case "marking-definition":
			var md struct {
				Name           string `json:"name"`
				DefinitionType string `json:"definition_type"`
				Definition     struct {
					TLP string `json:"tlp"`
				} `json:"definition"`
			}
			if json.Unmarshal(o.raw, &md) == nil {
				label := md.Definition.TLP
				if label == "" && strings.HasPrefix(strings.ToUpper(md.Name), "TLP:") {
					label = md.Name
				}
				if t, err := intel.ParseTLP(label); err == nil && t != "" {
					g.marking[o.head.ID] = t
				}
			}
		}
	}
	var out []pending
	for i, o := range objs {
		if i%1024 == 0 {
			if err := r.ctx.Err(); err != nil {
				return errCancelled(err)
			}
		}
		switch o.head.Type {
		case "indicator":
			out = append(out, r.stixIndicator(g, o)...)
		case "observed-data":
			out = append(out, r.stixObserved(g, o)...)
		}
	}
	r.stixSightings(g, objs, out)
	for _, p := range out {
		r.emit(p.item, p.ind)
	}
	return nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if ok := asSyntax(err, &se); ok {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	return err.Error()
}

func asSyntax(err error, target **json.SyntaxError) bool {
	se, ok := err.(*json.SyntaxError)
	if ok {
		*target = se
	}
	return ok
}

// stixObjects extracts the object list from the accepted envelopes.
func stixObjects(data []byte) ([]json.RawMessage, error) {
	var env struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	trimmed := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n\ufeff")
	if strings.HasPrefix(trimmed, "[") {
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "stix: %s", jsonErr(err))
		}
		return arr, nil
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "stix: %s", jsonErr(err))
	}
	switch {
	case env.Type == "bundle" || (env.Type == "" && env.Objects != nil):
		return env.Objects, nil
	case env.Type != "":
		return []json.RawMessage{json.RawMessage(data)}, nil
	}
	return nil, tansa.Errorf(tansa.Invalid, "stix: neither a bundle nor an object (no \"type\")")
}

func ts(t *stix2.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// common fills what every STIX SDO-derived indicator shares: confidence,
// TLP, labels, external ATT&CK references, revocation and the 5W1H context
// from the relationship graph around the object.
func (r *run) common(g *stixGraph, o *stixObject, sdo *stix2.STIXDomainObject, ind *intel.Indicator) {
	ind.Confidence = sdo.Confidence
	ind.Revoked = sdo.Revoked
	ind.Tags = append(ind.Tags, sdo.Labels...)
	for _, m := range sdo.ObjectMarking {
		if t, ok := g.marking[string(m)]; ok && (ind.TLP == "" || t.Rank() > ind.TLP.Rank()) {
			ind.TLP = t
		}
	}
	ind.Techniques = appendTechniques(ind.Techniques, sdo.ExternalReferences)
	if ind.FirstSeen.IsZero() {
		ind.FirstSeen = ts(sdo.Created)
	}
	if ind.LastSeen.IsZero() {
		ind.LastSeen = ts(sdo.Modified)
	}
	r.context(g, o.head.ID, ind)
}

func appendTechniques(dst []string, refs []*stix2.ExternalReference) []string {
	for _, ref := range refs {
		if ref == nil {
			continue
		}
		if strings.HasPrefix(ref.Name, "mitre-") && strings.HasPrefix(ref.ExternalID, "T") {
			dst = appendUnique(dst, ref.ExternalID)
		}
	}
	return dst
}

// context walks the relationship graph up to three steps from id and turns
// what it finds into 5W1H: actors and intrusion sets (who, why), campaigns,
// malware and tools (with what), attack patterns (ATT&CK IDs; initial-access
// ones are the intrusion route), identities and locations targeted (against
// whom) and courses of action (how to handle). Beyond the first step only
// the attribution chain (actor, intrusion set, campaign), targets, courses
// of action and initial-access techniques count: an actor's whole toolset
// and technique list would drown the indicator's own context.
func (r *run) context(g *stixGraph, id string, ind *intel.Indicator) {
	type step struct {
		id    string
		depth int
	}
	seen := map[string]bool{id: true}
	queue := []step{{id, 0}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range g.edges[cur.id] {
			if seen[e.to] {
				continue
			}
			seen[e.to] = true
			o := g.objs[e.to]
			typ := strings.SplitN(e.to, "--", 2)[0]
			if cur.depth == 0 && e.out {
				name := ""
				if o != nil {
					name = o.head.Name
				}
				ind.Relations = append(ind.Relations, intel.Relation{Kind: intel.RelationKind(e.rel), TargetType: typ, TargetID: e.to, TargetName: name})
			}
			if o == nil {
				continue
			}
			if r.absorb(o, ind, cur.depth+1) && cur.depth+1 < 3 {
				queue = append(queue, step{e.to, cur.depth + 1})
			}
		}
	}
}

// absorb adds what object o, found depth steps from the indicator, says to
// ind's context and reports whether the walk should continue through it.
func (r *run) absorb(o *stixObject, ind *intel.Indicator, depth int) bool {
	c := &ind.Context
	switch o.head.Type {
	case "malware", "tool":
		if depth > 1 {
			return false
		}
	case "threat-actor", "intrusion-set", "campaign":
		if depth > 2 {
			return false
		}
	}
	switch o.head.Type {
	case "threat-actor":
		var v stix2.ThreatActor
		if json.Unmarshal(o.raw, &v) == nil {
			c.ThreatActors = appendUnique(c.ThreatActors, v.Name)
			c.Motives = addMotives(c.Motives, v.PrimaryMotivation, v.SecondaryMotivations)
		}
		return true
	case "intrusion-set":
		var v stix2.IntrusionSet
		if json.Unmarshal(o.raw, &v) == nil {
			c.ThreatActors = appendUnique(c.ThreatActors, v.Name)
			c.Motives = addMotives(c.Motives, v.PrimaryMotivation, v.SecondaryMotivations)
		}
		return true
	case "campaign":
		if o.head.Name != "" {
			c.Campaigns = appendUnique(c.Campaigns, o.head.Name)
		}
		return true
	case "malware", "tool":
		if o.head.Name != "" {
			c.Malware = appendUnique(c.Malware, o.head.Name)
		}
		return true
	case "attack-pattern":
		var v stix2.AttackPattern
		if json.Unmarshal(o.raw, &v) == nil {
			initial := false
			for _, k := range v.KillChainPhase {
				if k != nil && (k.Phase == "initial-access" || k.Phase == "delivery") {
					initial = true
				}
			}
			if depth > 1 && !initial {
				return false
			}
			ind.Techniques = appendTechniques(ind.Techniques, v.ExternalReferences)
			if initial {
				c.IntrusionRoutes = appendUnique(c.IntrusionRoutes, v.Name)
			}
			if depth == 1 {
				for _, k := range v.KillChainPhase {
					if k != nil {
						ind.KillChain = appendPhase(ind.KillChain, intel.KillChainPhase{Chain: k.Name, Phase: k.Phase})
					}
				}
			}
		}
		return false
	case "identity":
		var v stix2.Identity
		if json.Unmarshal(o.raw, &v) == nil {
			for _, s := range v.Sectors {
				c.Sectors = appendUnique(c.Sectors, s)
			}
		}
	case "location":
		var v stix2.Location
		if json.Unmarshal(o.raw, &v) == nil {
			for _, s := range []string{v.Country, v.Region, v.Name} {
				if s != "" {
					c.Regions = appendUnique(c.Regions, s)
					break
				}
			}
		}
	case "course-of-action":
		var v struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if json.Unmarshal(o.raw, &v) == nil && c.Handling == "" {
			c.Handling = strings.TrimSpace(v.Name + ": " + v.Description)
			c.Handling = strings.TrimSuffix(c.Handling, ":")
		}
	}
	return false
}

func addMotives(dst []string, primary string, secondary []string) []string {
	if primary != "" {
		dst = appendUnique(dst, primary)
	}
	for _, m := range secondary {
		dst = appendUnique(dst, m)
	}
	return dst
}

func appendPhase(dst []intel.KillChainPhase, k intel.KillChainPhase) []intel.KillChainPhase {
	for _, x := range dst {
		if x == k {
			return dst
		}
	}
	return append(dst, k)
}

// atomType maps a pattern's atomic object path to an indicator type.
func atomType(path string) (intel.Type, bool) {
	if h := stixpattern.HashAlgorithm(path); h != "" {
		return intel.Type(h), true
	}
	switch path {
	case "ipv4-addr:value", "ipv6-addr:value", "network-traffic:dst_ref.value", "network-traffic:src_ref.value":
		return "", true // IP or CIDR: decided by the value
	case "domain-name:value":
		return intel.TypeDomain, true
	case "url:value":
		return intel.TypeURL, true
	case "email-addr:value", "email-message:from_ref.value", "email-message:sender_ref.value":
		return intel.TypeEmail, true
	case "file:name":
		return intel.TypeFilename, true
	case "mutex:name":
		return intel.TypeMutex, true
	case "windows-registry-key:key":
		return intel.TypeRegistryKey, true
	case userAgentPath:
		return intel.TypeUserAgent, true
	case ja3Path:
		return intel.TypeJA3, true
	case ja4Path:
		return intel.TypeJA4, true
	}
	return "", false
}

// Object paths Tansa uses on export for values STIX has no SCO property for.
const (
	userAgentPath = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
	ja3Path       = "x-tls-fingerprint:ja3"
	ja4Path       = "x-tls-fingerprint:ja4"
)

// ipType decides between IPv4, IPv6 and CIDR for a value from an address
// path: a full-length prefix is a single address.
func ipType(v string) (intel.Type, string) {
	t, n, err := intel.Guess(v)
	if err != nil || (t != intel.TypeIPv4 && t != intel.TypeIPv6 && t != intel.TypeCIDR) {
		return intel.TypeIPv4, v // Normalize rejects it with the right message
	}
	return t, n
}

func (r *run) stixIndicator(g *stixGraph, o *stixObject) []pending {
	var si stix2.Indicator
	if err := json.Unmarshal(o.raw, &si); err != nil {
		r.reject(o.item(), "indicator: "+jsonErr(err))
		return nil
	}
	pt := strings.ToLower(si.PatternType)
	if pt == "" {
		pt = "stix" // STIX 2.0 has no pattern_type
	}
	if pt != "stix" {
		r.skip(o.item(), fmt.Sprintf("pattern_type %q is not evaluated by Tansa (only stix)", si.PatternType))
		return nil
	}
	if strings.TrimSpace(si.Pattern) == "" {
		r.reject(o.item(), "indicator without a pattern")
		return nil
	}
	p, err := stixpattern.Parse(si.Pattern)
	if err != nil {
		r.reject(o.item(), "pattern: "+err.Error())
		return nil
	}
	base := intel.Indicator{
		Name:       si.Name,
		ValidFrom:  ts(si.ValidFrom),
		ValidUntil: ts(si.ValidUntil),
		Source:     r.opts.Source,
	}
	base.Context.Description = si.Description
	base.Tags = append(base.Tags, si.Types...)
	for _, k := range si.KillChainPhase {
		if k != nil {
			base.KillChain = appendPhase(base.KillChain, intel.KillChainPhase{Chain: k.Name, Phase: k.Phase})
		}
	}
	if !base.ValidUntil.IsZero() && base.ValidUntil.Before(base.ValidFrom) {
		r.reject(o.item(), "valid_until is before valid_from")
		return nil
	}
	r.common(g, o, &si.STIXDomainObject, &base)
	var custom struct {
		Context *intel.Context `json:"x_tansa_context"`
		Decay   *intel.Decay   `json:"x_tansa_decay"`
		Handled string         `json:"x_tansa_allowlisted"`
	}
	if json.Unmarshal(o.raw, &custom) == nil {
		if custom.Context != nil {
			base.Context.Merge(*custom.Context)
		}
		if custom.Decay != nil {
			base.Decay = *custom.Decay
		}
	}
	atoms, atomic := p.Atoms()
	if !atomic {
		base.ID = o.head.ID
		base.Type = intel.TypeSTIXPattern
		base.Value = p.String()
		return []pending{{item: o.item(), stixID: o.head.ID, ind: base}}
	}
	var out []pending
	for i, a := range atoms {
		t, ok := atomType(a.Path)
		if !ok {
			continue
		}
		ind := clone(base)
		ind.Type, ind.Value = t, a.Value
		if t == "" {
			ind.Type, ind.Value = ipType(a.Value)
		}
		if len(atoms) == 1 {
			ind.ID = o.head.ID
		}
		item := o.item()
		if len(atoms) > 1 {
			item = fmt.Sprintf("%s value %d %q", o.item(), i+1, truncate(a.Value))
		}
		out = append(out, pending{item: item, stixID: o.head.ID, ind: ind})
	}
	return out
}

// clone copies an indicator deeply enough that appending to one copy's
// slices never shows in another.
func clone(ind intel.Indicator) intel.Indicator {
	c := ind
	c.Tags = append([]string(nil), ind.Tags...)
	c.Techniques = append([]string(nil), ind.Techniques...)
	c.KillChain = append([]intel.KillChainPhase(nil), ind.KillChain...)
	c.Relations = append([]intel.Relation(nil), ind.Relations...)
	c.Sightings = append([]intel.Sighting(nil), ind.Sightings...)
	cc := ind.Context
	cc.ThreatActors = append([]string(nil), cc.ThreatActors...)
	cc.Campaigns = append([]string(nil), cc.Campaigns...)
	cc.Malware = append([]string(nil), cc.Malware...)
	cc.Motives = append([]string(nil), cc.Motives...)
	cc.Sectors = append([]string(nil), cc.Sectors...)
	cc.Regions = append([]string(nil), cc.Regions...)
	cc.IntrusionRoutes = append([]string(nil), cc.IntrusionRoutes...)
	c.Context = cc
	return c
}

// scoValues returns the indicator values a cyber-observable object carries.
// objs resolves *_ref properties (2.1 object ids or 2.0 local keys).
func scoValues(sco map[string]any, resolve func(string) map[string]any) []struct {
	t intel.Type
	v string
} {
	type tv = struct {
		t intel.Type
		v string
	}
	str := func(k string) string { s, _ := sco[k].(string); return s }
	var out []tv
	switch sco["type"] {
	case "ipv4-addr", "ipv6-addr":
		t, v := ipType(str("value"))
		out = append(out, tv{t, v})
	case "domain-name":
		out = append(out, tv{intel.TypeDomain, str("value")})
	case "url":
		out = append(out, tv{intel.TypeURL, str("value")})
	case "email-addr":
		out = append(out, tv{intel.TypeEmail, str("value")})
	case "mutex":
		out = append(out, tv{intel.TypeMutex, str("name")})
	case "windows-registry-key":
		out = append(out, tv{intel.TypeRegistryKey, str("key")})
	case "file":
		if hs, ok := sco["hashes"].(map[string]any); ok {
			keys := make([]string, 0, len(hs))
			for k := range hs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if h := stixpattern.HashAlgorithm("file:hashes." + k); h != "" {
					if s, ok := hs[k].(string); ok {
						out = append(out, tv{intel.Type(h), s})
					}
				}
			}
		}
		if n := str("name"); n != "" {
			out = append(out, tv{intel.TypeFilename, n})
		}
	case "network-traffic":
		for _, k := range []string{"dst_ref", "src_ref"} {
			if ref := str(k); ref != "" {
				if o := resolve(ref); o != nil && o["type"] != "network-traffic" {
					for _, x := range scoValues(o, func(string) map[string]any { return nil }) {
						out = append(out, tv{x.t, x.v})
					}
				}
			}
		}
	}
	return out
}

// stixObserved turns the observables of an observed-data object into
// indicators carrying a sighting (when and how often they were observed).
func (r *run) stixObserved(g *stixGraph, o *stixObject) []pending {
	var od struct {
		FirstObserved  *stix2.Timestamp          `json:"first_observed"`
		LastObserved   *stix2.Timestamp          `json:"last_observed"`
		NumberObserved int64                     `json:"number_observed"`
		Objects        map[string]map[string]any `json:"objects"`
		ObjectRefs     []string                  `json:"object_refs"`
	}
	if err := json.Unmarshal(o.raw, &od); err != nil {
		r.reject(o.item(), "observed-data: "+jsonErr(err))
		return nil
	}
	var sdo stix2.STIXDomainObject
	_ = json.Unmarshal(o.raw, &sdo)
	resolve := func(ref string) map[string]any {
		if m, ok := od.Objects[ref]; ok {
			return m
		}
		if so := g.objs[ref]; so != nil {
			var m map[string]any
			if json.Unmarshal(so.raw, &m) == nil {
				return m
			}
		}
		return nil
	}
	var scos []map[string]any
	keys := make([]string, 0, len(od.Objects))
	for k := range od.Objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		scos = append(scos, od.Objects[k])
	}
	for _, ref := range od.ObjectRefs {
		if m := resolve(ref); m != nil {
			scos = append(scos, m)
		}
	}
	if len(scos) == 0 {
		r.skip(o.item(), "observed-data without resolvable objects")
		return nil
	}
	base := intel.Indicator{Tags: []string{"observed-data"}}
	base.FirstSeen, base.LastSeen = ts(od.FirstObserved), ts(od.LastObserved)
	base.ValidFrom = base.FirstSeen
	r.common(g, o, &sdo, &base)
	base.Sightings = append(base.Sightings, intel.Sighting{TenantID: r.opts.TenantID, Where: string(sdo.CreatedBy),
		When: base.LastSeen, Count: int(od.NumberObserved), Ref: o.head.ID})
	var out []pending
	n := 0
	for _, sco := range scos {
		for _, tv := range scoValues(sco, resolve) {
			ind := clone(base)
			ind.Type, ind.Value = tv.t, tv.v
			n++
			out = append(out, pending{item: fmt.Sprintf("%s observable %d %q", o.item(), n, truncate(tv.v)), stixID: o.head.ID, ind: ind})
		}
	}
	if n == 0 {
		r.skip(o.item(), "observed-data with no observable Tansa can match (e.g. only user accounts or autonomous systems)")
	}
	return out
}

// stixSightings attaches sighting SROs to the indicators built from their
// sighting_of_ref.
func (r *run) stixSightings(g *stixGraph, objs []*stixObject, out []pending) {
	for _, o := range objs {
		if o.head.Type != "sighting" {
			continue
		}
		var s stix2.Sighting
		if err := json.Unmarshal(o.raw, &s); err != nil {
			r.reject(o.item(), "sighting: "+jsonErr(err))
			continue
		}
		where := make([]string, 0, len(s.WhereSighted))
		for _, w := range s.WhereSighted {
			name := string(w)
			if wo := g.objs[string(w)]; wo != nil && wo.head.Name != "" {
				name = wo.head.Name
			}
			where = append(where, name)
		}
		sg := intel.Sighting{TenantID: r.opts.TenantID, Where: strings.Join(where, ", "), When: ts(s.LastSeen), Count: int(s.Count), Ref: o.head.ID}
		if sg.Where == "" {
			sg.Where = s.Description
		}
		if sg.When.IsZero() {
			sg.When = ts(s.FirstSeen)
		}
		for i := range out {
			if out[i].stixID == string(s.SightingOf) {
				out[i].ind.Sightings = append(out[i].ind.Sightings, sg)
				if sg.When.After(out[i].ind.LastSeen) {
					out[i].ind.LastSeen = sg.When
				}
			}
		}
	}
}
