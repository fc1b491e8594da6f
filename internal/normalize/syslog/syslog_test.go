package syslog_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/normalize/syslog"
)

var received = time.Date(2026, 11, 22, 0, 15, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		name, line, format, body string
		time                     time.Time
		want                     map[string]any
	}{
		{
			name:   "RFC 5424 with structured data and BOM",
			line:   "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] \ufeffAn application event",
			format: syslog.RFC5424, body: "An application event",
			time: time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC),
			want: map[string]any{
				"log.syslog.priority": int64(165), "log.syslog.facility.code": int64(20), "log.syslog.severity.code": int64(5),
				"host.name": "mymachine.example.com", "process.name": "evntslog", "process.pid": int64(1234),
				"log.syslog.msgid": "ID47", "log.syslog.version": int64(1),
				"log.syslog.structured_data.exampleSDID@32473.iut": "3",
			},
		},
		{
			name:   "RFC 3164 with PRI",
			line:   "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			format: syslog.RFC3164, body: "'su root' failed for lonvick on /dev/pts/8",
			time: time.Date(2026, 10, 11, 22, 14, 15, 0, time.UTC),
			want: map[string]any{"log.syslog.priority": int64(34), "host.name": "mymachine", "process.name": "su"},
		},
		{
			name:   "RFC 3164 without PRI, from a file",
			line:   "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
			format: syslog.RFC3164, body: "Invalid user webmaster from 173.234.31.186",
			// December seen in November is last year's December.
			time: time.Date(2025, 12, 10, 6, 55, 46, 0, time.UTC),
			want: map[string]any{"log.syslog.priority": int64(13), "host.name": "LabSZ", "process.name": "sshd", "process.pid": int64(24200)},
		},
		{
			name:   "RFC 3164 a few days ahead stays this year",
			line:   "Nov 25 06:55:46 host app: clock runs fast",
			format: syslog.RFC3164, body: "clock runs fast",
			time: time.Date(2026, 11, 25, 6, 55, 46, 0, time.UTC),
		},
		{
			name:   "RFC 3339 time stamp instead of RFC 3164's",
			line:   "2013-10-30T14:51:30.267401+01:00 srv sshd[12671]: Invalid user opcione from 192.241.237.101",
			format: syslog.RFC3164, body: "Invalid user opcione from 192.241.237.101",
			time: time.Date(2013, 10, 30, 13, 51, 30, 267401000, time.UTC),
			want: map[string]any{"host.name": "srv", "process.pid": int64(12671)},
		},
		{
			name:   "ISO time stamp with a space and numeric zone",
			line:   "2020-03-25 09:01:30.852002-0700  localhost sshd[11885]: Address 192.168.33.1 maps to hostname",
			format: syslog.RFC3164, body: "Address 192.168.33.1 maps to hostname",
			time: time.Date(2020, 3, 25, 16, 1, 30, 852002000, time.UTC),
			want: map[string]any{"host.name": "localhost", "process.name": "sshd"},
		},
		{
			name:   "Cisco message ID taken for a tag goes back into the body",
			line:   "<166>Nov 20 10:00:00 asa01 %ASA-6-302013: Built outbound TCP connection 9",
			format: syslog.RFC3164, body: "%ASA-6-302013: Built outbound TCP connection 9",
			time: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
			want: map[string]any{"host.name": "asa01"},
		},
		{
			name:   "PRI and then the appliance's own record, no header (FortiGate)",
			line:   `<189>date=2026-11-21 time=10:00:00 devname="FG100" logid="0000000013"`,
			format: syslog.RFC3164, body: `date=2026-11-21 time=10:00:00 devname="FG100" logid="0000000013"`,
			want: map[string]any{"log.syslog.priority": int64(189), "log.syslog.facility.code": int64(23), "log.syslog.severity.name": "notice"},
		},
		{
			name:   "RFC 5424 without PRI and with Check Point's non-RFC structured data",
			line:   `1 2019-05-15T16:25:50Z HOSTNAME CheckPoint 19710 - [action:"Drop"; src:"11.22.33.77"; ]`,
			format: syslog.RFC5424, body: `[action:"Drop"; src:"11.22.33.77"; ]`,
			time: time.Date(2019, 5, 15, 16, 25, 50, 0, time.UTC),
			want: map[string]any{"host.name": "HOSTNAME", "process.name": "CheckPoint", "process.pid": int64(19710)},
		},
	}
	p := syslog.NewParser(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !syslog.Detect([]byte(tt.line)) {
				t.Errorf("Detect = false")
			}
			ev := normalizetest.NewEvent()
			msg, err := p.Parse([]byte(tt.line), received, ev)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			normalizetest.CheckValues(t, ev.Fields)
			if msg.Format != tt.format || msg.Body != tt.body {
				t.Errorf("Format, Body = %q, %q; want %q, %q", msg.Format, msg.Body, tt.format, tt.body)
			}
			if !msg.Time.Equal(tt.time) {
				t.Errorf("Time = %v, want %v", msg.Time, tt.time)
			}
			for k, want := range tt.want {
				if got := ev.Fields[k]; got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

// TestSeverityNames checks the severity name of every severity, in both
// formats, against the names go-syslog documents.
func TestSeverityNames(t *testing.T) {
	want := []string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}
	p := syslog.NewParser(nil)
	for sev, name := range want {
		for _, line := range []string{
			fmt.Sprintf("<%d>Oct 11 22:14:15 mymachine su: hello", 8+sev),
			fmt.Sprintf("<%d>1 2003-10-11T22:14:15.003Z mymachine app - - - hello", 8+sev),
		} {
			ev := normalizetest.NewEvent()
			if _, err := p.Parse([]byte(line), received, ev); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if got := ev.Fields["log.syslog.severity.name"]; got != name {
				t.Errorf("%s: severity name %#v, want %q", line, got, name)
			}
			if got := ev.Fields["log.syslog.severity.code"]; got != int64(sev) {
				t.Errorf("%s: severity code %#v, want %d", line, got, sev)
			}
		}
	}
}

func TestZone(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	p := syslog.NewParser(tokyo)
	msg, err := p.Parse([]byte("<13>Nov 21 09:00:00 host app: x"), received, normalizetest.NewEvent())
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC); !msg.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", msg.Time, want)
	}
}

