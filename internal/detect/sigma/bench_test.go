package sigma

import (
	"bytes"
	"fmt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// loadWindowsRules parses every SigmaHQ rule with product windows.
func loadWindowsRules(b *testing.B) *Ruleset {
	var win []*Rule
	for _, d := range ruleDirs {
		rules, errs := ParseDir(shareddata.Path(b, d))
		if len(errs) > 0 {
			b.Fatalf("parse: %v", errs[0])
		}
		for _, r := range rules {
			if r.Logsource.Product == "windows" {
				win = append(win, r)
			}
		}
	}
	rs, err := Compile(win, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

func loadSampleEVTX(b *testing.B) ([][]byte, int) {
	var data [][]byte
	size := 0
	filepath.WalkDir(shareddata.Path(b, "evtx"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return nil
		}
		x, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, x)
		size += len(x)
		return nil
	})
	return data, size
}

// BenchmarkWindowsRules runs every SigmaHQ windows rule over the shared
// EVTX samples. MB/s is EVTX bytes per second on one goroutine; "parse"
// decodes only, "rules" evaluates pre-decoded events, "both" does both.
func BenchmarkWindowsRules(b *testing.B) {
	rs := loadWindowsRules(b)
	data, size := loadSampleEVTX(b)
	var events []*tansa.Event
	for _, d := range data {
		winevt.ReadEVTX(bytes.NewReader(d), winevt.Options{}, func(e *tansa.Event) error {
			events = append(events, e)
			return nil
		})
	}
	b.Logf("%d rules, %d files, %d bytes, %d events", len(rs.Rules()), len(data), size, len(events))
	perCPU := func(b *testing.B, cpu0 time.Duration) {
		if cpu := cpuTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(len(events)*b.N)/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(float64(size*b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
		}
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(size))
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			for _, d := range data {
				winevt.ReadEVTX(bytes.NewReader(d), winevt.Options{}, func(*tansa.Event) error { return nil })
			}
		}
		b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
		perCPU(b, cpu0)
	})
	b.Run("rules", func(b *testing.B) {
		b.SetBytes(int64(size))
		cpu0 := cpuTime()
		var dst []*CompiledRule
		hits := 0
		for i := 0; i < b.N; i++ {
			for _, e := range events {
				dst = rs.Match(e, dst[:0])
				hits += len(dst)
			}
		}
		b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(hits)/float64(b.N), "matches/pass")
		perCPU(b, cpu0)
	})
	b.Run("both", func(b *testing.B) {
		b.SetBytes(int64(size))
		cpu0 := cpuTime()
		var dst []*CompiledRule
		for i := 0; i < b.N; i++ {
			for _, d := range data {
				winevt.ReadEVTX(bytes.NewReader(d), winevt.Options{}, func(e *tansa.Event) error {
					dst = rs.Match(e, dst[:0])
					return nil
				})
			}
		}
		b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
		perCPU(b, cpu0)
	})
}

// BenchmarkCorrelation pushes 1,000,000 events through 50 correlation rules
// (all seven types) over 10 detection rules, with 100,000 distinct group
// keys, events 1 ms apart with up to 1 s of disorder (each key recurs every 100 s, inside the 5 m windows). It reports the largest live heap
// (after a collection, every 100,000 events).
func BenchmarkCorrelation(b *testing.B) {
	var src strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&src, "title: base %d\nname: base_%d\nlogsource: {product: windows}\ndetection:\n  sel: {EventID: %d}\n  condition: sel\n---\n", i, i, 1000+i)
	}
	types := []string{"event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile"}
	for i := 0; i < 50; i++ {
		t := types[i%len(types)]
		cond := "{gte: 20}"
		switch t {
		case "value_count":
			cond = "{field: Host, gte: 5}"
		case "value_sum":
			cond = "{field: Bytes, gt: 100000}"
		case "value_avg":
			cond = "{field: Bytes, gt: 9000}"
		case "value_percentile":
			cond = "{field: Host, lte: 1}"
		case "temporal", "temporal_ordered":
			cond = "{gte: 2}"
		}
		fmt.Fprintf(&src, "title: corr %d\nid: corr-%d\ncorrelation:\n  type: %s\n  rules: [base_%d, base_%d]\n  group-by: [User]\n  timespan: 5m\n  condition: %s\n---\n", i, i, t, i%10, (i+3)%10, cond)
	}
	rules, err := Parse("bench.yml", []byte(strings.TrimSuffix(src.String(), "---\n")))
	if err != nil {
		b.Fatal(err)
	}
	rs, err := Compile(rules, Options{NoLogsourceFilter: true})
	if err != nil {
		b.Fatal(err)
	}
	n := 1_000_000
	if s := os.Getenv("TANSA_BENCH_CORR_EVENTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	users := make([]string, 100_000)
	for i := range users {
		users[i] = fmt.Sprintf("user%06d", i)
	}
	events := make([]Fields, 1000)
	for i := range events {
		events[i] = Fields{"EventID": int64(1000 + i%10), "Host": fmt.Sprintf("h%d", i%37), "Bytes": int64(i * 17 % 20000)}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	cpu0 := cpuTime()
	var untimed time.Duration
	var peak uint64
	alerts := 0
	for it := 0; it < b.N; it++ {
		c, err := NewCorrelator(rules, CorrelatorOptions{Lateness: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		var dst []*CompiledRule
		var matched []*Rule
		for i := 0; i < n; i++ {
			e := events[i%len(events)]
			e["User"] = users[(i*7919)%len(users)]
			dst = rs.Match(e, dst[:0])
			matched = matched[:0]
			for _, m := range dst {
				matched = append(matched, m.Rule)
			}
			jitter := time.Duration((i*31)%1000) * time.Millisecond
			alerts += len(c.Observe(e, t0.Add(time.Duration(i)*time.Millisecond-jitter), matched))
			if i%100_000 == 99_999 {
				// Live state after a collection, outside the timed region.
				b.StopTimer()
				g0 := cpuTime()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak {
					peak = ms.HeapAlloc
				}
				untimed += cpuTime() - g0
				b.StartTimer()
			}
		}
		st := c.Stats()
		b.ReportMetric(float64(st.Groups), "groups")
		b.ReportMetric(float64(st.Late), "late")
	}
	b.ReportMetric(float64(peak)/1e6, "liveMB")
	b.ReportMetric((cpuTime()-cpu0-untimed).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(alerts)/float64(b.N), "alerts")
}
