package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/TcM1911/stix2"
	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func quoteSTIX(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Pattern returns the STIX 2.1 pattern equivalent to an atomic indicator;
// for TypeSTIXPattern it returns the value itself. CIDRs use the address
// path with a prefix value, as STIX allows.
func Pattern(ind *intel.Indicator) (string, error) {
	v := quoteSTIX(ind.Value)
	switch ind.Type {
	case intel.TypeIPv4:
		return "[ipv4-addr:value = " + v + "]", nil
	case intel.TypeIPv6:
		return "[ipv6-addr:value = " + v + "]", nil
	case intel.TypeCIDR:
		if strings.Contains(ind.Value, ":") {
			return "[ipv6-addr:value = " + v + "]", nil
		}
		return "[ipv4-addr:value = " + v + "]", nil
	case intel.TypeDomain:
		return "[domain-name:value = " + v + "]", nil
	case intel.TypeURL:
		return "[url:value = " + v + "]", nil
	case intel.TypeMD5:
		return "[file:hashes.MD5 = " + v + "]", nil
	case intel.TypeSHA1:
		return "[file:hashes.'SHA-1' = " + v + "]", nil
	case intel.TypeSHA256:
		return "[file:hashes.'SHA-256' = " + v + "]", nil
	case intel.TypeEmail:
		return "[email-addr:value = " + v + "]", nil
	case intel.TypeFilename:
		return "[file:name = " + v + "]", nil
	case intel.TypeMutex:
		return "[mutex:name = " + v + "]", nil
	case intel.TypeRegistryKey:
		return "[windows-registry-key:key = " + v + "]", nil
	case intel.TypeUserAgent:
		return "[" + userAgentPath + " = " + v + "]", nil
	case intel.TypeJA3:
		return "[" + ja3Path + " = " + v + "]", nil
	case intel.TypeJA4:
		return "[" + ja4Path + " = " + v + "]", nil
	case intel.TypeSTIXPattern:
		return ind.Value, nil
	}
	return "", tansa.Errorf(tansa.Invalid, "no STIX pattern for indicator type %q", ind.Type)
}

// sdoID derives a stable STIX id for a context object from its type and
// name, so that the same actor exported twice is one object.
func sdoID(typ, name string) stix2.Identifier {
	return stix2.Identifier(typ + "--" + uuid.NewSHA1(tansaNamespace, []byte(typ+"\x00"+name)).String())
}

func stixTS(t time.Time) *stix2.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &stix2.Timestamp{Time: t.UTC()}
}

