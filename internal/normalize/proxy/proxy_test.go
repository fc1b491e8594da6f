package proxy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/normalize/proxy"
)

var received = time.Date(2026, 11, 22, 0, 15, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		line, format string
		want         map[string]any
		time         time.Time
	}{
		{
			line:   "1140701230.827    781 192.168.1.210 TCP_DENIED/407 1785 GET http://www.OSSEC.net/a/b?c=d oahmet NONE/- text/html",
			format: proxy.Squid,
			want: map[string]any{
				"source.ip": "192.168.1.210", "http.response.status_code": int64(407), "http.response.bytes": int64(1785),
				"http.request.method": "GET", "url.full": "http://www.OSSEC.net/a/b?c=d", "url.domain": "www.ossec.net",
				"url.path": "/a/b", "url.query": "c=d", "user.name": "oahmet", "squid.result_code": "TCP_DENIED",
				"event.outcome": "failure", "http.response.mime_type": "text/html", "squid.elapsed_ms": int64(781),
			},
			time: time.Unix(1140701230, 827e6).UTC(),
		},
		{
			line:   "1286536309.450    107 10.0.0.7 TCP_TUNNEL/200 5091 CONNECT login.example.com:443 - HIER_DIRECT/203.0.113.5 -",
			format: proxy.Squid,
			want: map[string]any{
				"url.domain": "login.example.com", "destination.port": int64(443), "destination.ip": "203.0.113.5",
				"event.outcome": "success", "http.request.method": "CONNECT",
			},
		},
		{
			line:   "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
			format: proxy.Proxifier,
			want: map[string]any{
				"process.name": "chrome.exe", "destination.domain": "proxy.cse.cuhk.edu.hk", "destination.port": int64(5070),
				"event.action": "open", "network.protocol": "https",
			},
			time: time.Date(2026, 10, 30, 16, 49, 6, 0, time.UTC),
		},
		{
			line:   "[12.30 16:49:07] svchost.exe *64 - 10.0.0.9:443 close, 451 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec",
			format: proxy.Proxifier,
			want: map[string]any{
				"process.name": "svchost.exe", "proxifier.64bit": true, "destination.ip": "10.0.0.9", "source.bytes": int64(451),
				"destination.bytes": int64(18846), "proxifier.lifetime": "<1 sec",
			},
			// December seen in November is last year's.
			time: time.Date(2025, 12, 30, 16, 49, 7, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		if got := proxy.Detect(tt.line); got != tt.format {
			t.Errorf("Detect(%q) = %q, want %q", tt.line, got, tt.format)
		}
		ev := normalizetest.NewEvent()
		if err := proxy.Parse(tt.line, received, ev); err != nil {
			t.Fatalf("Parse(%q): %v", tt.line, err)
		}
		normalizetest.CheckValues(t, ev.Fields)
		for k, want := range tt.want {
			if got := ev.Fields[k]; got != want {
				t.Errorf("%q: %s = %#v, want %#v", tt.line, k, got, want)
			}
		}
		if !tt.time.IsZero() && !ev.Time.Equal(tt.time) {
			t.Errorf("%q: Time = %v, want %v", tt.line, ev.Time, tt.time)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"1140701230.827 781 192.168.1.210", "squid: line ends before the result code field (field 4 of 10) [col 32]"},
		{"[10.30 16:49:06] chrome.exe proxy", `proxifier: no " - " after the program name [col 17]`},
		{"plain text", "proxy: neither a Squid nor a Proxifier record"},
	}
	for _, tt := range tests {
		err := proxy.Parse(tt.line, received, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// TestSamples parses loghub's Proxifier log and Wazuh's Squid test logs.
func TestSamples(t *testing.T) {
	sets := map[string][]string{
		"loghub/Proxifier": normalizetest.Lines(t, "logs/loghub/Proxifier/Proxifier_2k.log"),
		"wazuh/squid":      normalizetest.WazuhLogs(t, "squid_rules.ini"),
	}
	for name, lines := range sets {
		bad, actions := 0, 0
		for _, l := range lines {
			ev := normalizetest.NewEvent()
			if err := proxy.Parse(l, received, ev); err != nil {
				bad++
				t.Errorf("%s: %v\n%s", name, err, l)
			}
			if ev.Fields["event.action"] != nil {
				actions++
			}
			normalizetest.CheckValues(t, ev.Fields)
		}
		t.Logf("%s: %d of %d lines parse without error, %d with event.action", name, len(lines)-bad, len(lines), actions)
		if actions != len(lines) {
			t.Errorf("%s: %d of %d lines have no event.action", name, len(lines)-actions, len(lines))
		}
	}
}

func FuzzParseProxy(f *testing.F) {
	f.Add("1140701230.827    781 192.168.1.210 TCP_DENIED/407 1785 GET http://www.ossec.net oahmet NONE/- text/html")
	f.Add("1286536309.450    107 10.0.0.7 TCP_TUNNEL/200 5091 CONNECT [::1]:443 - HIER_DIRECT/::1 -")
	f.Add("[10.30 16:49:07] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, 0 bytes received, lifetime 00:01")
	f.Add("[10.30 16:49:07] chrome.exe - a:1 error : Could not connect through proxy")
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		_ = proxy.Parse(line, received, ev)
		normalizetest.CheckValues(t, ev.Fields)
	})
}

func BenchmarkParseSquid(b *testing.B) {
	line := "1140701230.827    781 192.168.1.210 TCP_MISS/200 1785 GET http://www.example.com/a/b?c=d alice HIER_DIRECT/93.184.216.34 text/html"
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := proxy.ParseSquid(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseProxifier(b *testing.B) {
	line := "[10.30 16:49:07] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 451 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec"
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := proxy.ParseProxifier(line, received, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}