func TestParseErrors(t *testing.T) {
	p := syslog.NewParser(nil)
	tests := []struct{ line, want string }{
		{"<999>Oct 11 22:14:15 host app: x", "expecting a priority value within angle brackets [col 0]"},
		{"<13>1 not-a-time host app - - - x", "syslog: expecting a RFC3339MICRO timestamp or a nil value [col 6]"},
		{"May 00 00:00:00 host app: x", `syslog: timestamp "May 00 00:00:00" is not a valid date [col 0]`},
		{"<13>May 00 00:00:00 host app: x", `syslog: timestamp "May 00 00:00:00" is not a valid date [col 4]`},
		{"2020-13-45 10:00:00 host app: x", `timestamp "2020-13-45 10:00:00" is not YYYY-MM-DD hh:mm:ss [col 0]`},
	}
	for _, tt := range tests {
		_, err := p.Parse([]byte(tt.line), received, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// TestSamples parses the syslog headers of loghub's Linux and OpenSSH logs
// and of the Wazuh ruleset's syslog-framed test logs.
func TestSamples(t *testing.T) {
	p := syslog.NewParser(nil)
	sets := map[string][]string{
		"loghub/Linux":   normalizetest.Lines(t, "logs/loghub/Linux/Linux_2k.log"),
		"loghub/OpenSSH": normalizetest.Lines(t, "logs/loghub/OpenSSH/OpenSSH_2k.log"),
		"wazuh/sshd":     normalizetest.WazuhLogs(t, "sshd.ini"),
		"wazuh/iptables": normalizetest.WazuhLogs(t, "iptables.ini"),
		"wazuh/pam":      normalizetest.WazuhLogs(t, "pam.ini"),
	}
	for name, lines := range sets {
		bad := 0
		for _, l := range lines {
			ev := normalizetest.NewEvent()
			msg, err := p.Parse([]byte(l), received, ev)
			if err != nil || msg.Time.IsZero() || ev.Fields["host.name"] == nil {
				bad++
				t.Errorf("%s: %q: %v", name, l, err)
			}
		}
		t.Logf("%s: %d of %d syslog headers parse", name, len(lines)-bad, len(lines))
	}
}

func FuzzParseSyslog(f *testing.F) {
	for _, s := range []string{
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] msg",
		"<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user",
		"2013-10-30T14:51:30.267401+01:00 srv sshd[12671]: x",
		`1 2019-05-15T16:25:50Z HOSTNAME CheckPoint 19710 - [action:"Drop"; ]`,
		"<13>", "<13>May 00 00:00:00 h a: b",
	} {
		f.Add([]byte(s))
	}
	if normalizetest.Available() {
		for _, l := range normalizetest.Lines(f, "logs/loghub/OpenSSH/OpenSSH_2k.log")[:50] {
			f.Add([]byte(l))
		}
	}
	p := syslog.NewParser(nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev := normalizetest.NewEvent()
		_, err := p.Parse(line, received, ev)
		normalizetest.CheckValues(t, ev.Fields)
		if err != nil && !strings.HasPrefix(err.Error(), "syslog: ") {
			t.Fatalf("error %q lacks the syslog: prefix", err)
		}
	})
}

func benchmark(b *testing.B, line string) {
	p := syslog.NewParser(nil)
	raw := []byte(line)
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if _, err := p.Parse(raw, received, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseSyslog3164(b *testing.B) {
	benchmark(b, "<38>Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2")
}

func BenchmarkParseSyslog5424(b *testing.B) {
	benchmark(b, `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3"] An application event log entry`)
}
