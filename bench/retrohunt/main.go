// Command retrohunt measures a retro-hunt (issue #5) side by side with
// ripgrep: N stored events, K new indicators, Tansa's hunt through the
// observable index (exact tokens) against `rg -F -f indicators.txt` over
// the same events as a raw log file (substrings).
//
// It writes, in -dir: events.db (the event store, filled through its
// batch path, Events.Put, as the ingest workers write it), events.log (the
// same events' raw lines), tansa.db (the intel store) and indicators.txt.
// The events carry observables drawn from pools of addresses, domains and
// hashes; the indicators are -hits values drawn from those pools, -traps
// values that occur in the events only as substrings of longer tokens
// (92.168.1.1 inside 192.168.1.1, ample-cdn.net inside
// example-cdn.net), and random values that occur nowhere.
//
//	go run ./bench/retrohunt -dir /tmp/rh -events 1000000 -indicators 100000
//	go run ./bench/retrohunt -dir /tmp/rh -events 0   # hunt again over a kept store
//
// It prints the load average, wall and CPU time (getrusage) of each step,
// Tansa's hits, ripgrep's matching lines, and how many of ripgrep's lines
// hold no indicator as a whole token (its false positives).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "retrohunt:", err)
		os.Exit(1)
	}
}

func childCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func load() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// step times fn: wall, CPU of this process and of its children.
func step(name string, fn func() error) error {
	w, c, cc := time.Now(), normalizetest.CPUTime(), childCPU()
	fmt.Printf("%s: start, load %s\n", name, load())
	err := fn()
	fmt.Printf("%s: wall %.2f s, cpu %.2f s (children %.2f s), load %s\n", name, time.Since(w).Seconds(),
		(normalizetest.CPUTime() - c).Seconds(), (childCPU() - cc).Seconds(), load())
	return err
}

// pools are the values events draw their observables from.
type pools struct {
	private, public, domains, hashes []string
}

func newPools(r *rand.Rand, n int) pools {
	var p pools
	for range n {
		// 1x.y.z.w and 1xx.y.z.w addresses, so that dropping the first
		// digit leaves another valid address: the substring trap.
		p.public = append(p.public, fmt.Sprintf("1%d.%d.%d.%d", r.IntN(90)+10, r.IntN(256), r.IntN(256), r.IntN(254)+1))
		p.domains = append(p.domains, fmt.Sprintf("%s%d-%s.%s", words[r.IntN(len(words))], r.IntN(1000), words[r.IntN(len(words))], tlds[r.IntN(len(tlds))]))
		h := sha256.Sum256(fmt.Appendf(nil, "file-%d-%d", r.Uint64(), len(p.hashes)))
		p.hashes = append(p.hashes, hex.EncodeToString(h[:]))
	}
	for range 4096 {
		p.private = append(p.private, fmt.Sprintf("192.168.%d.%d", r.IntN(256), r.IntN(254)+1))
	}
	return p
}

var (
	words = []string{"cdn", "mail", "static", "api", "update", "login", "portal", "files", "shop", "news", "cloud", "auth"}
	tlds  = []string{"com", "net", "org", "jp", "io", "xyz", "top"}
)

// event makes the i-th event: a firewall or proxy line with its fields.
func (p *pools) event(r *rand.Rand, tenant string, i, batch int, at time.Time) (*tansa.Event, string) {
	src := p.private[r.IntN(len(p.private))]
	dst := p.public[r.IntN(len(p.public))]
	dom := p.domains[r.IntN(len(p.domains))]
	fields := map[string]any{"source.ip": src, "destination.ip": dst, "event.action": "allow"}
	var line string
	switch i % 4 {
	case 0, 1:
		fields["url.full"] = "http://" + dom + "/index.html"
		line = fmt.Sprintf("%s proxy01 action=allow src=%s dst=%s url=http://%s/index.html", at.Format(time.RFC3339), src, dst, dom)
	case 2:
		fields["dns.question.name"] = dom
		line = fmt.Sprintf("%s dns01 query src=%s server=%s name=%s", at.Format(time.RFC3339), src, dst, dom)
	default:
		h := p.hashes[r.IntN(len(p.hashes))]
		fields["file.hash.sha256"] = h
		line = fmt.Sprintf("%s edr01 file-seen host=%s peer=%s sha256=%s", at.Format(time.RFC3339), src, dst, h)
	}
	// IDs as the ingest workers make them (a batch's prefix, a dash, the
	// position), so that a batch's IDs are neighbours in event_ids.
	ev := &tansa.Event{ID: fmt.Sprintf("rh%07d-%d", i/batch, i%batch), TenantID: tenant, Time: at, Received: at, Source: "retrohunt", Format: "kv",
		Raw: []byte(line), Fields: fields}
	return ev, line
}

