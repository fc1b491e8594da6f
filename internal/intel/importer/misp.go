package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// MISP JSON shapes, reduced to what Tansa reads. MISP writes numbers and
// booleans inconsistently as strings; flexString and flexBool absorb that.
type mispEvent struct {
	UUID          string          `json:"uuid"`
	Info          string          `json:"info"`
	Date          string          `json:"date"`
	Timestamp     flexString      `json:"timestamp"`
	ThreatLevelID flexString      `json:"threat_level_id"`
	Orgc          mispOrg         `json:"Orgc"`
	Attribute     []mispAttribute `json:"Attribute"`
	Object        []mispObject    `json:"Object"`
	Tag           []mispTag       `json:"Tag"`
	Galaxy        []mispGalaxy    `json:"Galaxy"`
}

type mispOrg struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

type mispAttribute struct {
	UUID           string         `json:"uuid"`
	Type           string         `json:"type"`
	Category       string         `json:"category"`
	Value          string         `json:"value"`
	ToIDS          *flexBool      `json:"to_ids"`
	Comment        string         `json:"comment"`
	Timestamp      flexString     `json:"timestamp"`
	FirstSeen      string         `json:"first_seen"`
	LastSeen       string         `json:"last_seen"`
	ObjectRelation string         `json:"object_relation"`
	Deleted        *flexBool      `json:"deleted"`
	Tag            []mispTag      `json:"Tag"`
	Galaxy         []mispGalaxy   `json:"Galaxy"`
	Sighting       []mispSighting `json:"Sighting"`
}

type mispObject struct {
	UUID      string          `json:"uuid"`
	Name      string          `json:"name"`
	Comment   string          `json:"comment"`
	Attribute []mispAttribute `json:"Attribute"`
}

type mispTag struct {
	Name string `json:"name"`
}

