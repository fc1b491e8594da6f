package retro

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Options tunes the service. Zero fields take the defaults in parentheses.
type Options struct {
	// Sweeps finds mentions in stored endpoint sweep results; nil until
	// the sweep store exists, and then hunts search events alone.
	Sweeps Index
	// Batch is how many indicators one index lookup asks for (20,000):
	// a lookup costs a filter probe per value and epoch and one read of
	// each block holding a hit, so fewer, larger lookups read less.
	Batch int
	// MaxPerValue bounds the mentions taken per value (1000): a value
	// seen a million times is one alert either way.
	MaxPerValue int
	Now         func() time.Time // (time.Now)
	Logger      *slog.Logger     // (discard)
}

// Service starts, runs and shows retro-hunts. It is safe for concurrent
// use.
type Service struct {
	store   Store
	inds    Indicators
	finder  Finder
	events  Index
	alerts  Alerts
	tenants Tenants
	opt     Options
	wake    chan struct{}

	mu      sync.Mutex
	memo    map[string]keyMemo // by job ID: keys given at enqueue, until the job runs
	memoSeq uint64             // the seq of the latest memo
}

// keyMemo is the keys of a queued job's indicators, in the job's order,
// as read at version.
type keyMemo struct {
	version string
	recs    []service.Record
	seq     uint64 // the order memos were kept in; the oldest goes first
}

// maxMemos bounds the queued jobs whose keys are kept. A memo is
// forgotten when its job runs here, but a job another server claims never
// does, so beyond the bound the oldest memo is dropped (its job, should it
// run here after all, reads its keys) rather than refusing new ones.
const maxMemos = 64

// New returns the service. events is the event store's observable index.
func New(store Store, inds Indicators, finder Finder, events Index, alerts Alerts, tenants Tenants, opt Options) *Service {
	if opt.Batch <= 0 {
		opt.Batch = 20000
	}
	if opt.MaxPerValue <= 0 {
		opt.MaxPerValue = 1000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, inds: inds, finder: finder, events: events, alerts: alerts, tenants: tenants, opt: opt,
		wake: make(chan struct{}, 1), memo: map[string]keyMemo{}}
}

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// Enqueue starts hunts for indicators that arrived: for a tenant's own
// indicators one hunt over that tenant, for global ones (tenant "") one
// hunt per tenant. It returns the jobs it queued.
func (s *Service) Enqueue(ctx context.Context, tenant string, origin Origin, ref, actor string, ids []string) ([]Job, error) {
	return s.enqueue(ctx, tenant, origin, ref, actor, ids, "", nil)
}

// enqueue is Enqueue keeping recs, read at version, as each job's keys
// when version is not "". They are kept before the jobs are stored: from
// then on a runner may claim a job, and must find its keys.
func (s *Service) enqueue(ctx context.Context, tenant string, origin Origin, ref, actor string, ids []string, version string, recs []service.Record) ([]Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	targets := []string{tenant}
	if tenant == "" {
		var err error
		if targets, err = s.tenants.TenantIDs(ctx); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
	}
	now := s.now()
	var jobs []Job
	for _, t := range targets {
		days, err := s.days(ctx, t)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, Job{ID: uuid.Must(uuid.NewV7()).String(), TenantID: t, Origin: origin, Ref: ref, Actor: actor,
			Indicators: slices.Clone(ids), Days: days, Status: StatusQueued, Total: len(ids), Created: now})
	}
	if version != "" {
		s.keepMemos(jobs, keyMemo{version: version, recs: recs})
	}
	if err := s.store.CreateHunts(ctx, jobs); err != nil {
		s.mu.Lock()
		for _, j := range jobs {
			delete(s.memo, j.ID)
		}
		s.mu.Unlock()
		return nil, err
	}
	s.signal()
	return jobs, nil
}

