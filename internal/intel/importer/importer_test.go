package importer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func mustImport(t testing.TB, data string, opts Options) (*Result, *intel.Set) {
	t.Helper()
	set := intel.NewSet()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	res, err := Import(context.Background(), []byte(data), opts, set)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return res, set
}

func byValue(set *intel.Set) map[string]intel.Indicator {
	m := map[string]intel.Indicator{}
	for _, ind := range set.All() {
		m[ind.Value] = ind
	}
	return m
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{`{"type": "bundle", "id": "bundle--1", "objects": []}`, FormatSTIX},
		{`[{"type": "indicator", "spec_version": "2.1"}]`, FormatSTIX},
		{`{"Event": {"info": "x"}}`, FormatMISP},
		{`{"response": {"Attribute": []}}`, FormatMISP},
		{"value,type,confidence\n1.2.3.4,ip,80\n", FormatCSV},
		{"# comment\n1.2.3.4\nevil.com\n", FormatText},
		{"1.2.3.4\t5\n5.6.7.8\t3\n", FormatText},
		{"d41d8cd98f00b204e9800998ecf8427e;Mimikatz\n", FormatText},
	}
	for _, tt := range tests {
		got, err := Detect([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("Detect(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", `{"foo": 1}`, "\x00\x01\x02"} {
		if f, err := Detect([]byte(bad)); err == nil {
			t.Errorf("Detect(%q) = %s, want an error", bad, f)
		}
	}
}

func TestTextItemByItem(t *testing.T) {
	in := `# Operation Example
1.2.3[.]4
hxxp://evil[.]example.com/gate.php
not a value at all
999.1.1.1
# second block
d41d8cd98f00b204e9800998ecf8427e;Mimikatz dropper
45.154.244.193	7
\\evil\.exe;75
evil.example.com # trailing note
1.2.3.4
`
	res, set := mustImport(t, in, Options{Source: "test", Format: FormatText})
	if res.Added != 6 || res.Updated != 1 || res.RejectedCount != 2 || res.Items != 9 {
		t.Fatalf("result = %+v", res)
	}
	for _, r := range res.Rejected {
		if r.Item == "" || r.Reason == "" {
			t.Errorf("rejection without item or reason: %+v", r)
		}
	}
	m := byValue(set)
	if ind := m["1.2.3.4"]; ind.Type != intel.TypeIPv4 || ind.Context.Description != "Operation Example" || ind.Source != "test" {
		t.Errorf("1.2.3.4 = %+v", ind)
	}
	if ind := m["http://evil.example.com/gate.php"]; ind.Type != intel.TypeURL {
		t.Errorf("url = %+v", ind)
	}
	if ind := m["d41d8cd98f00b204e9800998ecf8427e"]; ind.Type != intel.TypeMD5 || ind.Context.Description != "Mimikatz dropper" {
		t.Errorf("md5 = %+v", ind)
	}
	if ind := m["45.154.244.193"]; ind.Confidence != 70 || !slices.Contains(ind.Tags, "lists:7") {
		t.Errorf("ipsum line = %+v", ind)
	}
	if ind := m[`\\evil\.exe`]; ind.Type != intel.TypeFilename || ind.Confidence != 75 || !slices.Contains(ind.Tags, "regex") {
		t.Errorf("LOKI filename line = %+v", ind)
	}
	if ind := m["evil.example.com"]; ind.Type != intel.TypeDomain || ind.Context.Description != "trailing note" {
		t.Errorf("domain with comment = %+v", ind)
	}
}

func TestCSVHeaderAndMapping(t *testing.T) {
	in := `Indicator;Type;Confidence;TLP;Tags;First Seen;Threat Actor;Technique;Comment
evil.example;domain;80;amber;c2,apt;2026-01-02;MirrorFace;T1071.001;seen in proxy
5.6.7.8:443;;60;green;;2026-01-03T04:05:06Z;;;
bad..domain;domain;50;;;;;;
1.2.3.4;ip;high;;;;;;
9.9.9.10;ip;70;purple;;;;;
`
	res, set := mustImport(t, in, Options{})
	if res.Format != FormatCSV || res.Added != 2 || res.RejectedCount != 3 {
		t.Fatalf("result = %+v", res)
	}
	m := byValue(set)
	ind := m["evil.example"]
	if ind.Confidence != 80 || ind.TLP != intel.TLPAmber || !slices.Equal(ind.Tags, []string{"c2", "apt"}) ||
		!slices.Equal(ind.Context.ThreatActors, []string{"MirrorFace"}) || !slices.Equal(ind.Techniques, []string{"T1071.001"}) ||
		ind.Context.Description != "seen in proxy" || !ind.FirstSeen.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("evil.example = %+v", ind)
	}
	if ind := m["5.6.7.8"]; ind.Type != intel.TypeIPv4 || ind.TLP != intel.TLPGreen {
		t.Errorf("ip:port row = %+v", ind)
	}
}

func TestCSVNoHeaderAndColumns(t *testing.T) {
	in := "2026-11-01,evil.example.org,botnet\n2026-11-02,5.6.7.8,scanner\n2026-11-03,???,x\n"
	res, set := mustImport(t, in, Options{Format: FormatCSV})
	if res.Added != 2 || res.RejectedCount != 1 {
		t.Fatalf("result = %+v", res)
	}
	if ind := byValue(set)["evil.example.org"]; ind.Context.Description != "2026-11-01; botnet" {
		t.Errorf("no-header row = %+v", ind)
	}
	in = "ioc,when\nevil.example.net,2026-11-01\n"
	res, set = mustImport(t, in, Options{Format: FormatCSV, Columns: map[string]string{"when": "first_seen"}})
	if res.Added != 1 || byValue(set)["evil.example.net"].FirstSeen.Day() != 1 {
		t.Fatalf("custom column mapping: %+v %+v", res, set.All())
	}
}

func TestSTIXItemByItem(t *testing.T) {
	in := `{"type": "bundle", "id": "bundle--1", "objects": [
	 {"type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-1111-4111-8111-111111111111", "pattern": "[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'bad domain']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"},
	 {"type": "indicator", "spec_version": "2.1", "id": "indicator--22222222-2222-4222-8222-222222222222", "pattern": "[ipv4-addr:value = ", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
	 {"type": "indicator", "spec_version": "2.1", "id": "indicator--33333333-3333-4333-8333-333333333333", "pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2026-01-01T00:00:00Z"},
	 {"type": "indicator", "spec_version": "2.1", "id": "indicator--44444444-4444-4444-8444-444444444444", "pattern": "[file:size > 100 AND file:name = 'x.exe']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"},
	 {"type": "indicator", "id": "indicator--55555555-5555-4555-8555-555555555555", "pattern": 7},
	 {"no": "type"},
	 "not an object",
	 {"type": "sighting", "spec_version": "2.1", "id": "sighting--66666666-6666-4666-8666-666666666666", "sighting_of_ref": "indicator--11111111-1111-4111-8111-111111111111", "count": 3, "last_seen": "2026-02-01T00:00:00Z", "where_sighted_refs": ["identity--77777777-7777-4777-8777-777777777777"]},
	 {"type": "identity", "spec_version": "2.1", "id": "identity--77777777-7777-4777-8777-777777777777", "name": "Osaka branch", "identity_class": "organization"}
	]}`
	res, set := mustImport(t, in, Options{})
	if res.Added != 2 || res.RejectedCount != 5 || res.SkippedCount != 1 {
		t.Fatalf("result = %+v", res)
	}
	for _, want := range []string{"bad domain", "column 20", "object 5", "object 6", "object 7"} {
		found := false
		for _, r := range res.Rejected {
			found = found || strings.Contains(r.Item+" "+r.Reason, want)
		}
		if !found {
			t.Errorf("no rejection mentions %q: %+v", want, res.Rejected)
		}
	}
	m := byValue(set)
	ip := m["198.51.100.7"]
	if len(ip.Sightings) != 1 || ip.Sightings[0].Count != 3 || ip.Sightings[0].Where != "Osaka branch" {
		t.Errorf("sighting not attached: %+v", ip.Sightings)
	}
	if p := m["[file:size > 100 AND file:name = 'x.exe']"]; p.Type != intel.TypeSTIXPattern || p.ID != "indicator--44444444-4444-4444-8444-444444444444" {
		t.Errorf("complex pattern = %+v", p)
	}
}

func TestATTACKBundle(t *testing.T) {
	data, err := os.ReadFile("testdata/attack-mini.json")
	if err != nil {
		t.Fatal(err)
	}
	res, set := mustImport(t, string(data), Options{})
	if res.RejectedCount != 0 || res.Added != 1 || res.Items != 11 {
		t.Fatalf("result = %+v", res)
	}
	ind := set.All()[0]
	if ind.TLP != intel.TLPGreen || ind.Confidence != 75 || !slices.Equal(ind.Context.Malware, []string{"WEBC2"}) ||
		!slices.Equal(ind.Context.ThreatActors, []string{"APT1"}) || !slices.Equal(ind.Context.Motives, []string{"organizational-gain"}) ||
		!slices.Contains(ind.Techniques, "T1566.001") || !slices.Equal(ind.Context.IntrusionRoutes, []string{"Spearphishing Attachment"}) {
		t.Errorf("context from ATT&CK objects = %+v", ind)
	}
	if len(ind.Relations) != 1 || ind.Relations[0].Kind != "indicates" || ind.Relations[0].TargetName != "WEBC2" {
		t.Errorf("relations = %+v", ind.Relations)
	}
}

func TestMISPFeed(t *testing.T) {
	set := intel.NewSet()
	res, err := ImportMISPFeed(context.Background(), os.DirFS("testdata/misp-feed"), Options{Now: fixedNow}, set)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 5 || res.RejectedCount != 2 || res.SkippedCount != 1 {
		t.Fatalf("result = %+v", res)
	}
	m := byValue(set)
	u := m["https://login-portal.example-phish.jp/owa/"]
	if u.TLP != intel.TLPAmber || u.Confidence != 85 || !slices.Equal(u.Context.ThreatActors, []string{"MirrorFace"}) ||
		!slices.Equal(u.Techniques, []string{"T1566.002"}) || len(u.Sightings) != 1 || u.Sightings[0].Where != "proxy-tokyo" ||
		u.ID != "indicator--7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f" || u.Source != "misp:Group CSIRT" {
		t.Errorf("url attribute = %+v", u)
	}
	if _, ok := m["203.0.113.50"]; !ok {
		t.Error("domain|ip attribute lost its IP half")
	}
	if f := m["invoice_2026.lnk"]; !slices.Contains(f.Tags, "misp-object:file") {
		t.Errorf("object attribute = %+v", f)
	}
	if _, ok := m["0123456789abcdef0123456789abcdef"]; !ok {
		t.Error("md5 from object not normalised")
	}
	if _, err := ImportMISPFeed(context.Background(), os.DirFS("testdata"), Options{}, set); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("feed without manifest: %v", err)
	}
}