type mispGalaxy struct {
	Type          string `json:"type"`
	Name          string `json:"name"`
	GalaxyCluster []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"GalaxyCluster"`
}

type mispSighting struct {
	DateSighting flexString `json:"date_sighting"`
	Source       string     `json:"source"`
	Type         flexString `json:"type"`
	Organisation mispOrg    `json:"Organisation"`
}

// flexString accepts a JSON string or number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	*f = flexString(b)
	return nil
}

// flexBool accepts true/false, 0/1 and their string forms.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}

func unixTime(s flexString) time.Time {
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n <= 0 {
		return parseTime(string(s))
	}
	return time.Unix(n, 0).UTC()
}

// misp imports one MISP document: {"Event": …}, a REST search response
// ({"response": [{"Event": …}, …]} or {"response": {"Attribute": […]}}),
// {"response": [{"Object": …}]}, a bare attribute list, or a list of events.
func (r *run) misp(data []byte) error {
	var top any
	if err := json.Unmarshal(data, &top); err != nil {
		return tansa.Errorf(tansa.Invalid, "misp: %s", jsonErr(err))
	}
	if m, ok := top.(map[string]any); ok {
		if resp, ok := m["response"]; ok {
			top = resp
		}
	}
	var walk func(v any, where string) error
	walk = func(v any, where string) error {
		switch x := v.(type) {
		case []any:
			for i, e := range x {
				if err := walk(e, fmt.Sprintf("%s[%d]", where, i)); err != nil {
					return err
				}
			}
			return nil
		case map[string]any:
			switch {
			case x["Event"] != nil:
				return r.mispEventJSON(x["Event"], where+".Event")
			case x["Attribute"] != nil && x["info"] == nil && x["name"] == nil:
				b, _ := json.Marshal(x["Attribute"])
				var attrs []json.RawMessage
				if err := json.Unmarshal(b, &attrs); err != nil {
					r.reject(where+".Attribute", "Attribute is not a list")
					return nil
				}
				r.mispAttributes(attrs, where+".Attribute", &mispEvent{}, "")
				return nil
			case x["Object"] != nil:
				b, _ := json.Marshal(x["Object"])
				r.mispObjectJSON(b, where+".Object", &mispEvent{})
				return nil
			case x["info"] != nil && (x["Attribute"] != nil || x["Object"] != nil):
				return r.mispEventJSON(x, where)
			case x["type"] != nil && x["value"] != nil:
				b, _ := json.Marshal(x)
				r.mispAttributes([]json.RawMessage{b}, where, &mispEvent{}, "")
				return nil
			}
		}
		r.res.Items++
		r.reject(where, "neither a MISP event, object nor attribute")
		return nil
	}
	return walk(top, "$")
}

func (r *run) mispEventJSON(v any, where string) error {
	if err := r.ctx.Err(); err != nil {
		return errCancelled(err)
	}
	b, _ := json.Marshal(v)
	// Attributes and objects are decoded one by one so that one broken
	// attribute does not lose the event.
	var shell struct {
		mispEvent
		Attribute []json.RawMessage `json:"Attribute"`
		Object    []json.RawMessage `json:"Object"`
	}
	if err := json.Unmarshal(b, &shell); err != nil {
		r.res.Items++
		r.reject(where, "event: "+jsonErr(err))
		return nil
	}
	ev := &shell.mispEvent
	r.mispAttributes(shell.Attribute, where+".Attribute", ev, "")
	for i, ob := range shell.Object {
		r.mispObjectJSON(ob, fmt.Sprintf("%s.Object[%d]", where, i), ev)
	}
	return nil
}

func (r *run) mispObjectJSON(b []byte, where string, ev *mispEvent) {
	var ob struct {
		mispObject
		Attribute []json.RawMessage `json:"Attribute"`
	}
	if err := json.Unmarshal(b, &ob); err != nil {
		r.res.Items++
		r.reject(where, "object: "+jsonErr(err))
		return
	}
	r.mispAttributes(ob.Attribute, where+".Attribute", ev, ob.Name)
}

func (r *run) mispAttributes(raws []json.RawMessage, where string, ev *mispEvent, objectName string) {
	for i, raw := range raws {
		r.res.Items++
		item := fmt.Sprintf("%s[%d]", where, i)
		var a mispAttribute
		if err := json.Unmarshal(raw, &a); err != nil {
			r.reject(item, "attribute: "+jsonErr(err))
			continue
		}
		item = fmt.Sprintf("%s (%s %q)", item, a.Type, truncate(a.Value))
		r.mispAttribute(item, a, ev, objectName)
	}
}

// mispTypes maps MISP attribute types to indicator types. Composite types
// ("domain|ip", "filename|md5") are split by mispValues.
var mispTypes = map[string]intel.Type{
	"ip-src": "", "ip-dst": "", "ip": "", // IPv4, IPv6 or CIDR by value
	"domain": intel.TypeDomain, "hostname": intel.TypeDomain,
	"url": intel.TypeURL, "uri": intel.TypeURL,
	"md5": intel.TypeMD5, "sha1": intel.TypeSHA1, "sha256": intel.TypeSHA256,
	"email": intel.TypeEmail, "email-src": intel.TypeEmail, "email-dst": intel.TypeEmail,
	"email-reply-to": intel.TypeEmail, "whois-registrant-email": intel.TypeEmail,
	"filename": intel.TypeFilename, "mutex": intel.TypeMutex, "regkey": intel.TypeRegistryKey,
	"user-agent": intel.TypeUserAgent, "ja3-fingerprint-md5": intel.TypeJA3, "ja4": intel.TypeJA4,
	"stix2-pattern": intel.TypeSTIXPattern,
}

func mispValues(typ, value string) ([]intel.Type, []string, bool) {
	if l, rt, ok := strings.Cut(typ, "|"); ok {
		lv, rv, ok2 := strings.Cut(value, "|")
		if !ok2 {
			return nil, nil, false
		}
		var ts []intel.Type
		var vs []string
		if t, known := mispTypes[l]; known {
			ts, vs = append(ts, t), append(vs, lv)
		}
		if t, known := mispTypes[rt]; known {
			ts, vs = append(ts, t), append(vs, rv)
		}
		return ts, vs, len(ts) > 0
	}
	t, ok := mispTypes[typ]
	return []intel.Type{t}, []string{value}, ok
}

var attackID = regexp.MustCompile(`\bT[0-9]{4}(?:\.[0-9]{3})?\b`)

// applyTags turns MISP tags and galaxies into TLP, context and ATT&CK IDs;
// other tags are kept as tags.
func applyTags(ind *intel.Indicator, tags []mispTag, galaxies []mispGalaxy) {
	for _, t := range tags {
		n := t.Name
		low := strings.ToLower(n)
		switch {
		case strings.HasPrefix(low, "tlp:"):
			if tl, err := intel.ParseTLP(n); err == nil {
				ind.TLP = tl
			}
			continue
		case strings.HasPrefix(low, "tansa:"):
			if applyTansaTag(ind, n) {
				continue
			}
		case strings.HasPrefix(low, "misp-galaxy:"):
			kind, val, _ := strings.Cut(strings.TrimPrefix(n, "misp-galaxy:"), "=")
			val = strings.Trim(val, `"`)
			applyCluster(ind, kind, val)
			continue
		}
		ind.Tags = appendUnique(ind.Tags, n)
	}
	for _, g := range galaxies {
		for _, c := range g.GalaxyCluster {
			kind := c.Type
			if kind == "" {
				kind = g.Type
			}
			applyCluster(ind, kind, c.Value)
		}
	}
}

