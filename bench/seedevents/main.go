// Command seedevents fills an event store with N realistic log events
// through the store's batch path, as the ingest workers write them: lines
// from bench/loglines (FortiGate, CEF, sshd) parsed by the real parsers,
// their observables extracted, stored with Put in batches of -batch from
// -workers goroutines (parsing and compressing in parallel, one writer).
// Event times spread over the last -days days; IDs are a batch hash and a
// position, as the ingest workers make them. It prints the rate, the
// process's CPU time per event (getrusage) and the bytes per event on
// disk, and then times searches on the store:
//
//	go run ./bench/seedevents -data /tmp/ev -n 10000000
//	go run ./bench/seedevents -data /tmp/ev -n 0   # searches only
//
// The directory can be served with tansa serve to time the same searches
// through the API (bench/loadgen).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/bench/loglines"
	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seedevents:", err)
		os.Exit(1)
	}
}

func load() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run() error {
	dir := flag.String("data", "", "data directory (events.db inside)")
	n := flag.Int("n", 1000000, "events to add")
	offset := flag.Int("offset", 0, "number of the first line (distinct values across runs)")
	batch := flag.Int("batch", 4000, "events per Put")
	workers := flag.Int("workers", 2, "goroutines parsing and storing")
	days := flag.Int("days", 30, "event times spread over this many days before now")
	tenants := flag.Int("tenants", 3, "tenants the events are spread over")
	runs := flag.Int("runs", 20, "runs of each search")
	prof := flag.String("cpuprofile", "", "write the loading's CPU profile here")
	sprof := flag.String("searchprofile", "", "write the searches' CPU profile here")
	mprof := flag.String("memprofile", "", "write the loading's allocation profile here")
	only := flag.String("only", "", "run only the searches whose name contains this")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *dir == "" {
		return fmt.Errorf("give -data")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	ctx := context.Background()
	path := filepath.Join(*dir, "events.db")
	s, err := sqlite.OpenEvents(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()

	now := time.Now().UTC()
	span := time.Duration(*days) * 24 * time.Hour
	start, c0 := time.Now(), normalizetest.CPUTime()
	batches := make(chan int)
	errc := make(chan error, *workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := normalize.NewParser(time.UTC)
			var line []byte
			for b := range batches {
				lo, hi := *offset+b**batch, *offset+min((b+1)**batch, *n)
				sum := sha256.Sum256([]byte("seedevents-" + strconv.Itoa(lo)))
				prefix := hex.EncodeToString(sum[:12]) + "-"
				recs := make([]events.Record, 0, hi-lo)
				// A batch is received at one moment; its events happened
				// over the day before it.
				at := now.Add(-span + time.Duration(float64(span)*float64(lo-*offset)/float64(max(*n, 1))))
				for k := lo; k < hi; k++ {
					line = loglines.Line(line[:0], k, at, false)
					raw := slices.Clone(line)
					ev := p.Parse(raw, "", at)
					ev.ID = prefix + strconv.Itoa(k-lo)
					ev.TenantID = fmt.Sprintf("00000000-0000-7000-8000-%012d", k%*tenants)
					ev.Source = "syslog-tcp:127.0.0.1"
					recs = append(recs, events.Record{Event: ev, Observables: normalize.Observables(ev)})
				}
				if err := s.Put(ctx, recs); err != nil {
					errc <- err
					return
				}
				mu.Lock()
				before := done
				done += hi - lo
				if done/1000000 != before/1000000 || done == *n {
					el := time.Since(start)
					fmt.Printf("%d stored in %.1f s: %.0f events/s wall, %.1f µs CPU per event | load %s\n",
						done, el.Seconds(), float64(done)/el.Seconds(), float64((normalizetest.CPUTime()-c0).Microseconds())/float64(done), load())
				}
				mu.Unlock()
			}
		}()
	}
	for b := 0; b*(*batch) < *n; b++ {
		select {
		case batches <- b:
		case err := <-errc:
			close(batches)
			return err
		}
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	pprof.StopCPUProfile()
	if *mprof != "" {
		f, err := os.Create(*mprof)
		if err != nil {
			return err
		}
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
		if err != nil {
			return err
		}
	}
	if *n > 0 {
		el := time.Since(start)
		fmt.Printf("added %d events in %.1f s (%.0f/s wall), %.1f CPU-s (%.1f µs per event)\n", *n, el.Seconds(), float64(*n)/el.Seconds(),
			(normalizetest.CPUTime() - c0).Seconds(), float64((normalizetest.CPUTime()-c0).Microseconds())/float64(*n))
	}
	if err := s.Close(); err != nil { // checkpoints the WAL
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if s, err = sqlite.OpenEvents(ctx, path); err != nil {
		return err
	}
	all := access.Scope{All: true}
	_, total, err := s.Search(ctx, events.Query{Scope: all})
	if err != nil {
		return err
	}
	fmt.Printf("events.db %d B for %d events: %.0f B per event | load %s\n", st.Size(), total, float64(st.Size())/float64(max(total, 1)), load())

	if *sprof != "" {
		f, err := os.Create(*sprof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	since := time.Now().Add(-30 * 24 * time.Hour)
	// A page counts up to 10,000 matches, as the API and the console ask
	// (events.Query.CountLimit); the counts (limit=0) are exact, and the
	// frequent word's exact count runs 3 times only.
	page := func(q events.Query) events.Query {
		q.Page, q.CountLimit = access.Page{Limit: 50}, 10_000
		return q
	}
	for _, q := range []struct {
		name string
		q    events.Query
		runs int
	}{
		{"observable 203.0.113.5, 30 days, count", events.Query{Scope: all, Observable: "203.0.113.5", Since: since}, 0},
		{"observable 203.0.113.5, 30 days, page of 50", page(events.Query{Scope: all, Observable: "203.0.113.5", Since: since}), 0},
		{"observable 203.0.113.5, one tenant, page of 50", page(events.Query{Scope: access.Scope{Tenants: []string{"00000000-0000-7000-8000-000000000001"}}, Observable: "203.0.113.5", Since: since}), 0},
		{"text admin123 (rare), page of 50", page(events.Query{Scope: all, Text: "admin123"}), 0},
		{"text deny (frequent), page of 50", page(events.Query{Scope: all, Text: "deny"}), 0},
		{`text "Failed password", page of 50`, page(events.Query{Scope: all, Text: "Failed password"}), 0},
		{"no condition, 30 days, page of 50", page(events.Query{Scope: all, Since: since}), 0},
		{"text admin123 (rare), count", events.Query{Scope: all, Text: "admin123"}, 0},
		{"text deny (frequent), count", events.Query{Scope: all, Text: "deny"}, 3},
	} {
		if !strings.Contains(q.name, *only) {
			continue
		}
		var ds []time.Duration
		hits := 0
		c1 := normalizetest.CPUTime()
		n := *runs
		if q.runs > 0 {
			n = min(n, q.runs)
		}
		for range n {
			t0 := time.Now()
			_, hits, err = s.Search(ctx, q.q)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		p := func(f float64) float64 { return float64(ds[int(f*float64(len(ds)-1))].Microseconds()) / 1000 }
		fmt.Printf("%-50s %8d hits: p50 %8.1f ms, p95 %8.1f ms, %.1f CPU-ms per search | load %s\n", q.name, hits, p(0.5), p(0.95),
			float64((normalizetest.CPUTime()-c1).Microseconds())/1000/float64(n), load())
	}
	return s.Close()
}