func run() error {
	dir := flag.String("dir", "/tmp/retrohunt", "directory for the stores and files")
	nEvents := flag.Int("events", 1000000, "events to store (0: keep the stored ones)")
	nInds := flag.Int("indicators", 100000, "indicators to hunt")
	nHits := flag.Int("hits", 1000, "indicators drawn from the values the events carry")
	nTraps := flag.Int("traps", 1000, "indicators that occur only inside longer tokens")
	poolSize := flag.Int("pool", 200000, "distinct public addresses, domains and hashes")
	days := flag.Int("days", 60, "the events spread over the last days")
	batch := flag.Int("batch", 4096, "events per Put")
	writers := flag.Int("writers", 2, "goroutines generating events and calling Put")
	ripgrep := flag.Bool("rg", true, "run ripgrep over events.log too")
	seedOnly := flag.Bool("seed-only", false, "store the events and stop")
	huntBatch := flag.Int("hunt-batch", 0, "indicators per index lookup of the hunt (0: the service's default)")
	givenKeys := flag.Bool("given-keys", true, "enqueue the hunt with the keys the import listener read (false: the hunt reads them, as a resumed hunt does)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the hunt to `file`")
	flag.Parse()
	ctx := context.Background()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	p := newPools(r, *poolSize)

	db, err := sqlite.Open(ctx, filepath.Join(*dir, "tansa.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	sys := access.Caller{Principal: access.System("retrohunt")}
	acc := access.New(db, access.Options{})
	ts, _, err := acc.Tenants(ctx, sys, access.TenantQuery{Page: access.Page{Limit: 1}})
	if err != nil {
		return err
	}
	var tenant string
	if len(ts) > 0 {
		tenant = ts[0].ID
	} else {
		name := "Retro Hunt Holdings"
		t, err := acc.CreateTenant(ctx, sys, access.TenantInput{Name: &name})
		if err != nil {
			return err
		}
		tenant = t.ID
	}
	evs, err := sqlite.OpenEvents(ctx, filepath.Join(*dir, "events.db"))
	if err != nil {
		return err
	}
	defer evs.Close()

	if *nEvents > 0 {
		err := step(fmt.Sprintf("store %d events (Events.Put, batches of %d, %d writers) and write events.log", *nEvents, *batch, *writers), func() error {
			return seed(ctx, evs, &p, tenant, *dir, *nEvents, *batch, *writers, time.Duration(*days)*24*time.Hour)
		})
		if err != nil {
			return err
		}
	}
	if *seedOnly {
		return nil
	}

	// The indicators: hits, traps and values that occur nowhere.
	var list []string
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			list = append(list, v)
		}
	}
	for i := 0; i < *nHits; i++ {
		switch i % 3 {
		case 0:
			add(p.public[r.IntN(len(p.public))])
		case 1:
			add(p.domains[r.IntN(len(p.domains))])
		default:
			add(p.hashes[r.IntN(len(p.hashes))])
		}
	}
	inPool := map[string]bool{}
	for _, v := range p.public {
		inPool[v] = true
	}
	for i := 0; i < *nTraps; i++ {
		if i%2 == 0 {
			v := p.public[r.IntN(len(p.public))][1:] // 192.168.1.1 → 92.168.1.1
			if !inPool[v] {
				add(v)
			}
		} else {
			d := p.domains[r.IntN(len(p.domains))]
			add(d[2:]) // cdn12-mail.com → n12-mail.com
		}
	}
	for len(list) < *nInds {
		switch len(list) % 3 {
		case 0:
			add(fmt.Sprintf("%d.%d.%d.%d", r.IntN(223)+1, r.IntN(256), r.IntN(256), r.IntN(254)+1))
		case 1:
			add(fmt.Sprintf("c2-%x.%s", r.Uint64(), tlds[r.IntN(len(tlds))]))
		default:
			h := sha256.Sum256(fmt.Appendf(nil, "bad-%d", r.Uint64()))
			add(hex.EncodeToString(h[:]))
		}
	}
	indFile := filepath.Join(*dir, "indicators.txt")
	if err := os.WriteFile(indFile, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		return err
	}

	var at time.Time
	notice := &listener{}
	svc, err := service.New(db, acc, service.Options{Listener: notice})
	if err != nil {
		return err
	}
	err = step(fmt.Sprintf("import %d indicators (list, one transaction)", len(list)), func() error {
		res, err := svc.Import(ctx, sys, []byte(strings.Join(list, "\n")), service.ImportInput{Format: importer.FormatText, TenantID: tenant, Source: "retrohunt"})
		if err != nil {
			return err
		}
		fmt.Printf("  %d items, %d added, %d updated, %d flagged, %d rejected\n", res.Items, res.Added, res.Updated, res.Flagged, res.RejectedCount)
		at = notice.at
		return nil
	})
	if err != nil {
		return err
	}
	// What the server's import listener does after an import, timed
	// apart: the indicators' version, then their IDs and hunt keys.
	var version string
	var keys []service.Record
	err = step("read the imported indicators' keys (the import listener)", func() error {
		var err error
		if version, err = db.IndicatorsVersion(ctx); err != nil {
			return err
		}
		keys, err = db.UpdatedKeys(ctx, tenant, at)
		return err
	})
	if err != nil {
		return err
	}
	// A store written before the filters existed (or one whose latest
	// epochs closed while the benchmark seeded it) gets them built first,
	// once; a hunt on a store that ingests normally finds them built.
	err = step("build the observable filters of closed epochs", func() error {
		n, err := evs.BuildFilters(ctx)
		fmt.Printf("  %d epochs' filters built\n", n)
		return err
	})
	if err != nil {
		return err
	}
	alerts := &counter{}
	hunts := retro.New(db, db, svc, evs, alerts, db, retro.Options{Batch: *huntBatch})
	var job retro.Job
	err = step(fmt.Sprintf("retro-hunt of %d indicators over the stored events (90 days)", len(keys)), func() error {
		if !*givenKeys {
			version = "" // no keys kept: the hunt reads them
		}
		jobs, err := hunts.EnqueueKeys(ctx, tenant, retro.OriginImport, "bench", "bench", version, keys)
		if err != nil {
			return err
		}
		if *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		hunts.RunOne(ctx)
		job, err = db.Hunt(ctx, jobs[0].ID)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("  tansa: status %s %s, %d indicators hunted, %d mentions found, %d alerts raised\n", job.Status, job.Error, job.Done, job.Hits, alerts.n)

	if !*ripgrep {
		return nil
	}
	var rgOut []byte
	err = step("rg -F -f indicators.txt events.log", func() error {
		cmd := exec.Command("rg", "-F", "-f", indFile, filepath.Join(*dir, "events.log"))
		var err error
		rgOut, err = cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return nil // no match
		}
		return err
	})
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(string(rgOut), "\n"), "\n")
	if len(rgOut) == 0 {
		lines = nil
	}
	fp, sample := 0, ""
	for _, l := range lines {
		exact := false
		for _, tok := range strings.FieldsFunc(l, func(c rune) bool { return c == ' ' || c == '=' || c == '/' }) {
			if seen[tok] {
				exact = true
				break
			}
		}
		if !exact {
			fp++
			if sample == "" {
				sample = l
			}
		}
	}
	fmt.Printf("  ripgrep: %d matching lines, %d of them hold no indicator as a whole token (substring false positives)\n", len(lines), fp)
	if sample != "" {
		fmt.Printf("  e.g. %s\n", sample)
	}
	st, _ := os.Stat(filepath.Join(*dir, "events.log"))
	if st != nil {
		fmt.Printf("  events.log: %.1f MB\n", float64(st.Size())/1e6)
	}
	return nil
}