// keepMemos keeps m as the keys of each of jobs, dropping the oldest
// memos beyond maxMemos.
func (s *Service) keepMemos(jobs []Job, m keyMemo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range jobs {
		for len(s.memo) >= maxMemos {
			oldest, seq := "", uint64(0)
			for id, o := range s.memo {
				if oldest == "" || o.seq < seq {
					oldest, seq = id, o.seq
				}
			}
			delete(s.memo, oldest)
		}
		s.memoSeq++
		m.seq = s.memoSeq
		s.memo[j.ID] = m
	}
}

// EnqueueKeys is Enqueue for indicators whose hunt keys the caller read
// (as HuntKeys returns them) after version was current: when no indicator
// has changed by the time a job runs (the version is the same), the job
// hunts with these keys instead of reading the indicators again — a fifth
// of a 100,000-indicator hunt's CPU. The keys live in memory only: a job
// resumed after a restart reads them.
func (s *Service) EnqueueKeys(ctx context.Context, tenant string, origin Origin, ref, actor, version string, recs []service.Record) ([]Job, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return s.enqueue(ctx, tenant, origin, ref, actor, ids, version, recs)
}

// takeMemo returns, and forgets, the keys given for j when they are still
// current; nil when the job must read them.
func (s *Service) takeMemo(ctx context.Context, j *Job) []service.Record {
	s.mu.Lock()
	m, ok := s.memo[j.ID]
	delete(s.memo, j.ID)
	s.mu.Unlock()
	if !ok || len(m.recs) != len(j.Indicators) {
		return nil
	}
	for i, id := range j.Indicators {
		if m.recs[i].ID != id {
			return nil
		}
	}
	if v, err := s.inds.IndicatorsVersion(ctx); err != nil || v != m.version {
		return nil // changed since (revoked, allowlisted…): read them again
	}
	return m.recs
}

func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) days(ctx context.Context, tenant string) (int, error) {
	d, err := s.store.RetroDays(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		d = DefaultDays
	}
	return d, nil
}

// Run works through queued hunts until ctx ends, one at a time: a hunt is
// one long read of the index, and two at once would only share the disk.
func (s *Service) Run(ctx context.Context) {
	if n, err := s.store.RequeueRunning(ctx); err != nil {
		s.opt.Logger.Warn("retro-hunt: requeue", "err", err)
	} else if n > 0 {
		s.opt.Logger.Info("retro-hunt: resumed hunts left running", "count", n)
	}
	for {
		for s.RunOne(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(10 * time.Second):
		}
	}
}

// RunOne runs the oldest queued hunt and reports whether there was one.
func (s *Service) RunOne(ctx context.Context) bool {
	j, ok, err := s.store.ClaimHunt(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.opt.Logger.Warn("retro-hunt: claim", "err", err)
		}
		return false
	}
	if !ok {
		return false
	}
	if err := s.run(ctx, &j); err != nil {
		if ctx.Err() != nil {
			return false // left running; requeued at the next start
		}
		j.Status, j.Error = StatusFailed, err.Error()
		s.opt.Logger.Warn("retro-hunt failed", "hunt", j.ID, "tenant", j.TenantID, "err", err)
	} else {
		j.Status = StatusDone
	}
	j.Finished = s.now()
	if err := s.store.UpdateHunt(context.WithoutCancel(ctx), j); err != nil {
		s.opt.Logger.Warn("retro-hunt: store result", "hunt", j.ID, "err", err)
	}
	return true
}

// target is one hunted indicator with the keys it is looked up by.
type target struct {
	rec    service.Record
	prefix netip.Prefix // for CIDRs
}

// found is what a hunt found of one indicator.
type found struct {
	t        *target
	source   string
	mentions []Mention // newest first once counted
	stored   int       // how many of mentions are stored as hits
}

// progressEvery is how often a running hunt stores its progress. The
// job's row holds its indicator list, which SQLite rewrites whole on every
// update: storing it after each batch of a 100,000-indicator hunt wrote
// the 4 MB list 200 times and cost a quarter of the hunt's CPU.
const progressEvery = time.Second