// ExportSTIX writes the indicators as one STIX 2.1 bundle: an indicator
// object per indicator (TLP 2.0 marking, confidence, validity, kill-chain
// phases, labels from tags, ATT&CK IDs as external references, the full
// 5W1H context in the custom property x_tansa_context), threat-actor,
// campaign, malware and attack-pattern objects with "indicates"
// relationships, and sighting objects. Objects are written in a stable
// order; now stamps created/modified where an indicator has no times.
func ExportSTIX(w io.Writer, inds []intel.Indicator, now time.Time) error {
	var objs []any
	sdos := map[stix2.Identifier]bool{}
	addRel := func(src, dst stix2.Identifier, typ string) error {
		rid := stix2.Identifier("relationship--" + uuid.NewSHA1(tansaNamespace, []byte(string(src)+typ+string(dst))).String())
		if sdos[rid] {
			return nil
		}
		sdos[rid] = true
		rel, err := stix2.NewRelationship(stix2.RelationshipType(typ), src, dst, stix2.OptionCreated(stixTS(now)), stix2.OptionModified(stixTS(now)))
		if err != nil {
			return fmt.Errorf("export relationship %s %s %s: %w", src, typ, dst, err)
		}
		rel.ID = rid
		objs = append(objs, rel)
		return nil
	}
	addSDO := func(typ, name string) (stix2.Identifier, error) {
		id := sdoID(typ, name)
		if sdos[id] {
			return id, nil
		}
		sdos[id] = true
		m := map[string]any{"type": typ, "spec_version": "2.1", "id": id, "created": stixTS(now), "modified": stixTS(now), "name": name}
		switch typ {
		case "malware":
			m["is_family"] = true
		case "attack-pattern":
			m["external_references"] = []map[string]string{{"source_name": "mitre-attack", "external_id": name}}
		}
		objs = append(objs, m)
		return id, nil
	}
	for i := range inds {
		ind := &inds[i]
		pattern, err := Pattern(ind)
		if err != nil {
			return err
		}
		validFrom := ind.ValidFrom
		if validFrom.IsZero() {
			validFrom = now
		}
		opts := []stix2.STIXOption{
			stix2.OptionCreated(stixTS(firstNonZero(ind.FirstSeen, now))),
			stix2.OptionModified(stixTS(firstNonZero(ind.LastSeen, ind.FirstSeen, now))),
		}
		if ind.Name != "" {
			opts = append(opts, stix2.OptionName(ind.Name))
		}
		if ind.Context.Description != "" {
			opts = append(opts, stix2.OptionDescription(ind.Context.Description))
		}
		if ind.Confidence > 0 {
			opts = append(opts, stix2.OptionConfidence(ind.Confidence))
		}
		if len(ind.Tags) > 0 {
			opts = append(opts, stix2.OptionLabels(ind.Tags))
		}
		if !ind.ValidUntil.IsZero() {
			opts = append(opts, stix2.OptionValidUntil(stixTS(ind.ValidUntil)))
		}
		if ind.Revoked {
			opts = append(opts, stix2.OptionRevoked(true))
		}
		if m := tlp2Marking(ind.TLP); m != "" {
			opts = append(opts, stix2.OptionObjectMarking([]stix2.Identifier{stix2.Identifier(m)}))
		}
		var kc []*stix2.KillChainPhase
		for _, k := range ind.KillChain {
			kc = append(kc, &stix2.KillChainPhase{Name: k.Chain, Phase: k.Phase})
		}
		if len(kc) > 0 {
			opts = append(opts, stix2.OptionKillChainPhase(kc))
		}
		var refs []*stix2.ExternalReference
		for _, t := range ind.Techniques {
			refs = append(refs, &stix2.ExternalReference{Name: "mitre-attack", ExternalID: t, URL: "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t, ".", "/")})
		}
		if len(refs) > 0 {
			opts = append(opts, stix2.OptionExternalReferences(refs))
		}
		si, err := stix2.NewIndicator(pattern, "stix", stixTS(validFrom), opts...)
		if err != nil {
			return fmt.Errorf("export indicator %s %q: %w", ind.Type, ind.Value, err)
		}
		si.ID = stix2.Identifier(ind.ID)
		if !strings.HasPrefix(ind.ID, "indicator--") || uuid.Validate(strings.TrimPrefix(ind.ID, "indicator--")) != nil {
			si.ID = stix2.Identifier(DeterministicID(ind.TenantID, ind.Type, ind.Value))
		}
		b, err := json.Marshal(si)
		if err != nil {
			return fmt.Errorf("export indicator %s: %w", si.ID, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("export indicator %s: %w", si.ID, err)
		}
		if !ind.Context.IsZero() {
			m["x_tansa_context"] = ind.Context
		}
		if ind.Decay.Model != intel.DecayNone {
			m["x_tansa_decay"] = ind.Decay
		}
		objs = append(objs, m)
		for _, link := range []struct {
			typ   string
			names []string
		}{{"threat-actor", ind.Context.ThreatActors}, {"campaign", ind.Context.Campaigns}, {"malware", ind.Context.Malware}, {"attack-pattern", ind.Techniques}} {
			for _, n := range link.names {
				id, err := addSDO(link.typ, n)
				if err != nil {
					return err
				}
				if err := addRel(si.ID, id, "indicates"); err != nil {
					return err
				}
			}
		}
		for j, s := range ind.Sightings {
			sid := "sighting--" + uuid.NewSHA1(tansaNamespace, []byte(fmt.Sprintf("%s/%d/%s", si.ID, j, s.Ref))).String()
			sm := map[string]any{"type": "sighting", "spec_version": "2.1", "id": sid, "created": stixTS(now), "modified": stixTS(now),
				"sighting_of_ref": si.ID, "description": s.Where}
			if !s.When.IsZero() {
				sm["last_seen"] = stixTS(s.When)
			}
			if s.Count > 0 {
				sm["count"] = s.Count
			}
			objs = append(objs, sm)
		}
	}
	bundle := map[string]any{"type": "bundle", "id": "bundle--" + uuid.NewString(), "objects": objs}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bundle); err != nil {
		return fmt.Errorf("export stix bundle: %w", err)
	}
	return nil
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// mispExportTypes maps indicator types to MISP attribute types.
var mispExportTypes = map[intel.Type]string{
	intel.TypeIPv4: "ip-dst", intel.TypeIPv6: "ip-dst", intel.TypeCIDR: "ip-dst",
	intel.TypeDomain: "domain", intel.TypeURL: "url", intel.TypeMD5: "md5", intel.TypeSHA1: "sha1",
	intel.TypeSHA256: "sha256", intel.TypeEmail: "email-src", intel.TypeFilename: "filename",
	intel.TypeMutex: "mutex", intel.TypeRegistryKey: "regkey", intel.TypeUserAgent: "user-agent",
	intel.TypeJA3: "ja3-fingerprint-md5", intel.TypeJA4: "ja4", intel.TypeSTIXPattern: "stix2-pattern",
}

var mispCategories = map[string]string{
	"ip-dst": "Network activity", "domain": "Network activity", "url": "Network activity",
	"user-agent": "Network activity", "ja3-fingerprint-md5": "Network activity", "ja4": "Network activity",
	"email-src": "Payload delivery", "md5": "Payload delivery", "sha1": "Payload delivery", "sha256": "Payload delivery",
	"filename": "Payload delivery", "mutex": "Artifacts dropped", "regkey": "Persistence mechanism",
	"stix2-pattern": "Network activity",
}

// ExportMISP writes the indicators as one MISP event ({"Event": …}) named
// info: one attribute per indicator with to_ids set, its TLP, context and
// ATT&CK IDs as tags and galaxies' tag form, confidence as a tansa:
// tag, first/last seen and sightings.
func ExportMISP(w io.Writer, inds []intel.Indicator, info string, now time.Time) error {
	type tag struct {
		Name string `json:"name"`
	}
	type sighting struct {
		DateSighting string `json:"date_sighting"`
		Source       string `json:"source,omitempty"`
		Type         string `json:"type"`
	}
	type attribute struct {
		UUID      string     `json:"uuid"`
		Type      string     `json:"type"`
		Category  string     `json:"category"`
		Value     string     `json:"value"`
		ToIDS     bool       `json:"to_ids"`
		Comment   string     `json:"comment,omitempty"`
		Timestamp string     `json:"timestamp"`
		FirstSeen string     `json:"first_seen,omitempty"`
		LastSeen  string     `json:"last_seen,omitempty"`
		Tag       []tag      `json:"Tag,omitempty"`
		Sighting  []sighting `json:"Sighting,omitempty"`
	}
	attrs := make([]attribute, 0, len(inds))
	for i := range inds {
		ind := &inds[i]
		typ, ok := mispExportTypes[ind.Type]
		if !ok {
			return tansa.Errorf(tansa.Invalid, "no MISP attribute type for indicator type %q", ind.Type)
		}
		id := strings.TrimPrefix(ind.ID, "indicator--")
		if uuid.Validate(id) != nil {
			id = strings.TrimPrefix(DeterministicID(ind.TenantID, ind.Type, ind.Value), "indicator--")
		}
		a := attribute{UUID: id, Type: typ, Category: mispCategories[typ], Value: ind.Value, ToIDS: true,
			Comment: ind.Context.Description, Timestamp: strconv.FormatInt(firstNonZero(ind.LastSeen, now).Unix(), 10)}
		if !ind.FirstSeen.IsZero() {
			a.FirstSeen = ind.FirstSeen.UTC().Format(time.RFC3339Nano)
		}
		if !ind.LastSeen.IsZero() {
			a.LastSeen = ind.LastSeen.UTC().Format(time.RFC3339Nano)
		}
		add := func(s string) { a.Tag = append(a.Tag, tag{s}) }
		if ind.TLP != "" {
			add("tlp:" + string(ind.TLP))
		}
		if ind.Confidence > 0 {
			add(fmt.Sprintf("tansa:confidence=\"%d\"", ind.Confidence))
		}
		if !ind.ValidUntil.IsZero() {
			add("tansa:valid-until=\"" + ind.ValidUntil.UTC().Format(time.RFC3339) + "\"")
		}
		for _, t := range ind.Tags {
			add(t)
		}
		c := ind.Context
		for _, g := range []struct {
			kind  string
			names []string
		}{{"threat-actor", c.ThreatActors}, {"campaign", c.Campaigns}, {"malpedia", c.Malware}, {"sector", c.Sectors},
			{"region", c.Regions}, {"mitre-attack-pattern", ind.Techniques}} {
			for _, n := range g.names {
				add("misp-galaxy:" + g.kind + "=\"" + n + "\"")
			}
		}
		for _, m := range c.Motives {
			add("tansa:motive=\"" + m + "\"")
		}
		for _, r := range c.IntrusionRoutes {
			add("tansa:intrusion-route=\"" + r + "\"")
		}
		if c.Handling != "" {
			add("tansa:handling=\"" + c.Handling + "\"")
		}
		for _, s := range ind.Sightings {
			a.Sighting = append(a.Sighting, sighting{DateSighting: strconv.FormatInt(s.When.Unix(), 10), Source: s.Where, Type: "0"})
		}
		attrs = append(attrs, a)
	}
	sort.SliceStable(attrs, func(i, j int) bool { return attrs[i].Type < attrs[j].Type })
	ev := map[string]any{"Event": map[string]any{
		"uuid": uuid.NewString(), "info": info, "date": now.UTC().Format("2006-01-02"),
		"timestamp": strconv.FormatInt(now.Unix(), 10), "threat_level_id": "4", "analysis": "2", "distribution": "0",
		"Orgc": map[string]string{"name": "Tansa"}, "Attribute": attrs, "Object": []any{}, "Tag": []any{},
	}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return fmt.Errorf("export misp event: %w", err)
	}
	return nil
}
