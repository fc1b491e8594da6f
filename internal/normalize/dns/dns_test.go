package dns_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/dns"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

func TestParseBIND(t *testing.T) {
	tests := []struct {
		msg  string
		want map[string]any
		time time.Time
	}{
		{
			msg: "client @0x7f9b1c0a4a30 192.168.1.10#53535 (WWW.Example.COM): query: WWW.Example.COM. IN A +E(0)K (192.168.1.1)",
			want: map[string]any{
				"source.ip": "192.168.1.10", "source.port": int64(53535), "dns.question.name": "www.example.com",
				"dns.question.class": "IN", "dns.question.type": "A", "bind.flags": "+E(0)K", "destination.ip": "192.168.1.1",
				"event.action": "query",
			},
		},
		{
			msg:  "22-Nov-2026 00:01:02.345 queries: info: client 10.0.0.8#41000: query: evil.example IN TXT +",
			want: map[string]any{"source.ip": "10.0.0.8", "dns.question.name": "evil.example", "dns.question.type": "TXT"},
			time: time.Date(2026, 11, 22, 0, 1, 2, 345e6, time.UTC),
		},
		{
			msg:  "client 217.148.39.3#1036: query (cache) 'www.example.net/A/IN' denied",
			want: map[string]any{"source.ip": "217.148.39.3", "dns.question.name": "www.example.net", "event.outcome": "failure", "event.action": "query-denied"},
		},
		{
			msg:  "client 217.148.39.4#32769: query (cache) denied",
			want: map[string]any{"source.port": int64(32769), "event.outcome": "failure"},
		},
	}
	for _, tt := range tests {
		if !dns.DetectBIND(tt.msg) {
			t.Errorf("DetectBIND(%q) = false", tt.msg)
		}
		ev := normalizetest.NewEvent()
		if err := dns.ParseBIND(tt.msg, ev); err != nil {
			t.Fatalf("ParseBIND(%q): %v", tt.msg, err)
		}
		normalizetest.CheckValues(t, ev.Fields)
		for k, want := range tt.want {
			if got := ev.Fields[k]; got != want {
				t.Errorf("%q: %s = %#v, want %#v", tt.msg, k, got, want)
			}
		}
		if !tt.time.IsZero() && !ev.Time.Equal(tt.time) {
			t.Errorf("%q: Time = %v, want %v", tt.msg, ev.Time, tt.time)
		}
	}
}

func TestParseZeek(t *testing.T) {
	line := `{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.00087,"query":"ise.WRCCDC.org","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"RD":true,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.0],"rejected":false}`
	if !dns.DetectZeek(line) {
		t.Fatal("DetectZeek = false")
	}
	ev := normalizetest.NewEvent()
	if err := dns.ParseZeek(line, ev); err != nil {
		t.Fatal(err)
	}
	normalizetest.CheckValues(t, ev.Fields)
	want := map[string]any{
		"source.ip": "10.47.1.100", "source.port": int64(41772), "destination.ip": "10.0.0.100", "destination.port": int64(53),
		"dns.question.name": "ise.wrccdc.org", "dns.question.type": "A", "dns.response_code": "NOERROR",
		"network.transport": "udp", "query": "ise.WRCCDC.org", "rtt": 0.00087, "RD": true, "qtype": int64(1),
	}
	for k, w := range want {
		if got := ev.Fields[k]; got != w {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	if got, _ := ev.Fields["dns.answers.data"].([]string); len(got) != 2 || got[1] != "134.71.3.16" {
		t.Errorf("dns.answers.data = %#v", ev.Fields["dns.answers.data"])
	}
	if want := time.Date(2018, 3, 24, 17, 15, 20, 865716000, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", ev.Time, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		parse func(string, *testing.T) error
		line  string
		want  string
	}{
		{bind, "client nobody: query: x IN A", `bind: client "nobody" is not ADDRESS#PORT [col 7]`},
		{bind, "client 300.1.1.1#53: query: x IN A", `bind: client address "300.1.1.1" is not an IP address [col 7]`},
		{bind, "server started", `bind: message does not start with "client " [col 0]`},
		{zeek, `{"_path":"dns","query":"x"`, "zeek_dns: json:"},
		{zeek, `["_path"]`, "not an object"},
	}
	for _, tt := range tests {
		err := tt.parse(tt.line, t)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

func bind(s string, _ *testing.T) error { return dns.ParseBIND(s, normalizetest.NewEvent()) }
func zeek(s string, _ *testing.T) error { return dns.ParseZeek(s, normalizetest.NewEvent()) }

// TestSamples parses every record of the Zeek dns.log sample and the BIND
// messages of Wazuh's named test logs.
func TestSamples(t *testing.T) {
	lines := normalizetest.Lines(t, "logs/zeek/zeek-json/dns.json.gz")
	bad, named := 0, 0
	for _, l := range lines {
		ev := normalizetest.NewEvent()
		if err := dns.ParseZeek(l, ev); err != nil {
			bad++
			if bad < 5 {
				t.Errorf("%v\n%s", err, l)
			}
			continue
		}
		if _, ok := ev.Fields["dns.question.name"]; ok {
			named++
		}
	}
	t.Logf("zeek dns.log: %d of %d records parse without error, %d with dns.question.name", len(lines)-bad, len(lines), named)
	if bad > 0 {
		t.Errorf("%d Zeek records failed", bad)
	}
	n := 0
	for _, l := range normalizetest.WazuhLogs(t, "named.ini") {
		_, body, ok := strings.Cut(l, "]: ")
		if !ok || !dns.DetectBIND(body) {
			continue
		}
		n++
		if err := dns.ParseBIND(body, normalizetest.NewEvent()); err != nil {
			t.Errorf("%v\n%s", err, l)
		}
	}
	t.Logf("wazuh named: %d BIND messages parse", n)
}

func FuzzParseDNS(f *testing.F) {
	f.Add("client @0x7f9b1c0a4a30 192.168.1.10#53535 (www.example.com): query: www.example.com IN A +E(0)K (192.168.1.1)")
	f.Add("22-Nov-2026 00:01:02.345 queries: info: client 10.0.0.8#41000: query: evil.example IN TXT +")
	f.Add(`{"_path":"dns","ts":1521911720.865716,"id.orig_h":"10.47.1.100","query":"a","answers":[["x"],{"Name":"n","Value":1}]}`)
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		if strings.HasPrefix(line, "{") {
			_ = dns.ParseZeek(line, ev)
		} else {
			_ = dns.ParseBIND(line, ev)
		}
		normalizetest.CheckValues(t, ev.Fields)
	})
}

func BenchmarkParseBIND(b *testing.B) {
	line := "client @0x7f9b1c0a4a30 192.168.1.10#53535 (www.example.com): query: www.example.com IN A +E(0)K (192.168.1.1)"
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := dns.ParseBIND(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseZeekDNS(b *testing.B) {
	line := `{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.0008699893951416016,"query":"ise.wrccdc.org","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"TTLs":[2230.0,41830.0],"rejected":false}`
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := dns.ParseZeek(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}
