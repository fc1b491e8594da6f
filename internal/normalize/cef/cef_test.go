package cef_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/cef"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[string]any
		time time.Time
	}{
		{
			name: "spec example with escapes",
			line: `CEF:0|Security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1`,
			want: map[string]any{
				"cef.version": int64(0), "observer.vendor": "Security", "observer.product": "threatmanager",
				"observer.version": "1.0", "event.code": "100", "message": "detected a | in message",
				"event.severity": int64(10), "source.ip": "10.0.0.1", "event.action": "blocked a =",
				"act": "blocked a =", "destination.ip": "1.1.1.1",
			},
		},
		{
			name: "values with spaces, newline escape, labels, ports and rt",
			line: `CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvc=10.201.114.164 msg=line one\nline two request=https://Example.COM/a?b=c spt=51234 dpt=443 proto=TCP suser=alice rt=1557937550000 fname=eicar.com cs1=Quarantine cs1Label=Scan Action`,
			want: map[string]any{
				"Host ID": "1", "observer.ip": "10.201.114.164", "message": "line one\nline two",
				"url.full": "https://Example.COM/a?b=c", "url.domain": "example.com",
				"source.port": int64(51234), "destination.port": int64(443), "network.transport": "tcp",
				"source.user.name": "alice", "file.name": "eicar.com", "Scan Action": "Quarantine",
				"cef.name": "Eicar_test_file",
			},
			time: time.UnixMilli(1557937550000).UTC(),
		},
		{
			name: "textual severity and date rt",
			line: `CEF:1|F5|ASM|14.1.2|200002273|SQL-INJ exec()|High|rt=May 05 2021 01:34:01 dvchost=lb1.corp.example`,
			want: map[string]any{
				"cef.version": int64(1), "cef.severity": "High", "event.severity": int64(8),
				"observer.hostname": "lb1.corp.example", "message": "SQL-INJ exec()",
			},
			time: time.Date(2021, 5, 5, 1, 34, 1, 0, time.UTC),
		},
		{
			name: "empty extension",
			line: `CEF:0|Vendor|Product|1|sig|Name|5|`,
			want: map[string]any{"event.code": "sig", "event.severity": int64(5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalizetest.NewEvent()
			if err := cef.Parse(tt.line, ev); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			normalizetest.CheckValues(t, ev.Fields)
			for k, want := range tt.want {
				if got := ev.Fields[k]; got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			if ev.Format != cef.Format {
				t.Errorf("Format = %q", ev.Format)
			}
			if !tt.time.IsZero() && !ev.Time.Equal(tt.time) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.time)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"CEF:0|Vendor|Product", "header has 2 of 7 fields"},
		{"CEF:x|a|b|c|d|e|f|", `version "x" is not a number [col 4]`},
		{"CEF:0|a|b|c|d|e|5|novalue", `extension "novalue" has no "="`},
		{"CEF:0|a|b|c|d|e|5|=v", `extension key "" is not a key [col 18]`},
		{"LEEF:1.0|a", `does not start with "CEF:"`},
	}
	for _, tt := range tests {
		ev := normalizetest.NewEvent()
		err := cef.Parse(tt.line, ev)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

func TestIndex(t *testing.T) {
	for body, want := range map[string]int{
		"ASM:CEF:0|F5|ASM|": 4,
		"CEF:0|a|":          0,
		"no cef here":       -1,
		"CEF: not a record": -1,
	} {
		if got := cef.Index(body); got != want {
			t.Errorf("Index(%q) = %d, want %d", body, got, want)
		}
	}
}

// TestSamples parses every CEF record in the Wazuh ruleset's test logs.
func TestSamples(t *testing.T) {
	n, bad := 0, 0
	for _, file := range []string{"f5_big_ip.ini", "fireeye.ini"} {
		for _, l := range normalizetest.WazuhLogs(t, file) {
			i := cef.Index(l)
			if i < 0 {
				continue
			}
			n++
			ev := normalizetest.NewEvent()
			if err := cef.Parse(l[i:], ev); err != nil {
				bad++
				t.Errorf("%s: %v\n%s", file, err, l)
			}
			normalizetest.CheckValues(t, ev.Fields)
		}
	}
	t.Logf("CEF: %d of %d Wazuh records parse without error", n-bad, n)
	if n < 10 {
		t.Fatalf("only %d CEF records found in the samples", n)
	}
}

var seeds = []string{
	`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232`,
	`CEF:0|a\|b|c\\d|1|2|3|Low|msg=x\=y\\z\n cs1Label=L cs1=v rt=Jan 02 2006 15:04:05 UTC`,
	`CEF:0|||||||`,
	`CEF:0|F5|ASM|11.3.0|200021069|Automated client access "wget"|5| dvchost=bigip dvc=172.16.73.34 request=/index.php`,
}

func FuzzParseCEF(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	if normalizetest.Available() {
		for _, l := range normalizetest.WazuhLogs(f, "f5_big_ip.ini") {
			if i := cef.Index(l); i >= 0 {
				f.Add(l[i:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		err := cef.Parse(line, ev)
		normalizetest.CheckValues(t, ev.Fields)
		if err != nil && !strings.HasPrefix(err.Error(), "cef: ") {
			t.Fatalf("error %q lacks the cef: prefix", err)
		}
	})
}

func BenchmarkParseCEF(b *testing.B) {
	line := `CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvc=10.201.114.164 act=Quarantine src=192.168.1.10 spt=51234 dst=10.0.0.5 dpt=443 proto=TCP suser=alice request=https://example.com/x rt=1557937550000 fname=eicar.com msg=Realtime scan`
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		ev := normalizetest.NewEvent()
		if err := cef.Parse(line, ev); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}
