// Package ingest runs the pipeline's workers: they take batches of raw
// records from the bus tenant by tenant, normalise each record into an
// event (stage ②), extract its observables, hand the events to detection,
// store them (with the observable and full-text indexes) and only then
// acknowledge the batch, so a crash at any point loses nothing and a
// redelivered batch is stored once (event IDs derive from the batch).
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Source is where batches wait; the bus implements it.
type Source interface {
	Backlog(ctx context.Context) (map[string]uint64, error)
	Fetch(ctx context.Context, tenant string, max int, wait time.Duration) ([]bus.Msg, error)
}

// Store keeps events; the event store implements it.
type Store interface {
	Put(ctx context.Context, recs []events.Record) error
}

// Detector sees every stored batch of a tenant's events. The detection
// stage plugs in here; nil means no detection.
type Detector interface {
	Detect(ctx context.Context, tenant string, recs []events.Record)
}

// Detectors runs several detection stages (Sigma rules, indicator
// matching) over the same batch, in order.
type Detectors []Detector

// Detect implements Detector.
func (ds Detectors) Detect(ctx context.Context, tenant string, recs []events.Record) {
	for _, d := range ds {
		d.Detect(ctx, tenant, recs)
	}
}

// Options tunes the workers. Zero fields take the defaults in parentheses.
type Options struct {
	Workers  int           // parallel workers (3)
	Messages int           // bus messages taken per fetch (32)
	Idle     time.Duration // how long to wait when no tenant has a backlog (100 ms)
	// MaxBacklog is how many bus messages may wait for a tenant before its
	// inputs hold back (256; each is up to 2 000 records); they resume
	// below half of it. It must exceed Workers × Messages, the messages
	// being stored at once, which the backlog counts too.
	MaxBacklog uint64
}

// Pipeline is the set of ingest workers.
type Pipeline struct {
	src    Source
	store  Store
	detect Detector
	log    *slog.Logger
	opt    Options

	events      *prometheus.CounterVec
	parseErrors *prometheus.CounterVec
	backlog     *prometheus.GaugeVec
	latency     prometheus.Histogram

	mu   sync.Mutex
	busy map[string]bool // tenants whose inputs hold back
}

// Busy reports whether tenant's backlog on the bus has passed
// Options.MaxBacklog (and not yet fallen below half of it); the inputs
// hold back while it does (collect.Pressure).
func (p *Pipeline) Busy(tenant string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy[tenant]
}

// noteBacklog updates Busy from a reading of the backlog.
func (p *Pipeline) noteBacklog(bl map[string]uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t := range p.busy {
		if bl[t] < p.opt.MaxBacklog/2 {
			delete(p.busy, t)
		}
	}
	for t, n := range bl {
		if n > p.opt.MaxBacklog {
			p.busy[t] = true
		}
	}
}

// New returns a pipeline from src to store, counting on reg.
func New(src Source, store Store, detect Detector, log *slog.Logger, reg prometheus.Registerer, opt Options) *Pipeline {
	// Workers parse, extract observables and compress in parallel; the
	// store takes their commits one at a time, so one more worker than two
	// cores keeps both busy while one commits. A fetch of 32 messages (up
	// to 32 000 records) makes blocks of the store's full size.
	if opt.Workers <= 0 {
		opt.Workers = 3
	}
	if opt.Messages <= 0 {
		opt.Messages = 32
	}
	if opt.Idle <= 0 {
		opt.Idle = 100 * time.Millisecond
	}
	if opt.MaxBacklog == 0 {
		opt.MaxBacklog = 256
	}
	opt.MaxBacklog = max(opt.MaxBacklog, uint64(2*opt.Workers*opt.Messages))
	p := &Pipeline{src: src, store: store, detect: detect, log: log, opt: opt, busy: map[string]bool{},
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_events_stored_total", Help: "Events stored, by tenant.",
		}, []string{"tenant"}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_events_parse_errors_total", Help: "Events stored raw because no parser could read them, by tenant.",
		}, []string{"tenant"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tansa_ingest_backlog_batches", Help: "Batches waiting on the bus, by tenant.",
		}, []string{"tenant"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tansa_ingest_batch_seconds", Help: "Time to parse, index and store one fetched set of batches.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	reg.MustRegister(p.events, p.parseErrors, p.backlog, p.latency)
	return p
}

// Run runs the workers until ctx ends.
func (p *Pipeline) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx)
		}()
	}
	wg.Wait()
}