func sampleIndicators() []intel.Indicator {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	base := func(t intel.Type, v string) intel.Indicator {
		return intel.Indicator{Type: t, Value: v, Confidence: 80, TLP: intel.TLPAmber, ValidFrom: t0, ValidUntil: t0.AddDate(0, 3, 0),
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), Tags: []string{"c2"}}
	}
	rich := base(intel.TypeDomain, "c2.example-bad.jp")
	rich.Name = "MirrorFace C2"
	rich.Techniques = []string{"T1071.001", "T1566.002"}
	rich.KillChain = []intel.KillChainPhase{{Chain: "mitre-attack", Phase: "command-and-control"}}
	rich.Context = intel.Context{ThreatActors: []string{"MirrorFace"}, Campaigns: []string{"Operation Example"}, Malware: []string{"LODEINFO"},
		Motives: []string{"espionage"}, Sectors: []string{"government"}, Regions: []string{"JP"}, IntrusionRoutes: []string{"spearphishing-link"},
		Handling: "block at proxy and hunt 30 days back", Description: "C2 of LODEINFO"}
	rich.Sightings = []intel.Sighting{{Where: "proxy-osaka", When: t0.Add(2 * time.Hour), Count: 2}}
	out := []intel.Indicator{rich}
	for _, tv := range []struct {
		t intel.Type
		v string
	}{
		{intel.TypeIPv4, "45.154.244.193"}, {intel.TypeIPv6, "2001:db9::1"}, {intel.TypeCIDR, "45.154.0.0/16"},
		{intel.TypeURL, "http://evil.example-bad.jp/a?b='c'"}, {intel.TypeMD5, "0123456789abcdef0123456789abcdef"},
		{intel.TypeSHA1, "0123456789abcdef0123456789abcdef01234567"},
		{intel.TypeSHA256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{intel.TypeEmail, "ceo@example-bad.jp"}, {intel.TypeFilename, `C:\Temp\it's.exe`}, {intel.TypeMutex, "Global\\evil-mutex"},
		{intel.TypeRegistryKey, `HKEY_CURRENT_USER\Software\Evil`}, {intel.TypeUserAgent, "EvilBot/1.0"},
		{intel.TypeJA3, "e7d705a3286e19ea42f587b344ee6865"}, {intel.TypeJA4, "t13d1516h2_8daaf6152771_b186095e22b6"},
		{intel.TypeSTIXPattern, "[file:size > 100 AND file:name = 'x.exe']"},
	} {
		out = append(out, base(tv.t, tv.v))
	}
	for i := range out {
		out[i].ID = DeterministicID("", out[i].Type, out[i].Value)
	}
	return out
}