// seed stores n events through writers goroutines, each generating its
// share of the batches with its own random source and calling Put, and
// writes their raw lines to events.log.
func seed(ctx context.Context, evs *sqlite.Events, p *pools, tenant, dir string, n, batch, writers int, span time.Duration) error {
	f, err := os.Create(filepath.Join(dir, "events.log"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var mu sync.Mutex
	now := time.Now().UTC()
	batches := (n + batch - 1) / batch
	next := make(chan int)
	errs := make(chan error, writers)
	var done atomic.Int64
	for k := range writers {
		go func() {
			r := rand.New(rand.NewPCG(uint64(k)+7, 11))
			var lines []byte
			recs := make([]events.Record, 0, batch)
			for b := range next {
				recs, lines = recs[:0], lines[:0]
				for i := b * batch; i < min((b+1)*batch, n); i++ {
					at := now.Add(-span + time.Duration(int64(span)/int64(n)*int64(i)))
					ev, line := p.event(r, tenant, i, batch, at)
					lines = append(append(lines, line...), '\n')
					recs = append(recs, events.Record{Event: ev, Observables: normalize.Observables(ev)})
				}
				if err := evs.Put(ctx, recs); err != nil {
					errs <- err
					for range next {
					}
					return
				}
				mu.Lock()
				_, err := w.Write(lines)
				mu.Unlock()
				if err != nil {
					errs <- err
					for range next {
					}
					return
				}
				if d := done.Add(int64(len(recs))); d/500000 != (d-int64(len(recs)))/500000 {
					fmt.Printf("  %d events, load %s\n", d, load())
				}
			}
			errs <- nil
		}()
	}
	for b := range batches {
		next <- b
	}
	close(next)
	for range writers {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

type listener struct{ at time.Time }

func (l *listener) Imported(_ context.Context, n service.ImportNotice) { l.at = n.At }

type counter struct{ n int }

func (c *counter) Raise(_ context.Context, as []tansa.Alert) error {
	c.n += len(as)
	return nil
}
