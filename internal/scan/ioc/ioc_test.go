package ioc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

const pkg = `{
  "name": "test intel",
  "indicators": [
    {"type": "sha256", "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "description": "loader", "score": 95, "attack": ["T1204"]},
    {"type": "path", "value": "C:\\Users\\*\\AppData\\Roaming\\*\\svch0st.exe"},
    {"type": "path", "value": "/etc/cron.d/sysupdate"},
    {"type": "name", "value": "Mimikatz.exe"},
    {"type": "ip", "value": "203.0.113.0/24"},
    {"type": "ip", "value": "198.51.100.7"},
    {"type": "domain", "value": "c2[.]example[.]net"}
  ]
}`

func TestParseAndMatch(t *testing.T) {
	s, err := Parse([]byte(pkg))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 7 {
		t.Errorf("Len = %d, want 7", s.Len())
	}
	if got := s.Paths(); len(got) != 1 || got[0] != "/etc/cron.d/sysupdate" {
		t.Errorf("Paths = %q", got)
	}
	r := &result.Result{
		Processes: []result.Process{
			{PID: 10, Name: "svch0st.exe", Path: `C:\Users\bob\AppData\Roaming\Intel\svch0st.exe`, SHA256: strings.Repeat("a", 64)},
			{PID: 11, Name: "mimikatz.exe", Path: `D:\tools\mimikatz.exe`},
			{PID: 12, Name: "curl", CommandLine: "curl -s https://cdn.c2.example.net/a"},
			{PID: 13, Name: "bash", Path: "/usr/bin/bash", SHA256: strings.Repeat("b", 64)},
		},
		Connections: []result.Connection{{Protocol: "tcp", RemoteAddr: "203.0.113.44", RemotePort: 443, PID: 10, Process: "svch0st.exe"}},
		DNS:         []result.DNSEntry{{Name: "update.microsoft.com", Address: "198.51.100.7", Source: "hosts"}},
		Files:       []result.File{{Path: "/etc/cron.d/sysupdate", Kind: "ioc"}},
	}
	got := map[string]int{}
	for _, f := range s.Match(r) {
		got[f.Rule+"/"+f.Subject.Kind]++
		if f.Message == "" || f.MessageKey == "" {
			t.Errorf("finding without explanation: %+v", f)
		}
		if f.Rule == "ioc.sha256" && (f.Score != 95 || f.Severity != "critical" || !strings.Contains(f.Message, "loader")) {
			t.Errorf("hash finding = %+v", f)
		}
	}
	want := map[string]int{
		"ioc.sha256/process": 1, "ioc.path/process": 1, "ioc.name/process": 1, "ioc.domain/process": 1,
		"ioc.ip/connection": 1, "ioc.ip/dns": 1, "ioc.path/file": 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d findings, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want exactly %v", got, want)
	}
}

func TestParseRejectsBadIndicators(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"indicators":[{"type":"sha256","value":"abc"}]}`, "indicator 0: sha256"},
		{`{"indicators":[{"type":"md5","value":"abc"}]}`, `unknown type "md5"`},
		{`{"indicators":[{"type":"ip","value":"10.0.0.0/33"}]}`, "indicator 0"},
		{`{"indicators":[{"type":"name","value":"a"},{"type":"name","value":" "}]}`, "indicator 1: empty value"},
		{`{"indicators":[{"type":"name","value":"a","score":101}]}`, "outside 0–100"},
		{`{"indicator":[]}`, "unknown field"},
		{`not json`, "ioc package"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestMerge(t *testing.T) {
	a, _ := Parse([]byte(`{"indicators":[{"type":"name","value":"a.exe"}]}`))
	b, _ := Parse([]byte(pkg))
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 8 {
		t.Errorf("merged Len = %d, want 8", a.Len())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(pkg))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		s.Match(&result.Result{
			Processes:   []result.Process{{Name: "x", Path: "/tmp/x", CommandLine: "a.b.c d"}},
			Connections: []result.Connection{{RemoteAddr: "1.2.3.4"}},
			DNS:         []result.DNSEntry{{Name: "a.b", Address: "::1"}},
		})
	})
}

// BenchmarkMatch matches a sweep-sized result against 200,000 hash, IP
// and domain indicators: the cost must not grow with the indicator count.
func BenchmarkMatch(b *testing.B) {
	s := &Set{}
	var inds []Indicator
	for i := range 200000 {
		switch i % 3 {
		case 0:
			inds = append(inds, Indicator{Type: "sha256", Value: fmt.Sprintf("%064x", i)})
		case 1:
			inds = append(inds, Indicator{Type: "ip", Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)})
		default:
			inds = append(inds, Indicator{Type: "domain", Value: fmt.Sprintf("host%d.example.net", i)})
		}
	}
	if err := s.Add(inds...); err != nil {
		b.Fatal(err)
	}
	r := &result.Result{}
	for i := range 300 {
		r.Processes = append(r.Processes, result.Process{PID: i, Name: "p.exe", Path: `C:\Program Files\App\p.exe`, SHA256: fmt.Sprintf("%064x", i+1<<30), CommandLine: "p.exe --server update.vendor.example.com --port 443"})
		r.Connections = append(r.Connections, result.Connection{RemoteAddr: fmt.Sprintf("192.0.2.%d", i%250), RemotePort: 443, PID: i})
	}
	for i := range 500 {
		r.DNS = append(r.DNS, result.DNSEntry{Name: fmt.Sprintf("cdn%d.vendor.example.com", i), Source: "cache"})
	}
	b.ResetTimer()
	for b.Loop() {
		if n := len(s.Match(r)); n != 0 {
			b.Fatalf("%d unexpected matches", n)
		}
	}
}
