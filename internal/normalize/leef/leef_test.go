package leef_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/leef"
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
			name: "LEEF 1.0 with tabs",
			line: "LEEF:1.0|Microsoft|MSExchange|2007|7732|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tdevTime=Oct 12 2026 10:11:12",
			want: map[string]any{
				"leef.version": "1.0", "observer.vendor": "Microsoft", "observer.product": "MSExchange",
				"observer.version": "2007", "event.code": "7732", "source.ip": "192.0.2.0", "destination.ip": "172.50.123.1",
				"event.severity": int64(5), "cat": "anomaly", "source.port": int64(81), "destination.port": int64(21),
				"user.name": "joe.black",
			},
			time: time.Date(2026, 10, 12, 10, 11, 12, 0, time.UTC),
		},
		{
			name: "LEEF 2.0 with a caret delimiter",
			line: "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
			want: map[string]any{"leef.version": "2.0", "source.ip": "10.0.1.8", "destination.ip": "10.0.0.5", "destination.port": int64(21)},
		},
		{
			name: "LEEF 2.0 with a hex delimiter and devTimeFormat",
			line: "LEEF:2.0|Vendor|Product|1|ID|0x7c|src=10.0.1.8|devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ|devTime=2026-11-21T10:11:12.345+0900|proto=UDP",
			want: map[string]any{"source.ip": "10.0.1.8", "network.transport": "udp"},
			time: time.Date(2026, 11, 21, 1, 11, 12, 345e6, time.UTC),
		},
		{
			name: "LEEF 2.0 with an empty delimiter field means tab",
			line: "LEEF:2.0|V|P|1|ID||src=10.0.1.8\tdst=10.0.0.5",
			want: map[string]any{"source.ip": "10.0.1.8", "destination.ip": "10.0.0.5"},
		},
		{
			name: "LEEF 1.0 separated by spaces",
			line: "LEEF:1.0|Vendor|Product|1|ID|src=10.0.1.8 dst=10.0.0.5 usrName=John Smith devTime=1557937550000",
			want: map[string]any{"source.ip": "10.0.1.8", "user.name": "John Smith"},
			time: time.UnixMilli(1557937550000).UTC(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := normalizetest.NewEvent()
			if err := leef.Parse(tt.line, ev); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			normalizetest.CheckValues(t, ev.Fields)
			for k, want := range tt.want {
				if got := ev.Fields[k]; got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			if !tt.time.IsZero() && !ev.Time.Equal(tt.time) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.time)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"LEEF:1.0|Vendor|Product", "header has 2 of 5 fields [col 23]"},
		{"LEEF:2.0|V|P|1|ID|0xZZ|a=b", `delimiter "0xZZ" is not a hex character [col 18]`},
		{"LEEF:2.0|V|P|1|ID", "header has 4 of 5 fields"},
		{"LEEF:1.0|V|P|1|ID|a=b\tnovalue", `attribute "novalue" has no key=value [col 22]`},
		{"CEF:0|a", "does not start with"},
	}
	for _, tt := range tests {
		err := leef.Parse(tt.line, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// TestSamples parses every LEEF record in the Wazuh ruleset's test logs.
func TestSamples(t *testing.T) {
	n, bad := 0, 0
	for _, l := range normalizetest.WazuhLogs(t, "panda_paps.ini") {
		i := leef.Index(l)
		if i < 0 {
			continue
		}
		n++
		ev := normalizetest.NewEvent()
		if err := leef.Parse(l[i:], ev); err != nil {
			bad++
			t.Errorf("%v\n%s", err, l)
		}
		if ev.Time.IsZero() {
			t.Errorf("no devTime read from %s", l)
		}
		normalizetest.CheckValues(t, ev.Fields)
	}
	t.Logf("LEEF: %d of %d Wazuh records parse without error", n-bad, n)
	if n == 0 {
		t.Fatal("no LEEF records found in the samples")
	}
}

func FuzzParseLEEF(f *testing.F) {
	f.Add("LEEF:1.0|Microsoft|MSExchange|2007|7732|src=192.0.2.0\tdst=172.50.123.1\tsev=5")
	f.Add("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5")
	f.Add("LEEF:2.0|V|P|1|ID|x09|devTimeFormat=yyyy|devTime=2026")
	if normalizetest.Available() {
		for _, l := range normalizetest.WazuhLogs(f, "panda_paps.ini") {
			if i := leef.Index(l); i >= 0 {
				f.Add(l[i:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		err := leef.Parse(line, ev)
		normalizetest.CheckValues(t, ev.Fields)
		if err != nil && !strings.HasPrefix(err.Error(), "leef: ") {
			t.Fatalf("error %q lacks the leef: prefix", err)
		}
	})
}

func BenchmarkParseLEEF(b *testing.B) {
	line := "LEEF:1.0|Microsoft|MSExchange|2007|7732|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tdevTime=Oct 12 2026 10:11:12\tproto=TCP\tpolicy=Block"
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := leef.Parse(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}
