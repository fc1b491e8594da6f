package importer

import (
	"context"
	"os"
	"testing"

	"github.com/tansa-sec/tansa/internal/intel"
)

// fuzzImport checks the contract every importer keeps on hostile input: no
// panic, every rejection names an item and a reason, every accepted
// indicator validates and has a normalised value, and the counts agree.
func fuzzImport(t *testing.T, data []byte, f Format) {
	set := intel.NewSet()
	res, err := Import(context.Background(), data, Options{Format: f, Now: fixedNow}, set)
	if err != nil {
		return
	}
	for _, r := range res.Rejected {
		if r.Item == "" || r.Reason == "" {
			t.Fatalf("rejection without item or reason: %+v", r)
		}
	}
	if res.Added != set.Len() {
		t.Fatalf("added %d but the set holds %d", res.Added, set.Len())
	}
	for _, ind := range set.All() {
		if err := ind.Validate(); err != nil {
			t.Fatalf("accepted an invalid indicator: %v", err)
		}
		if ind.Type != intel.TypeSTIXPattern {
			if n, err := intel.Normalize(ind.Type, ind.Value); err != nil || n != ind.Value {
				t.Fatalf("accepted %s %q that normalises to %q, %v", ind.Type, ind.Value, n, err)
			}
		}
	}
}

func addFile(f *testing.F, path string) {
	if b, err := os.ReadFile(path); err == nil {
		f.Add(b)
	}
}

func FuzzImportSTIX(f *testing.F) {
	addFile(f, "testdata/attack-mini.json")
	f.Add([]byte(`{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},{"type":"relationship","id":"relationship--2","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--3"},{"type":"malware","id":"malware--3","name":"X"}]}`))
	f.Add([]byte(`[{"type":"observed-data","id":"observed-data--1","objects":{"0":{"type":"file","hashes":{"MD5":"d41d8cd98f00b204e9800998ecf8427e"}}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, data, FormatSTIX) })
}

func FuzzImportMISP(f *testing.F) {
	addFile(f, "testdata/misp-feed/5f1c2b7e-8a3d-4c6e-9b1f-2a7d4e6c8b90.json")
	f.Add([]byte(`{"response":{"Attribute":[{"type":"domain|ip","value":"a.example|1.2.3.4","to_ids":"1"}]}}`))
	f.Add([]byte(`{"response":[{"Object":{"name":"file","Attribute":[{"type":"md5","value":"x"}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, data, FormatMISP) })
}

func FuzzImportCSV(f *testing.F) {
	f.Add([]byte("value,type,confidence,tlp,tags\nevil.example,domain,80,amber,\"a,b\"\n1.2.3.4:80,,x,,\n"))
	f.Add([]byte("# first_seen_utc,ioc_value,ioc_type\n\"2026-01-01\",\"1.2.3.4:443\",\"ip:port\"\n"))
	f.Add([]byte("a;b;c\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, data, FormatCSV) })
}

func FuzzImportText(f *testing.F) {
	f.Add([]byte("# heading\n1.2.3[.]4\nhxxp://evil[.]com/x\n45.1.2.3\t9\nd41d8cd98f00b204e9800998ecf8427e;Mimikatz\n\\\\x\\.exe;70\n"))
	f.Add([]byte("evil.example.com # note\nHKLM\\Software\\Evil\n[ipv4-addr:value = '5.6.7.8']\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, data, FormatText) })
}

func FuzzImportAuto(f *testing.F) {
	f.Add([]byte(`{"Event":{"info":"x","Attribute":[{"type":"url","value":"http://a.example/"}]}}`))
	f.Add([]byte(`{"type":"bundle","objects":[]}`))
	f.Add([]byte("ioc,type\n1.2.3.4,ip\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, data, FormatAuto) })
}