// run hunts j's indicators in batches, storing progress at most every
// progressEvery (the finished job is stored by the caller).
func (s *Service) run(ctx context.Context, j *Job) error {
	since := s.now().AddDate(0, 0, -j.Days)
	j.Done, j.Hits = 0, 0
	saved := time.Now()
	// The next batch's keys are read while this one is looked up: they
	// come from the main database and the lookup reads the event store,
	// so on two cores the one costs no wall time beside the other.
	kctx, cancel := context.WithCancel(ctx)
	keys := s.prefetchKeys(kctx, j.Indicators, s.takeMemo(ctx, j))
	defer func() {
		cancel()
		for range keys { // wait for the reader to stop
		}
	}()
	// Each batch's findings are stored by a goroutine of their own while
	// the next batches are looked up: storing a batch full of hits (its
	// records, hits, sightings and alerts, all in the main database) took
	// as long as looking up the rest, and on two cores the one costs no
	// wall time beside the other. One batch is stored at a time, in
	// order; the first error stops the hunt.
	stores := make(chan []found, 1)
	stored := make(chan error, 1)
	go func() {
		for fs := range stores {
			if err := s.store1(ctx, j.ID, j.TenantID, fs); err != nil {
				stored <- err
				for range stores { // until the hunt stops sending
				}
				return
			}
		}
		stored <- nil
	}()
	storing := true
	finish := func() error {
		if !storing {
			return nil
		}
		storing = false
		close(stores)
		return <-stored
	}
	defer finish()
	// failed stops the hunt once storing a batch has failed: the
	// goroutine then only drains what is sent, so the hunt must look
	// before each batch, not only when it has findings to send.
	failed := func(err error) error {
		storing = false
		close(stores)
		return err
	}
	for kb := range keys {
		select {
		case err := <-stored:
			return failed(err)
		default:
		}
		if kb.err != nil {
			return fmt.Errorf("load indicators: %w", kb.err)
		}
		ids, recs := kb.ids, kb.recs
		var targets []*target
		for _, r := range recs {
			if !r.Indicator.Matchable(j.TenantID) || !huntable(r.Indicator.Type) {
				continue
			}
			t := &target{rec: r}
			if r.Indicator.Type == intel.TypeCIDR {
				p, err := netip.ParsePrefix(r.Indicator.Value)
				if err != nil || p.Bits() < 8 && p.Addr().Is4() || p.Bits() < 16 && p.Addr().Is6() {
					continue // too wide to hunt by index: it would read the whole store
				}
				t.prefix = p.Masked()
			}
			targets = append(targets, t)
		}
		var founds []found
		for _, src := range []struct {
			name string
			idx  Index
		}{{"events", s.events}, {"sweeps", s.opt.Sweeps}} {
			if src.idx == nil {
				continue
			}
			f, err := s.lookup(ctx, src.idx, src.name, j.TenantID, since, targets)
			if err != nil {
				return fmt.Errorf("search %s: %w", src.name, err)
			}
			founds = append(founds, f...)
		}
		if len(founds) > 0 {
			s.count(j, founds)
			select {
			case stores <- founds:
			case err := <-stored: // the store failed and stopped
				return failed(err)
			}
		}
		j.Done += len(ids)
		if time.Since(saved) < progressEvery {
			continue
		}
		saved = time.Now()
		if err := s.store.UpdateHunt(ctx, *j); err != nil {
			return fmt.Errorf("store progress: %w", err)
		}
	}
	if err := finish(); err != nil {
		return err
	}
	// The reader stops early only when ctx ends: the hunt is then left
	// running, to be resumed, not stored as done.
	return ctx.Err()
}

// keyBatch is one batch of a hunt's indicators with their keys.
type keyBatch struct {
	ids  []string
	recs []service.Record
	err  error
}