// work is one worker. Each round it reads the backlog and gives every
// tenant with one a single fetch, so a noisy tenant waits its turn like the
// others (map order differs per round and per worker, so workers spread
// over tenants). A round that fetched nothing sleeps: the backlog also
// counts batches another worker is storing, which this one cannot take.
func (p *Pipeline) work(ctx context.Context) {
	parser := normalize.NewParser(time.UTC)
	for ctx.Err() == nil {
		bl, err := p.src.Backlog(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("ingest backlog", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		p.noteBacklog(bl)
		fetched := false
		for tenant, n := range bl {
			p.backlog.WithLabelValues(tenant).Set(float64(n))
			if n == 0 || ctx.Err() != nil {
				continue
			}
			got, err := p.drain(ctx, parser, tenant)
			if err != nil && ctx.Err() == nil {
				p.log.Error("ingest", "tenant", tenant, "err", err)
				sleep(ctx, time.Second) // the batch stays on the bus and comes back
			}
			fetched = fetched || got > 0
		}
		if !fetched {
			sleep(ctx, p.opt.Idle)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// drain takes one fetch of tenant's batches through the pipeline and
// returns how many bus messages it took.
func (p *Pipeline) drain(ctx context.Context, parser *normalize.Parser, tenant string) (int, error) {
	msgs, err := p.src.Fetch(ctx, tenant, p.opt.Messages, 10*time.Millisecond)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	start := time.Now()
	var recs []events.Record
	parseErrors := 0
	for _, m := range msgs {
		for _, ev := range Events(parser, tenant, m.Data) {
			if ev.ParseError != "" {
				parseErrors++
			}
			recs = append(recs, events.Record{Event: ev, Observables: parser.Observables(ev)})
		}
	}
	if err := p.store.Put(ctx, recs); err != nil {
		return 0, err
	}
	if p.detect != nil {
		p.detect.Detect(ctx, tenant, recs)
	}
	if err := bus.AckAll(msgs); err != nil {
		return 0, err // stored already; the redelivery is skipped by ID
	}
	p.events.WithLabelValues(tenant).Add(float64(len(recs)))
	p.parseErrors.WithLabelValues(tenant).Add(float64(parseErrors))
	p.latency.Observe(time.Since(start).Seconds())
	return len(msgs), nil
}

// Events decodes one bus message of tenant into events. A damaged batch
// becomes one raw event holding its bytes, flagged with the reason: it is
// kept, never dropped. Event IDs are the batch's hash and the record's
// position, so the same batch always yields the same IDs.
func Events(parser *normalize.Parser, tenant string, data []byte) []*tansa.Event {
	sum := sha256.Sum256(data)
	prefix := hex.EncodeToString(sum[:12]) + "-"
	recs, err := collect.DecodeBatch(data)
	if err != nil {
		now := time.Now().UTC()
		return []*tansa.Event{{ID: prefix + "0", TenantID: tenant, Time: now, Received: now, Source: "bus", Format: normalize.Raw,
			Raw: data, Fields: map[string]any{}, ParseError: err.Error()}}
	}
	out := make([]*tansa.Event, 0, len(recs))
	id := []byte(prefix) // each ID built here is one allocation, not two
	for i, r := range recs {
		var ev *tansa.Event
		if isWindows(r.Hint) {
			// Parse errors stay on the event (ParseError): kept, not dropped.
			ev, _ = winevt.ParseJSON(r.Raw, winevt.Options{Received: r.Received})
		} else {
			ev = parser.Parse(r.Raw, r.Hint, r.Received)
		}
		ev.ID = string(strconv.AppendInt(id[:len(prefix)], int64(i), 10))
		ev.TenantID = tenant
		ev.Source = r.Source
		if !r.Time.IsZero() {
			ev.Time = r.Time
		}
		if r.Host != "" {
			if _, ok := ev.Fields["host.name"]; !ok {
				ev.Fields["host.name"] = r.Host
			}
		}
		out = append(out, ev)
	}
	return out
}

// isWindows reports whether hint names Windows events in one of the JSON
// layouts winevt reads: Tansa's own hint, Splunk's Windows sourcetypes, or
// the Winlogbeat index a bulk request wrote to.
func isWindows(hint string) bool {
	h := strings.ToLower(hint)
	return h == "winevt" || h == "wineventlog" || h == "xmlwineventlog" || strings.HasPrefix(h, "wineventlog:") ||
		strings.HasPrefix(h, "xmlwineventlog:") || strings.HasPrefix(h, "winlogbeat")
}