// applyTansaTag reads back the tansa: tags ExportMISP writes for what MISP
// has no field for.
func applyTansaTag(ind *intel.Indicator, tag string) bool {
	k, v, ok := strings.Cut(strings.TrimPrefix(tag, "tansa:"), "=")
	if !ok {
		return false
	}
	v = strings.Trim(v, `"`)
	switch k {
	case "confidence":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return false
		}
		ind.Confidence = n
	case "valid-until":
		t := parseTime(v)
		if t.IsZero() {
			return false
		}
		ind.ValidUntil = t
	case "motive":
		ind.Context.Motives = appendUnique(ind.Context.Motives, v)
	case "intrusion-route":
		ind.Context.IntrusionRoutes = appendUnique(ind.Context.IntrusionRoutes, v)
	case "handling":
		ind.Context.Handling = v
	default:
		return false
	}
	return true
}

func applyCluster(ind *intel.Indicator, kind, val string) {
	if val == "" {
		return
	}
	c := &ind.Context
	switch {
	case strings.Contains(kind, "attack-pattern") || strings.HasPrefix(kind, "mitre-"):
		if id := attackID.FindString(val); id != "" {
			ind.Techniques = appendUnique(ind.Techniques, id)
		}
		if strings.Contains(kind, "intrusion-set") {
			c.ThreatActors = appendUnique(c.ThreatActors, strings.TrimSpace(strings.Split(val, " - ")[0]))
		} else if strings.Contains(kind, "malware") || strings.Contains(kind, "tool") {
			c.Malware = appendUnique(c.Malware, strings.TrimSpace(strings.Split(val, " - ")[0]))
		}
	case strings.Contains(kind, "threat-actor") || strings.Contains(kind, "intrusion-set"):
		c.ThreatActors = appendUnique(c.ThreatActors, val)
	case strings.Contains(kind, "campaign"):
		c.Campaigns = appendUnique(c.Campaigns, val)
	case strings.Contains(kind, "malpedia") || strings.Contains(kind, "ransomware") || strings.Contains(kind, "tool") ||
		strings.Contains(kind, "rat") || strings.Contains(kind, "malware") || strings.Contains(kind, "botnet"):
		c.Malware = appendUnique(c.Malware, val)
	case strings.Contains(kind, "sector"):
		c.Sectors = appendUnique(c.Sectors, val)
	case strings.Contains(kind, "region") || strings.Contains(kind, "country"):
		c.Regions = appendUnique(c.Regions, val)
	default:
		ind.Tags = appendUnique(ind.Tags, "misp-galaxy:"+kind+"="+val)
	}
}

// threatLevelConfidence maps MISP's threat level (1 high … 4 undefined) to
// a confidence when the attribute has none of its own.
func threatLevelConfidence(s flexString) int {
	switch s {
	case "1":
		return 85
	case "2":
		return 65
	case "3":
		return 45
	}
	return 0
}

