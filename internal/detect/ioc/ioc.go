// Package ioc is live indicator matching, a stage of detection (③): every
// batch of stored events is matched against the indicators in a
// match.Snapshot — the global ones and each tenant's own, never an
// allowlisted or revoked value, never global TLP:RED intelligence, which a
// tenant may not see — and every hit raises an alert of kind "ioc" that
// carries the indicator's context, and records a sighting of it.
//
// Indicators enter through Reload, which reads every matchable indicator
// from the store, builds a new snapshot and swaps it in atomically; Run
// reloads when Changed is called (after an import) and when the store's
// version moves (another node imported), so matching never waits for a
// rebuild. Alerts leave through the Alerts interface.
package ioc

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/match"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Source is where the indicators come from; the intel store implements
// it.
type Source interface {
	// MatchableIndicators calls fn with every indicator that is neither
	// revoked nor allowlisted, Indicator.ID set to the store's ID.
	MatchableIndicators(ctx context.Context, fn func(r service.Record) error) error
	// IndicatorsVersion changes whenever indicators change.
	IndicatorsVersion(ctx context.Context) (string, error)
	IndicatorsByID(ctx context.Context, ids []string) ([]service.Record, error)
	AddSightings(ctx context.Context, s []service.NewSighting) error
}

// Alerts receives the alerts live matching raises; internal/alert's
// Service implements it.
type Alerts interface {
	Raise(ctx context.Context, alerts []tansa.Alert) error
}

// Options tunes the detector. Zero fields take the defaults in parentheses.
type Options struct {
	// Allowlist is checked again at every reload, so a value allowlisted
	// after its import never alerts (nil: only the import's flag counts).
	Allowlist *intel.Allowlist
	Poll      time.Duration    // how often Run checks the store's version (30 s)
	Now       func() time.Time // (time.Now)
	Logger    *slog.Logger     // (discard)
}

// Detector matches stored batches against the current snapshot. It is
// safe for concurrent use: several ingest workers call Detect at once.
type Detector struct {
	src     Source
	alerts  Alerts
	opt     Options
	m       match.Matcher
	changed chan struct{}

	mu      sync.Mutex
	version string
	full    map[string]service.Record // indicators resolved for alerts, by store ID; reset on reload
}

// New returns a detector with an empty snapshot; call Reload or Run.
func New(src Source, alerts Alerts, opt Options) *Detector {
	if opt.Poll <= 0 {
		opt.Poll = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Detector{src: src, alerts: alerts, opt: opt, changed: make(chan struct{}, 1), full: map[string]service.Record{}}
}

// Changed asks Run to reload soon; it never blocks.
func (d *Detector) Changed() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// Snapshot returns the snapshot in use.
func (d *Detector) Snapshot() *match.Snapshot { return d.m.Load() }

// Reload builds a snapshot from the store's indicators and swaps it in.
func (d *Detector) Reload(ctx context.Context) (match.BuildStats, error) {
	v, err := d.src.IndicatorsVersion(ctx)
	if err != nil {
		return match.BuildStats{}, err
	}
	var inds []intel.Indicator
	err = d.src.MatchableIndicators(ctx, func(r service.Record) error {
		if r.Indicator.TenantID == "" && r.Indicator.TLP == intel.TLPRed {
			return nil // see the package comment
		}
		if a := d.opt.Allowlist; a != nil && r.Indicator.Type != intel.TypeSTIXPattern {
			if _, hit := a.Check(r.Indicator.Type, r.Indicator.Value); hit {
				return nil
			}
		}
		r.Indicator.Sightings, r.Indicator.Relations = nil, nil
		inds = append(inds, r.Indicator)
		return nil
	})
	if err != nil {
		return match.BuildStats{}, err
	}
	snap, st := match.Build(inds, d.opt.Now())
	d.m.Store(snap)
	d.mu.Lock()
	d.version = v
	d.full = map[string]service.Record{}
	d.mu.Unlock()
	return st, nil
}

// Run reloads at once, then whenever Changed is called or the store's
// version moves, until ctx ends. Decay and expiry are applied at each
// reload, so Run also reloads hourly.
func (d *Detector) Run(ctx context.Context) {
	reload := func() {
		start := time.Now()
		st, err := d.Reload(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.opt.Logger.Warn("indicator matching: reload", "err", err)
			}
			return
		}
		d.opt.Logger.Info("indicator matching: snapshot", "indexed", st.Indexed, "skipped", st.Skipped, "took", time.Since(start).Round(time.Millisecond))
	}
	reload()
	poll := time.NewTicker(d.opt.Poll)
	defer poll.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.changed:
			reload()
			last = time.Now()
		case <-poll.C:
			v, err := d.src.IndicatorsVersion(ctx)
			d.mu.Lock()
			moved := err == nil && v != d.version
			d.mu.Unlock()
			if moved || time.Since(last) > time.Hour {
				reload()
				last = time.Now()
			}
		}
	}
}