func compareRoundTrip(t *testing.T, format string, want []intel.Indicator, got *intel.Set, full bool) {
	t.Helper()
	if got.Len() != len(want) {
		t.Fatalf("%s round trip: %d indicators, want %d", format, got.Len(), len(want))
	}
	for _, w := range want {
		g, ok := got.Get(w.Key())
		if !ok {
			t.Errorf("%s round trip lost %s %q", format, w.Type, w.Value)
			continue
		}
		if g.Confidence != w.Confidence || g.TLP != w.TLP || !g.ValidUntil.Equal(w.ValidUntil) || !slices.Equal(g.Tags, w.Tags) ||
			!slices.Equal(g.Techniques, w.Techniques) || g.ID != w.ID {
			t.Errorf("%s round trip of %q:\n got %+v\nwant %+v", format, w.Value, g, w)
		}
		c, wc := g.Context, w.Context
		if !slices.Equal(c.ThreatActors, wc.ThreatActors) || !slices.Equal(c.Campaigns, wc.Campaigns) || !slices.Equal(c.Malware, wc.Malware) ||
			!slices.Equal(c.Motives, wc.Motives) || !slices.Equal(c.Sectors, wc.Sectors) || !slices.Equal(c.Regions, wc.Regions) ||
			!slices.Equal(c.IntrusionRoutes, wc.IntrusionRoutes) || c.Handling != wc.Handling || c.Description != wc.Description {
			t.Errorf("%s round trip of %q context:\n got %+v\nwant %+v", format, w.Value, c, wc)
		}
		if len(g.Sightings) != len(w.Sightings) || (len(w.Sightings) > 0 && (g.Sightings[0].Where != w.Sightings[0].Where || !g.Sightings[0].When.Equal(w.Sightings[0].When))) {
			t.Errorf("%s round trip of %q sightings: got %+v, want %+v", format, w.Value, g.Sightings, w.Sightings)
		}
		if full && (g.Name != w.Name || !slices.Equal(g.KillChain, w.KillChain) || !g.ValidFrom.Equal(w.ValidFrom)) {
			t.Errorf("%s round trip of %q: name/kill chain/valid_from differ: %+v", format, w.Value, g)
		}
	}
}