// prefetchKeys reads the keys of ids a batch at a time, one batch ahead
// of the reader, and closes the channel after the last batch, the first
// error or when ctx ends; memo, when not nil, holds them already, in ids'
// order. The keys alone: decoding 100,000 stored records cost more than
// the whole index lookup; only those found are read whole.
func (s *Service) prefetchKeys(ctx context.Context, ids []string, memo []service.Record) <-chan keyBatch {
	chunk := max(s.opt.Batch, 1)
	out := make(chan keyBatch, 1)
	go func() {
		defer close(out)
		for start := 0; start < len(ids); start += chunk {
			end := min(start+chunk, len(ids))
			part := ids[start:end]
			var recs []service.Record
			var err error
			if memo != nil {
				recs = memo[start:end]
			} else {
				recs, err = s.inds.HuntKeys(ctx, part)
			}
			select {
			case out <- keyBatch{ids: part, recs: recs, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// complete replaces the keys of the indicators found by their whole
// records, whose context their alerts carry; one found but deleted
// meanwhile keeps its keys.
func (s *Service) complete(ctx context.Context, founds []found) error {
	if len(founds) == 0 {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, f := range founds {
		if !seen[f.t.rec.ID] {
			seen[f.t.rec.ID] = true
			ids = append(ids, f.t.rec.ID)
		}
	}
	recs, err := s.inds.IndicatorsByID(ctx, ids)
	if err != nil {
		return fmt.Errorf("load indicators found: %w", err)
	}
	byID := make(map[string]service.Record, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	for _, f := range founds {
		if r, ok := byID[f.t.rec.ID]; ok {
			f.t.rec = r
		}
	}
	return nil
}

// lookup asks one index for the targets' values and groups the answers by
// target.
func (s *Service) lookup(ctx context.Context, idx Index, source, tenant string, since time.Time, targets []*target) ([]found, error) {
	byValue := map[string][]*target{}
	var cidrs []*target
	l := Lookup{Since: since, Max: s.opt.MaxPerValue}
	seenPrefix := map[string]bool{}
	for _, t := range targets {
		if t.prefix.IsValid() {
			cidrs = append(cidrs, t)
			if p := stringPrefix(t.prefix); !seenPrefix[p] {
				seenPrefix[p] = true
				l.Prefixes = append(l.Prefixes, p)
			}
			continue
		}
		for _, v := range lookupValues(&t.rec.Indicator) {
			if byValue[v] == nil {
				l.Values = append(l.Values, v)
			}
			byValue[v] = append(byValue[v], t)
		}
	}
	if len(l.Values) == 0 && len(l.Prefixes) == 0 {
		return nil, nil
	}
	ms, err := idx.Mentions(ctx, tenant, l)
	if err != nil {
		return nil, err
	}
	got := map[*target][]Mention{}
	var order []*target
	add := func(t *target, m Mention) {
		if got[t] == nil {
			order = append(order, t)
		}
		got[t] = append(got[t], m)
	}
	for _, m := range ms {
		for _, t := range byValue[m.Value] {
			add(t, m)
		}
		if len(cidrs) > 0 {
			if a, err := netip.ParseAddr(m.Value); err == nil {
				for _, t := range cidrs {
					if t.prefix.Contains(a.Unmap()) {
						add(t, m)
					}
				}
			}
		}
	}
	out := make([]found, 0, len(order))
	for _, t := range order {
		out = append(out, found{t: t, source: source, mentions: got[t]})
	}
	return out, nil
}

// lookupValues returns the observable-index values ind is looked up by:
// its normalised value, and for a URL also the form the event normaliser
// stores (scheme and host lower case, the rest as written).
func lookupValues(ind *intel.Indicator) []string {
	v := []string{ind.Value}
	if ind.Type == intel.TypeURL {
		if raw := strings.TrimSuffix(ind.Value, "/"); raw != ind.Value {
			v = append(v, raw)
		}
	}
	return v
}

// stringPrefix returns the textual prefix every address in p starts with,
// whole octets (IPv4) or groups (IPv6) only, so an index on the text finds
// p's addresses by a range scan: 10.1.2.0/23 → "10.1.".
func stringPrefix(p netip.Prefix) string {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		var parts []string
		for i := 0; i < p.Bits()/8; i++ {
			parts = append(parts, fmt.Sprint(b[i]))
		}
		return strings.Join(parts, ".") + "."
	}
	// IPv6 text is compressed, so only a prefix of whole, non-zero leading
	// groups is a textual prefix; below that the hunt reads a wider range.
	b := a.As16()
	var parts []string
	for i := 0; i < p.Bits()/16; i++ {
		g := uint16(b[2*i])<<8 | uint16(b[2*i+1])
		if g == 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%x", g))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ":") + ":"
}

// count adds the mentions of one batch to j's hits and keeps in each
// found, newest first, those stored as hits: MaxStoredHits per job.
func (s *Service) count(j *Job, founds []found) {
	for i := range founds {
		f := &founds[i]
		slices.SortFunc(f.mentions, func(a, b Mention) int { return b.Time.Compare(a.Time) })
		room := MaxStoredHits - min(j.Hits, MaxStoredHits)
		f.stored = min(room, len(f.mentions))
		j.Hits += len(f.mentions)
	}
}

// store1 stores the findings of one batch of hunt (of tenant): their
// hits, one sighting per indicator and source, and one alert per
// indicator, with the indicators' whole records.
func (s *Service) store1(ctx context.Context, hunt, tenant string, founds []found) error {
	if err := s.complete(ctx, founds); err != nil {
		return err
	}
	var hits []Hit
	var sightings []service.NewSighting
	var alerts []tansa.Alert
	for _, f := range founds {
		ms := f.mentions
		for _, m := range ms[:f.stored] {
			hits = append(hits, Hit{HuntID: hunt, IndicatorID: f.t.rec.ID, Value: m.Value, Source: f.source, Ref: m.Ref, Time: m.Time})
		}
		first, last := ms[len(ms)-1], ms[0]
		sightings = append(sightings, service.NewSighting{IndicatorID: f.t.rec.ID, Sighting: intel.Sighting{
			TenantID: tenant, Where: "retro-hunt " + f.source, When: last.Time, Count: len(ms), Ref: last.Ref}})
		h := intel.Hit{Kind: tansa.AlertRetro, TenantID: tenant, RecordID: f.t.rec.ID, Indicator: &f.t.rec.Indicator,
			Observed: last.Value, Field: f.source, First: first.Time, Last: last.Time, Count: len(ms), Ref: "hunt:" + hunt}
		if f.source == "events" {
			for _, m := range ms[:min(len(ms), intel.MaxAlertEvents)] {
				h.EventIDs = append(h.EventIDs, m.Ref)
			}
		}
		alerts = append(alerts, h.Alert())
	}
	if err := s.store.AddHits(ctx, hits); err != nil {
		return fmt.Errorf("store hits: %w", err)
	}
	if err := s.inds.AddSightings(ctx, sightings); err != nil {
		return fmt.Errorf("store sightings: %w", err)
	}
	if s.alerts != nil {
		if err := s.alerts.Raise(ctx, alerts); err != nil {
			return fmt.Errorf("raise alerts: %w", err)
		}
	}
	return nil
}

// ---- the caller's view

// scope intersects the tenant a request asked for with what c may see.
func scope(c access.Caller, asked string) access.Scope {
	sc := c.Scope()
	sc.Provider = false
	return sc.Narrow(asked)
}

// Hunts lists the hunts of c's tenants (narrowed to asked when given),
// newest first.
func (s *Service) Hunts(ctx context.Context, c access.Caller, asked string, q Query) ([]Job, int, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return nil, 0, err
	}
	q.Scope = scope(c, asked)
	return s.store.Hunts(ctx, q)
}

// Hunt returns one hunt of c's tenants.
func (s *Service) Hunt(ctx context.Context, c access.Caller, id string) (Job, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return Job{}, err
	}
	j, err := s.store.Hunt(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || err == nil && !s.sees(c, j.TenantID) {
		return Job{}, tansa.Errorf(tansa.NotFound, "hunt %q not found", id)
	}
	return j, err
}

func (s *Service) sees(c access.Caller, tenant string) bool {
	return tenant != "" && c.CanAccess(tenant) && (c.Current == "" || c.Current == tenant)
}

// Hits lists the hits of one hunt c may see.
func (s *Service) Hits(ctx context.Context, c access.Caller, id string, p access.Page) ([]Hit, int, error) {
	if _, err := s.Hunt(ctx, c, id); err != nil {
		return nil, 0, err
	}
	return s.store.Hits(ctx, id, p)
}

// IndicatorHits lists the stored events and sweep results that hunts found
// for an indicator c may see, within c's tenants.
func (s *Service) IndicatorHits(ctx context.Context, c access.Caller, indicatorID string, p access.Page) ([]Hit, int, error) {
	if _, err := s.finder.Indicator(ctx, c, indicatorID); err != nil {
		return nil, 0, err
	}
	return s.store.IndicatorHits(ctx, indicatorID, scope(c, ""), p)
}

// HuntIndicator starts a hunt for one indicator c may see, now: over the
// indicator's own tenant, or for a global indicator over the tenant asked
// for, else every tenant c works in.
func (s *Service) HuntIndicator(ctx context.Context, c access.Caller, indicatorID, asked string) ([]Job, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return nil, err
	}
	rec, err := s.finder.Indicator(ctx, c, indicatorID)
	if err != nil {
		return nil, err
	}
	if !huntable(rec.Indicator.Type) {
		return nil, tansa.Errorf(tansa.Invalid, "indicators of type %s are matched live only; the observable index holds no %s values", rec.Indicator.Type, rec.Indicator.Type)
	}
	var targets []string
	switch {
	case rec.Indicator.TenantID != "":
		if asked != "" && asked != rec.Indicator.TenantID {
			return nil, tansa.Errorf(tansa.Invalid, "tenant: the indicator belongs to another tenant")
		}
		targets = []string{rec.Indicator.TenantID}
	default:
		sc := scope(c, asked)
		switch {
		case sc.All:
			if targets, err = s.tenants.TenantIDs(ctx); err != nil {
				return nil, err
			}
		default:
			targets = sc.Tenants
		}
	}
	if len(targets) == 0 {
		return nil, tansa.Errorf(tansa.NotFound, "tenant %q not found", asked)
	}
	var jobs []Job
	for _, t := range targets {
		js, err := s.Enqueue(ctx, t, OriginManual, indicatorID, c.Kind+":"+c.Name, []string{rec.ID})
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, js...)
	}
	return jobs, nil
}

// RetroDays returns the look-back window of the tenant c names (or works
// in).
func (s *Service) RetroDays(ctx context.Context, c access.Caller, tenant string) (string, int, error) {
	if err := c.Require(access.PermIntelRead); err != nil {
		return "", 0, err
	}
	t, err := oneTenant(c, tenant)
	if err != nil {
		return "", 0, err
	}
	d, err := s.days(ctx, t)
	return t, d, err
}

// SetRetroDays sets the look-back window of one tenant c may administer.
func (s *Service) SetRetroDays(ctx context.Context, c access.Caller, tenant string, days int) (string, error) {
	if err := c.Require(access.PermIntelWrite); err != nil {
		return "", err
	}
	if days < 1 || days > MaxDays {
		return "", tansa.Errorf(tansa.Invalid, "retro_hunt_days: %d is outside 1-%d", days, MaxDays)
	}
	t, err := oneTenant(c, tenant)
	if err != nil {
		return "", err
	}
	return t, s.store.SetRetroDays(ctx, t, days)
}

// oneTenant resolves the one tenant a settings request is about.
func oneTenant(c access.Caller, asked string) (string, error) {
	if asked == "" {
		switch {
		case c.Current != "":
			asked = c.Current
		case !c.Role.Provider():
			asked = c.TenantID
		}
	}
	if asked == "" {
		return "", tansa.Errorf(tansa.Invalid, "tenant: name one with tenant=ID")
	}
	if !c.CanAccess(asked) || c.Current != "" && c.Current != asked {
		return "", tansa.Errorf(tansa.NotFound, "tenant %q not found", asked)
	}
	return asked, nil
}