func (r *run) mispAttribute(item string, a mispAttribute, ev *mispEvent, objectName string) {
	if a.Deleted != nil && bool(*a.Deleted) {
		r.skip(item, "attribute is deleted")
		return
	}
	if a.ToIDS != nil && !bool(*a.ToIDS) {
		r.skip(item, "attribute is not marked for detection (to_ids is false)")
		return
	}
	if strings.TrimSpace(a.Value) == "" {
		r.reject(item, "attribute without a value")
		return
	}
	types, values, ok := mispValues(a.Type, a.Value)
	if !ok {
		r.skip(item, fmt.Sprintf("attribute type %q carries no indicator Tansa can match", a.Type))
		return
	}
	base := intel.Indicator{ID: "", Source: r.opts.Source}
	if base.Source == "" && ev.Orgc.Name != "" {
		base.Source = "misp:" + ev.Orgc.Name
	}
	base.Confidence = threatLevelConfidence(ev.ThreatLevelID)
	base.Context.Description = strings.TrimSpace(a.Comment)
	if ev.UUID != "" || ev.Info != "" {
		// The event is the report the attribute came from.
		base.Relations = append(base.Relations, intel.Relation{Kind: "reported-in", TargetType: "misp-event", TargetID: ev.UUID, TargetName: ev.Info})
	}
	if objectName != "" {
		base.Tags = append(base.Tags, "misp-object:"+objectName)
	}
	applyTags(&base, ev.Tag, ev.Galaxy)
	applyTags(&base, a.Tag, a.Galaxy)
	base.FirstSeen = parseTime(a.FirstSeen)
	base.LastSeen = parseTime(a.LastSeen)
	if base.FirstSeen.IsZero() {
		base.FirstSeen = unixTime(a.Timestamp)
	}
	if base.LastSeen.IsZero() {
		base.LastSeen = base.FirstSeen
	}
	base.ValidFrom = base.FirstSeen
	if base.ValidFrom.IsZero() {
		base.ValidFrom = parseTime(ev.Date)
	}
	for _, s := range a.Sighting {
		where := s.Source
		if where == "" {
			where = s.Organisation.Name
		}
		if s.Type != "" && s.Type != "0" {
			continue // 1 = false positive, 2 = expiration: not sightings of activity
		}
		base.Sightings = append(base.Sightings, intel.Sighting{TenantID: r.opts.TenantID, Where: where, When: unixTime(s.DateSighting)})
	}
	for i, t := range types {
		ind := clone(base)
		v := strings.TrimSpace(values[i])
		if t == "" {
			t, v = ipType(v)
		}
		if a.UUID != "" && len(types) == 1 {
			ind.ID = "indicator--" + a.UUID
		}
		ind.Type, ind.Value = t, v
		if t == intel.TypeSTIXPattern {
			n, err := intel.Normalize(t, v)
			if err != nil {
				r.reject(item, tansa.MessageOf(err))
				continue
			}
			ind.Value = n
		}
		r.emit(item, ind)
	}
}

// ImportMISPFeed imports a MISP feed directory: manifest.json listing event
// UUIDs, and one <uuid>.json file per event. Events named in the manifest
// but missing, or unreadable, are rejected items; the rest proceed. It
// fails as a whole only when the manifest is missing or not JSON.
func ImportMISPFeed(ctx context.Context, fsys fs.FS, opts Options, sink Sink) (*Result, error) {
	mb, err := fs.ReadFile(fsys, "manifest.json")
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "misp feed: read manifest.json: %w", err)
	}
	var manifest map[string]struct {
		Info      string     `json:"info"`
		Timestamp flexString `json:"timestamp"`
	}
	if err := json.Unmarshal(mb, &manifest); err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "misp feed: manifest.json: %s", jsonErr(err))
	}
	r := newRun(ctx, opts, sink, FormatMISP)
	uuids := make([]string, 0, len(manifest))
	for u := range manifest {
		uuids = append(uuids, u)
	}
	slices.Sort(uuids)
	for _, u := range uuids {
		if err := ctx.Err(); err != nil {
			return r.res, errCancelled(err)
		}
		if !uuidRE.MatchString(u) {
			r.res.Items++
			r.reject("manifest entry "+u, "event key is not a UUID")
			continue
		}
		b, err := fs.ReadFile(fsys, path.Clean(u+".json"))
		if err != nil {
			r.res.Items++
			r.reject("event "+u, "event file: "+err.Error())
			continue
		}
		if err := r.misp(b); err != nil {
			r.res.Items++
			r.reject("event "+u, tansa.MessageOf(err))
		}
	}
	return r.res, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
