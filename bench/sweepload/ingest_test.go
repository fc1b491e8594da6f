package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// BenchmarkStorePutSweep measures the store's side of ingest: b.N
// generated results (as gen makes them, 50 tenants) written by 8
// concurrent callers of PutSweep into a new SQLite database, so that
// they share transactions as concurrent uploads do. The results are
// built before the timer starts; decrypting and decoding are not in it.
// cpu-ms/op is the process's CPU time (user and system) per result.
//
//	go test -run XXX -bench StorePutSweep -benchtime 2000x -cpu 1 ./bench/sweepload/
func BenchmarkStorePutSweep(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tansa.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	at := time.Now().UTC().Add(-time.Hour)
	sweeps := make([]*fleet.StoredSweep, b.N)
	for i := range sweeps {
		t := i % 50
		sweeps[i] = fleet.Build(synth(1, t, i, 0, at), fmt.Sprintf("t-%02d", t), make([]byte, 16000), at, "token:bench")
	}
	b.ResetTimer()
	cpu0 := normalizetest.CPUTime()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(sweeps) {
					return
				}
				if err := db.PutSweep(ctx, sweeps[i], tansa.AuditEntry{Time: at, Action: "sweep.upload", TenantID: sweeps[i].Sweep.TenantID}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// CPU time beside wall time: the machine is shared.
	b.ReportMetric(float64((normalizetest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkOpenBuild measures the upload's side of ingest before the
// store: decrypting, decompressing and decoding a sealed generated result
// (as gen seals it), validating it and building what the store writes —
// the work each upload does in its own request, outside the writer.
//
//	go test -run XXX -bench OpenBuild -benchtime 300x -cpu 1 ./bench/sweepload/
func BenchmarkOpenBuild(b *testing.B) {
	keys, err := fleet.LoadKeys(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := fleet.New(nil, nil, fleet.Options{Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	rcpt, err := age.ParseX25519Recipient(keys.Recipient())
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour)
	sealed := make([][]byte, 64)
	for i := range sealed {
		doc, err := json.Marshal(synth(1, i%50, i, 0, at))
		if err != nil {
			b.Fatal(err)
		}
		if sealed[i], err = scan.Seal(doc, rcpt); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := normalizetest.CPUTime()
	for i := range b.N {
		s := sealed[i%len(sealed)]
		r, err := svc.Open(s)
		if err != nil {
			b.Fatal(err)
		}
		if err := fleet.Validate(r); err != nil {
			b.Fatal(err)
		}
		fleet.Build(r, "t", s, at, "token:bench")
	}
	b.ReportMetric(float64((normalizetest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