// fieldKinds are the event fields, beyond the observable index, that the
// matcher reads: kinds the index has no type for.
var fieldKinds = map[string]match.Kind{
	"user_agent.original": match.KindUserAgent,
	"tls.client.ja3":      match.KindJA3,
	"tls.client.ja4":      match.KindJA4,
	"registry.key":        match.KindRegistryKey,
	"registry.path":       match.KindRegistryKey,
	"file.name":           match.KindFilename,
	"file.path":           match.KindFilename,
}

// kindOf maps an observable's type to the matcher's kind.
func kindOf(t normalize.ObservableType) (match.Kind, bool) {
	switch t {
	case normalize.IP:
		return match.KindIP, true
	case normalize.Domain, normalize.Host:
		return match.KindDomain, true
	case normalize.URL:
		return match.KindURL, true
	case normalize.MD5, normalize.SHA1, normalize.SHA256:
		return match.KindHash, true
	case normalize.Email:
		return match.KindEmail, true
	case normalize.Process:
		return match.KindFilename, true
	}
	return 0, false
}

// agg is what one batch found of one indicator.
type agg struct {
	hit intel.Hit
}

// Detect implements ingest.Detector: it matches every event of the batch
// and raises one alert per indicator found, with the batch's events that
// mentioned it.
func (d *Detector) Detect(ctx context.Context, tenant string, recs []events.Record) {
	snap := d.m.Load()
	if snap.Len() == 0 {
		return
	}
	var obs []match.Observable
	var hits []match.Hit
	found := map[string]*agg{}
	var order []string
	for _, rec := range recs {
		ev := rec.Event
		obs = obs[:0]
		for _, o := range rec.Observables {
			if k, ok := kindOf(o.Type); ok {
				obs = append(obs, match.Observable{Kind: k, Value: o.Value})
			}
		}
		for f, k := range fieldKinds {
			if v, ok := ev.Fields[f].(string); ok && v != "" {
				obs = append(obs, match.Observable{Kind: k, Value: v})
			}
		}
		hits = snap.MatchAll(hits[:0], tenant, obs)
		for _, h := range hits {
			a := found[h.Entry.ID]
			if a == nil {
				a = &agg{hit: intel.Hit{Kind: tansa.AlertIOC, TenantID: tenant, RecordID: h.Entry.ID, Observed: h.Observable.Value,
					Field: fieldOf(ev, h.Observable.Value), Host: str(ev.Fields["host.name"]), User: str(ev.Fields["user.name"]),
					First: ev.Time, Last: ev.Time}}
				found[h.Entry.ID] = a
				order = append(order, h.Entry.ID)
			}
			if n := len(a.hit.EventIDs); n == 0 || a.hit.EventIDs[n-1] != ev.ID {
				a.hit.Count++
				a.hit.EventIDs = append(a.hit.EventIDs, ev.ID)
			}
			if ev.Time.Before(a.hit.First) {
				a.hit.First = ev.Time
			}
			if ev.Time.After(a.hit.Last) {
				a.hit.Last = ev.Time
			}
		}
	}
	if len(order) == 0 {
		return
	}
	full, err := d.resolve(ctx, order)
	if err != nil {
		d.opt.Logger.Warn("indicator matching: resolve hits", "tenant", tenant, "err", err)
		return
	}
	var alerts []tansa.Alert
	var sightings []service.NewSighting
	for _, id := range order {
		a := found[id]
		r, ok := full[id]
		if !ok {
			continue // deleted since the snapshot was built
		}
		ind := r.Indicator
		a.hit.Indicator = &ind
		alerts = append(alerts, a.hit.Alert())
		where := a.hit.Host
		if where == "" {
			where = "events"
		}
		sightings = append(sightings, service.NewSighting{IndicatorID: id, Sighting: intel.Sighting{TenantID: tenant,
			Where: where, When: a.hit.Last, Count: a.hit.Count, Ref: a.hit.EventIDs[0]}})
	}
	if err := d.src.AddSightings(ctx, sightings); err != nil {
		d.opt.Logger.Warn("indicator matching: sightings", "tenant", tenant, "err", err)
	}
	if d.alerts != nil {
		if err := d.alerts.Raise(ctx, alerts); err != nil {
			d.opt.Logger.Warn("indicator matching: raise alerts", "tenant", tenant, "alerts", len(alerts), "err", err)
		}
	}
}

// resolve returns the full indicators of ids, from the cache or the store.
func (d *Detector) resolve(ctx context.Context, ids []string) (map[string]service.Record, error) {
	out := make(map[string]service.Record, len(ids))
	var missing []string
	d.mu.Lock()
	for _, id := range ids {
		if r, ok := d.full[id]; ok {
			out[id] = r
		} else {
			missing = append(missing, id)
		}
	}
	d.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	recs, err := d.src.IndicatorsByID(ctx, missing)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range recs {
		r.Indicator.Sightings = nil
		out[r.ID] = r
		if len(d.full) < 10000 {
			d.full[r.ID] = r
		}
	}
	return out, nil
}

// fieldOf names the first field of ev holding v, for the alert's context.
func fieldOf(ev *tansa.Event, v string) string {
	best := ""
	for k, f := range ev.Fields {
		if s, ok := f.(string); ok && strings.EqualFold(s, v) && (best == "" || k < best) {
			best = k
		}
	}
	return best
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
