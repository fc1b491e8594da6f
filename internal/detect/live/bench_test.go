//go:build unix

package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/detect/live"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestDetect measures what live detection adds to the ingest
// path. Both sub-benchmarks run the same work per event that an ingest
// worker does after decoding — extract observables and store the batch
// in a real SQLite event store — and "detect" also runs every SigmaHQ
// Windows rule through the live detector (ingest+detect-all: every level
// and status enabled; ingest+detect-default: the default policy), raising the matches into a real alert service. The events are
// the attack samples of shared/data/evtx. cpu-ns/event is the process's
// user+system CPU time per event (getrusage), which on a loaded machine is
// steadier than wall time.
//
//	TANSA_SHARED_DATA=/work/shared/data go test -run '^$' -bench IngestDetect -cpu 1 -benchtime 3x ./internal/detect/live/
func BenchmarkIngestDetect(b *testing.B) {
	evtxDir := shareddata.Path(b, "evtx")
	rulesDir := shareddata.Path(b, "sigma/rules/windows")
	var evs []*tansa.Event
	_ = filepath.WalkDir(evtxDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".evtx") || len(evs) >= 40000 {
			return nil
		}
		_, _ = winevt.ReadEVTXFile(p, winevt.Options{}, func(ev *tansa.Event) error {
			if ev.ParseError == "" {
				evs = append(evs, ev)
			}
			return nil
		})
		return nil
	})
	if len(evs) < 1000 {
		b.Fatalf("only %d events under %s", len(evs), evtxDir)
	}
	var files []ruleset.File
	_ = filepath.WalkDir(rulesDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
			body, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(rulesDir, p)
			files = append(files, ruleset.File{Path: rel, Body: body})
		}
		return nil
	})
	for _, mode := range []string{"ingest", "ingest+detect-all", "ingest+detect-default"} {
		detect := mode != "ingest"
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			db, err := sqlite.Open(ctx, filepath.Join(dir, "tansa.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			store, err := sqlite.OpenEvents(ctx, filepath.Join(dir, "events.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			acc := access.New(db, access.Options{})
			sys := access.Caller{Principal: access.System("bench")}
			tn := "Bench"
			t, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &tn})
			if err != nil {
				b.Fatal(err)
			}
			alerts := alert.New(db, acc, acc, nil, alert.Options{})
			rules := ruleset.New(db, acc)
			var d *live.Detector
			if detect {
				var tgz strings.Builder
				if err := ruleset.Pack(&tgz, files); err != nil {
					b.Fatal(err)
				}
				v, err := rules.Import(ctx, sys, []byte(tgz.String()), ruleset.ImportInput{Set: "sigmahq"})
				if err != nil {
					b.Fatal(err)
				}
				// "all" enables every rule whatever its level and status;
				// "default" keeps the default policy (stable and test,
				// level medium and above).
				if mode == "ingest+detect-all" {
					st := ruleset.DefaultSettings(t.ID)
					st.MinLevel, st.Statuses = "informational", ruleset.Statuses
					if _, err := rules.PutSettings(ctx, sys, st); err != nil {
						b.Fatal(err)
					}
				}
				d = live.New(rules, alerts, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, live.Options{})
				d.Detect(ctx, t.ID, nil) // compile outside the measurement
				b.Logf("%d SigmaHQ Windows rules in %d files (%d rejected)", v.Rules, v.Result.Files, v.Result.RejectedCount)
			}
			b.ResetTimer()
			cpu0, n := cpuTime(), 0
			for i := range b.N {
				for lo := 0; lo < len(evs); lo += 500 {
					hi := min(lo+500, len(evs))
					recs := make([]events.Record, 0, hi-lo)
					for j, ev := range evs[lo:hi] {
						e := *ev
						e.ID, e.TenantID = fmt.Sprintf("b%d-%d-%d", i, lo, j), t.ID
						recs = append(recs, events.Record{Event: &e, Observables: normalize.Observables(&e)})
					}
					if err := store.Put(ctx, recs); err != nil {
						b.Fatal(err)
					}
					if d != nil {
						d.Detect(ctx, t.ID, recs)
					}
					n += len(recs)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/event")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			if detect {
				_, total, _ := alerts.List(ctx, sys, alert.Query{})
				b.Logf("%d events, %d alerts", n, total)
			}
		})
	}
}
