// Package normalizetest gives the normalize packages' tests the shared log
// samples: the loghub, Wazuh ruleset and Zeek sample sets under the
// directory that TANSA_SHARED_DATA names.
//
// A test that needs a sample calls Path, WazuhLogs or Lines with its
// testing.TB: when TANSA_SHARED_DATA is unset the test is skipped with a
// message saying so; when it is set but the sample is missing the test
// fails, because a wrong path must not pass silently.
package normalizetest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Path returns the path of rel (slash-separated) under $TANSA_SHARED_DATA.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	return shareddata.Path(tb, rel)
}

// WazuhLogs returns the raw log lines of a Wazuh ruleset test file
// ("fortigate.ini"): the text after "log N pass = " or "log N fail = ".
// Both kinds are real log lines; "fail" only says a rule must not fire.
func WazuhLogs(tb testing.TB, file string) []string {
	tb.Helper()
	var out []string
	for _, l := range Lines(tb, "logs/wazuh-ruleset-testing/ruleset/testing/tests/"+file) {
		if !strings.HasPrefix(l, "log ") {
			continue
		}
		_, after, ok := strings.Cut(l, " = ")
		if !ok {
			continue
		}
		if !strings.Contains(l[:len(l)-len(after)], " pass = ") && !strings.Contains(l[:len(l)-len(after)], " fail = ") {
			continue
		}
		out = append(out, after)
	}
	if len(out) == 0 {
		tb.Fatalf("no log lines in %s", file)
	}
	return out
}

// Lines returns the lines of the sample at rel, gunzipped when it ends in
// ".gz", without line endings; empty lines are left out.
func Lines(tb testing.TB, rel string) []string {
	tb.Helper()
	p := Path(tb, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("read sample: %v", err)
	}
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			tb.Fatalf("gunzip %s: %v", rel, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			tb.Fatalf("gunzip %s: %v", rel, err)
		}
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read %s: %v", rel, err)
	}
	return out
}

// Available reports whether TANSA_SHARED_DATA is set, for fuzz tests that
// add the samples to their seed corpus when they can and run on their own
// seeds when they cannot.
func Available() bool { return os.Getenv("TANSA_SHARED_DATA") != "" }

// CheckEvent fails tb when ev breaks the event contract that every parser
// keeps: Raw is the input, Format is set, Time is set, and every field
// value is a string, int64, float64, bool, []string or nil.
func CheckEvent(tb testing.TB, ev *tansa.Event, raw []byte) {
	tb.Helper()
	if !bytes.Equal(ev.Raw, raw) {
		tb.Fatalf("Raw = %q, want the input %q", ev.Raw, raw)
	}
	if ev.Format == "" {
		tb.Fatalf("Format is empty for %q", raw)
	}
	if ev.Time.IsZero() {
		tb.Fatalf("Time is zero for %q", raw)
	}
	CheckValues(tb, ev.Fields)
}

// CheckValues fails tb when a field value is not one of the types an
// event may hold.
func CheckValues(tb testing.TB, f map[string]any) {
	tb.Helper()
	for k, v := range f {
		switch v.(type) {
		case string, int64, float64, bool, []string, nil:
		default:
			tb.Fatalf("field %q holds a %T (%v); events hold only string, int64, float64, bool, []string or nil", k, v, v)
		}
	}
}

// NewEvent returns an empty event as the dispatcher hands it to a parser:
// a field map and a received time.
func NewEvent() *tansa.Event {
	return &tansa.Event{Fields: make(map[string]any, 32), Received: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
}

// ReportRate adds a benchmark's throughput to its results: "events/s" from
// wall-clock time, and "cpu-ns/op" and "events/cpu-s" from the CPU time the
// process used since cpu0 (taken with CPUTime before the loop). On a
// machine shared with other work the CPU figures are the ones to compare,
// because waiting for a core does not count in them.
func ReportRate(b *testing.B, cpu0 time.Duration) {
	b.Helper()
	if b.N == 0 {
		return
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu0 == 0 {
		return
	}
	cpu := CPUTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
}
