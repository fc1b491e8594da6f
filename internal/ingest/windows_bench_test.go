package ingest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/ingest"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// BenchmarkWindowsIngest is the server's side of an EVTX import (tansa
// ingest sends each record as winevt's JSON rendering): the shared EVTX
// files' records, in bus batches of 500 as the HEC input publishes them,
// go through ingest.Events, normalize.Observables and the event store's
// Put, one op per batch. It reports records per CPU-second of the three
// stages together.
//
//	TANSA_SHARED_DATA=/work/shared/data go test -run '^$' -bench BenchmarkWindowsIngest -cpu 1 ./internal/ingest/
func BenchmarkWindowsIngest(b *testing.B) {
	dir := shareddata.Path(b, "evtx")
	var recs []collect.Record
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return nil
		}
		winevt.ReadEVTXFile(p, winevt.Options{RawJSON: true}, func(ev *tansa.Event) error {
			recs = append(recs, collect.Record{Source: "file:" + filepath.Base(p), Hint: "winevt", Received: time.Now(), Raw: ev.Raw})
			return nil
		})
		return nil
	})
	if len(recs) == 0 {
		b.Fatal("no EVTX records")
	}
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
		// A new received time makes each round's batch new (its hash
		// is its events' IDs): the same batch again would be skipped as
		// a redelivery.
		lo := i * 500 % len(recs)
		batch := recs[lo:min(lo+500, len(recs))]
		for j := range batch {
			batch[j].Received = batch[j].Received.Add(time.Millisecond)
		}
		var out []events.Record
		for _, ev := range ingest.Events(parser, "tenant-a", collect.EncodeBatch(batch)) {
			out = append(out, events.Record{Event: ev, Observables: normalize.Observables(ev)})
		}
		if err := store.Put(b.Context(), out); err != nil {
			b.Fatal(err)
		}
		n += len(out)
	}
	if cpu := normalizetest.CPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "records/cpu-s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/record")
	}
}