func TestSTIXRoundTrip(t *testing.T) {
	want := sampleIndicators()
	var buf bytes.Buffer
	if err := ExportSTIX(&buf, want, fixedNow); err != nil {
		t.Fatal(err)
	}
	res, set := mustImport(t, buf.String(), Options{})
	if res.Format != FormatSTIX || res.RejectedCount != 0 {
		t.Fatalf("re-import: %+v", res)
	}
	compareRoundTrip(t, "stix", want, set, true)
}

func TestMISPRoundTrip(t *testing.T) {
	want := sampleIndicators()
	var buf bytes.Buffer
	if err := ExportMISP(&buf, want, "Tansa export", fixedNow); err != nil {
		t.Fatal(err)
	}
	res, set := mustImport(t, buf.String(), Options{})
	if res.Format != FormatMISP || res.RejectedCount != 0 {
		t.Fatalf("re-import: %+v", res)
	}
	compareRoundTrip(t, "misp", want, set, false)
}

func TestAllowlistFlagsNotDrops(t *testing.T) {
	allow, err := intel.DefaultAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	res, set := mustImport(t, "login.microsoftonline.com\n8.8.8.8\nevil.example-bad.jp\n", Options{Allowlist: allow})
	if res.Added != 3 || res.Flagged != 2 {
		t.Fatalf("result = %+v", res)
	}
	if m := byValue(set); m["8.8.8.8"].Allowlisted == "" || m["evil.example-bad.jp"].Allowlisted != "" {
		t.Errorf("flags wrong: %+v", set.All())
	}
}

func TestEnvelopeErrors(t *testing.T) {
	for _, tt := range []struct {
		in string
		f  Format
	}{
		{`{"type": "bundle", "objects": [`, FormatSTIX},
		{`{"Event": `, FormatMISP},
		{`{"hello": "world"}`, FormatSTIX},
	} {
		_, err := Import(context.Background(), []byte(tt.in), Options{Format: tt.f}, intel.NewSet())
		if tansa.KindOf(err) != tansa.Invalid {
			t.Errorf("Import(%q) error = %v, want invalid", tt.in, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "10.0.%d.%d\n", i/250, i%250+1)
	}
	if _, err := Import(ctx, []byte(b.String()), Options{}, intel.NewSet()); tansa.KindOf(err) != tansa.Unavailable {
		t.Errorf("cancelled import error = %v", err)
	}
}
