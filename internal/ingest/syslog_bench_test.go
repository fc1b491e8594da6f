package ingest_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/bench/loglines"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/ingest"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

// BenchmarkSyslogIngest is the server's side of TCP syslog after the
// listener: bench/syslogload's mixed stream (FortiGate, CEF, sshd), in bus
// batches of 1000 as the listener publishes them, through ingest.Events,
// normalize.Observables and the event store's Put, one op per batch. It
// reports CPU per record of the three stages together, so that a change to
// any of them is measured without the listener, the bus and the load
// tool's noise.
//
//	go test -run '^$' -bench BenchmarkSyslogIngest -cpu 1 -benchmem ./internal/ingest/
func BenchmarkSyslogIngest(b *testing.B) {
	now := time.Now()
	recs := make([]collect.Record, 1000)
	store, err := sqlite.OpenEvents(b.Context(), filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	parser := normalize.NewParser(time.UTC)
	n := 0
	b.ResetTimer()
	cpu0 := normalizetest.CPUTime()
	for i := 0; i < b.N; i++ {
		// Lines numbered on from the last round make each batch new (its
		// hash is its events' IDs), as a live stream's are.
		for j := range recs {
			recs[j] = collect.Record{Source: "syslog:127.0.0.1", Received: now, Raw: loglines.Line(nil, i*len(recs)+j, now, false)}
		}
		var out []events.Record
		for _, ev := range ingest.Events(parser, "tenant-a", collect.EncodeBatch(recs)) {
			out = append(out, events.Record{Event: ev, Observables: parser.Observables(ev)})
		}
		if err := store.Put(b.Context(), out); err != nil {
			b.Fatal(err)
		}
		n += len(out)
	}
	if cpu := normalizetest.CPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/record")
	}
}
