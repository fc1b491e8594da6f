// Package live is live detection: it implements ingest.Detector, so every
// stored batch of a tenant's events goes through that tenant's enabled
// Sigma rules, and what matches is raised as alerts.
//
// Per tenant it keeps an engine: the live rules compiled once (with the
// tenant's placeholder values) and a Correlator for its correlation rules.
// When the tenant's rules or settings change (ruleset's Generation moves),
// the next batch compiles a new engine and swaps it in; the correlator's
// state carries over. Each event is matched as it is (a *tansa.Event is a
// sigma.Event), matches are checked against the tenant's exceptions with
// the whole event (suppressed ones are counted on the exception), merged
// per rule and host/user within the batch and raised. Correlator state is
// bounded (MaxGroups per tenant), tolerates events up to Lateness out of
// order, and is saved to the store every SaveEvery and on shutdown, then
// restored when the tenant's engine is first built after a restart.
package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/kv"
	"github.com/tansa-sec/tansa/internal/normalize/linux"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Rules gives a tenant's live rules; *ruleset.Service implements it.
type Rules interface {
	Generation(tenant string) uint64
	Live(ctx context.Context, tenant string) (ruleset.Live, error)
	LoadState(ctx context.Context, tenant string) ([]byte, error)
	SaveState(ctx context.Context, tenant string, data []byte) error
}

// Alerts takes what detection raises; *alert.Service implements it.
type Alerts interface {
	Raise(ctx context.Context, alerts []tansa.Alert) error
	Matcher(ctx context.Context, tenant string) (*alert.Matcher, error)
	CountSuppressed(ctx context.Context, tenant string, hits map[string]alert.Hit) error
}

// Options tunes the detector. Zero fields take the defaults in parentheses.
type Options struct {
	Lateness  time.Duration // how late an event may arrive and still be correlated (10 min)
	MaxGroups int           // live correlation groups per tenant (100,000)
	SaveEvery time.Duration // how often Run saves correlator state (1 min)
	// MaxRecent bounds the recent matches kept per tenant to name the
	// events behind a correlation alert (10,000).
	MaxRecent int
	Now       func() time.Time
}

// Detector runs every tenant's rules over its events. It is safe for
// concurrent use by several ingest workers.
type Detector struct {
	rules  Rules
	alerts Alerts
	log    *slog.Logger
	opt    Options

	mu      sync.Mutex
	tenants map[string]*tenant

	matched   *prometheus.CounterVec
	compiles  *prometheus.CounterVec
	evaluated prometheus.Counter
	failures  prometheus.Counter
}

type tenant struct {
	mu     sync.Mutex // held while (re)building the engine
	gen    uint64
	built  bool
	engine *engine // read under mu; an engine itself is safe for concurrent use
}

// New returns a detector over rules raising into alerts.
func New(rules Rules, alerts Alerts, log *slog.Logger, reg prometheus.Registerer, opt Options) *Detector {
	if opt.Lateness <= 0 {
		opt.Lateness = 10 * time.Minute
	}
	if opt.MaxGroups <= 0 {
		opt.MaxGroups = 100_000
	}
	if opt.SaveEvery <= 0 {
		opt.SaveEvery = time.Minute
	}
	if opt.MaxRecent <= 0 {
		opt.MaxRecent = 10_000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	d := &Detector{rules: rules, alerts: alerts, log: log, opt: opt, tenants: map[string]*tenant{},
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_detect_matches_total", Help: "Sigma rule matches in live detection, by tenant and kind, before exceptions.",
		}, []string{"tenant", "kind"}),
		compiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_detect_compiles_total", Help: "Times a tenant's rules were compiled for live detection.",
		}, []string{"tenant"}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tansa_detect_events_total", Help: "Events evaluated by live detection.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tansa_detect_failures_total", Help: "Batches whose alerts could not be raised (logged).",
		}),
	}
	if reg != nil {
		reg.MustRegister(d.matched, d.compiles, d.evaluated, d.failures)
	}
	return d
}

// engine is one tenant's compiled rules.
type engine struct {
	windows, cloud *sigma.Ruleset
	// byFormat holds, per event Format the syslog parsers produce, the
	// rules of the Sigma product that reads it (FortiGate, Linux); those
	// events go through the windows set too, for the rules that name no
	// product (firewall, proxy, web server…).
	byFormat  map[string]*sigma.Ruleset
	corr      *sigma.Correlator
	corrRules []*sigma.Rule
	// alerting holds the detection rules whose own matches raise alerts:
	// enabled by the settings and not referenced only by correlations
	// without generate.
	alerting   map[*sigma.Rule]bool
	referenced map[*sigma.Rule]bool
	fields     map[*sigma.Rule][]string
	byRef      map[string]*sigma.Rule
	corrFields []string

	recentMu sync.Mutex
	recent   []recentMatch // ring of matches of referenced rules
	next     int
}

// recentMatch is a match of a rule some correlation references, kept to
// name the events behind a correlation alert.
type recentMatch struct {
	t      int64
	rule   *sigma.Rule
	event  string
	fields sigma.Fields
}

// cloudProduct reports whether rules of a Sigma product read Office 365
// and Entra ID records, as in tansa hunt.
func cloudProduct(p string) bool {
	switch p {
	case "azure", "m365", "office365", "microsoft365":
		return true
	}
	return false
}

func cloudFormat(f string) bool { return f == "o365" || f == "entra_signin" }

// formatRules says which rules of other products read the events of a
// Format the syslog parsers produce: the rule's product, and its service
// among services ("" for rules that name none; nil: any). Rules with a
// category read endpoint telemetry (Linux process_creation, file_event…),
// which these logs are not, so they are left out.
var formatRules = map[string]struct {
	product  string
	services []string
}{
	kv.FortiGate:     {"fortigate", nil},
	linux.SSHD:       {"linux", []string{"", "sshd"}},
	linux.PAM:        {"linux", []string{"", "auth", "sshd"}},
	linux.Auditd:     {"linux", []string{"auditd"}},
	normalize.Syslog: {"linux", []string{"", "syslog"}},
}

// formatsOf returns the Formats whose events r reads (see formatRules).
func formatsOf(r *sigma.Rule) []string {
	p, svc := strings.ToLower(r.Logsource.Product), strings.ToLower(r.Logsource.Service)
	if r.Logsource.Category != "" {
		return nil
	}
	var out []string
	for f, fr := range formatRules {
		if fr.product == p && (fr.services == nil || slices.Contains(fr.services, svc)) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// build compiles a tenant's live rules into an engine.
func (d *Detector) build(ctx context.Context, name string, prev *engine) (*engine, error) {
	lv, err := d.rules.Live(ctx, name)
	if err != nil {
		return nil, err
	}
	e := &engine{alerting: map[*sigma.Rule]bool{}, referenced: map[*sigma.Rule]bool{}, fields: map[*sigma.Rule][]string{},
		byRef: map[string]*sigma.Rule{}, recent: make([]recentMatch, 0, 64)}
	for _, r := range lv.Rules {
		if r.ID != "" {
			e.byRef[r.ID] = r
		}
		if r.Name != "" {
			e.byRef[r.Name] = r
		}
	}
	st := lv.Settings
	for _, r := range lv.Rules {
		if r.Correlation != nil && st.Runs(ruleID(r), r.Level, r.Status) {
			e.corrRules = append(e.corrRules, r)
			for _, ref := range r.Correlation.Rules {
				if x := e.byRef[ref]; x != nil && x.Detection != nil {
					e.referenced[x] = true
				}
			}
		}
	}
	var win, cloud, all []*sigma.Rule
	byFormat := map[string][]*sigma.Rule{}
	for _, r := range lv.Rules {
		switch {
		case r.Correlation != nil:
			continue
		case r.Filter != nil:
			win, cloud = append(win, r), append(cloud, r)
			continue
		case r.Detection == nil:
			continue
		}
		enabled := st.Runs(ruleID(r), r.Level, r.Status)
		if !enabled && !e.referenced[r] {
			continue
		}
		p := strings.ToLower(r.Logsource.Product)
		switch {
		case p == "":
			win, cloud = append(win, r), append(cloud, r)
		case p == "windows":
			win = append(win, r)
		case cloudProduct(p):
			cloud = append(cloud, r)
		default:
			fs := formatsOf(r)
			if len(fs) == 0 {
				continue // no parser here produces that product's events
			}
			for _, f := range fs {
				byFormat[f] = append(byFormat[f], r)
			}
		}
		all = append(all, r)
		if enabled {
			e.alerting[r] = true
		}
		e.fields[r] = r.Detection.FieldNames()
	}
	opts := sigma.Options{Placeholders: st.Placeholders}
	if e.windows, err = sigma.Compile(win, opts); err != nil {
		d.log.Warn("live detection: some rules did not compile", "tenant", name, "err", err)
	}
	if e.cloud, err = sigma.Compile(cloud, opts); err != nil {
		d.log.Warn("live detection: some cloud rules did not compile", "tenant", name, "err", err)
	}
	if e.windows == nil || e.cloud == nil {
		return nil, err
	}
	e.byFormat = map[string]*sigma.Ruleset{}
	for f, rules := range byFormat {
		rs, err := sigma.Compile(rules, opts)
		if err != nil {
			d.log.Warn("live detection: some rules did not compile", "tenant", name, "format", f, "err", err)
		}
		if rs != nil && len(rs.Rules()) > 0 {
			e.byFormat[f] = rs
		}
	}
	e.corr, err = sigma.NewCorrelator(append(all, e.corrRules...), sigma.CorrelatorOptions{MaxGroups: d.opt.MaxGroups, Lateness: d.opt.Lateness})
	if err != nil {
		d.log.Warn("live detection: some correlation rules were refused", "tenant", name, "err", err)
		if e.corr == nil {
			e.corr, _ = sigma.NewCorrelator(all, sigma.CorrelatorOptions{MaxGroups: d.opt.MaxGroups, Lateness: d.opt.Lateness})
		}
	}
	for r := range e.alerting {
		if e.corr != nil && !e.corr.Standalone(r) {
			delete(e.alerting, r)
		}
	}
	e.corrFields = corrFields(e)
	// The correlator's state carries over from the previous engine, or is
	// restored from the store after a restart.
	var snap []byte
	if prev != nil && prev.corr != nil {
		snap, err = prev.corr.Snapshot()
	} else {
		snap, err = d.rules.LoadState(ctx, name)
	}
	if err == nil && len(snap) > 0 && e.corr != nil {
		if _, err := e.corr.Restore(snap); err != nil {
			d.log.Warn("live detection: correlation state not restored", "tenant", name, "err", err)
		}
	}
	d.compiles.WithLabelValues(name).Inc()
	return e, nil
}

// engineOf returns tenant's engine, building it when the rules changed.
func (d *Detector) engineOf(ctx context.Context, name string) (*engine, error) {
	d.mu.Lock()
	t := d.tenants[name]
	if t == nil {
		t = &tenant{}
		d.tenants[name] = t
	}
	d.mu.Unlock()
	gen := d.rules.Generation(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.built && t.gen == gen {
		return t.engine, nil
	}
	e, err := d.build(ctx, name, t.engine)
	if err != nil {
		return t.engine, err
	}
	t.engine, t.gen, t.built = e, gen, true
	return e, nil
}

// Detect implements ingest.Detector.
func (d *Detector) Detect(ctx context.Context, tenantID string, recs []events.Record) {
	e, err := d.engineOf(ctx, tenantID)
	if err != nil {
		d.log.Error("live detection: rules", "tenant", tenantID, "err", err)
		if e == nil {
			return
		}
	}
	if e == nil || (len(e.windows.Rules()) == 0 && len(e.cloud.Rules()) == 0 && len(e.byFormat) == 0) {
		return
	}
	m, err := d.alerts.Matcher(ctx, tenantID)
	if err != nil {
		d.log.Error("live detection: exceptions", "tenant", tenantID, "err", err)
		return
	}
	b := batch{tenant: tenantID, byKey: map[string]int{}, hits: map[string]alert.Hit{}, now: d.opt.Now()}
	var dst []*sigma.CompiledRule
	var refd []*sigma.Rule
	var nSigma, nCorr int // matches, counted into the metric once per batch
	for _, rec := range recs {
		ev := rec.Event
		if ev == nil || ev.ParseError != "" {
			continue
		}
		set := e.windows
		if cloudFormat(ev.Format) {
			set = e.cloud
		}
		dst = set.Match(ev, dst[:0])
		if fs := e.byFormat[ev.Format]; fs != nil {
			dst = fs.Match(ev, dst)
		}
		if len(dst) == 0 {
			continue
		}
		refd = refd[:0]
		for _, c := range dst {
			r := c.Rule
			if e.referenced[r] {
				refd = append(refd, r)
			}
			if e.alerting[r] {
				nSigma++
				b.add(e, m, r, ev)
			}
		}
		if len(refd) > 0 && e.corr != nil {
			e.remember(ev, refd, d.opt.MaxRecent)
			for _, a := range e.corr.Observe(ev, ev.Time, refd) {
				if !e.corr.Standalone(a.Rule) {
					continue // only feeds another correlation
				}
				nCorr++
				b.addCorrelation(e, m, a)
			}
		}
	}
	if nSigma > 0 {
		d.matched.WithLabelValues(tenantID, string(tansa.AlertSigma)).Add(float64(nSigma))
	}
	if nCorr > 0 {
		d.matched.WithLabelValues(tenantID, string(tansa.AlertCorrelation)).Add(float64(nCorr))
	}
	d.evaluated.Add(float64(len(recs)))
	if len(b.hits) > 0 {
		if err := d.alerts.CountSuppressed(ctx, tenantID, b.hits); err != nil {
			d.failures.Inc()
			d.log.Error("live detection: count suppressed matches", "tenant", tenantID, "err", err)
		}
	}
	if len(b.out) > 0 {
		if err := d.alerts.Raise(ctx, b.out); err != nil {
			d.failures.Inc()
			d.log.Error("live detection: raise alerts", "tenant", tenantID, "alerts", len(b.out), "err", err)
		}
	}
}

// batch collects one Detect call's alerts, merged by rule and group key.
type batch struct {
	tenant string
	out    []tansa.Alert
	byKey  map[string]int
	hits   map[string]alert.Hit
	now    time.Time
}

const maxBatchEvents = 100

func (b *batch) add(e *engine, m *alert.Matcher, r *sigma.Rule, ev *tansa.Event) {
	host := first(ev, "Computer", "host.name", "host.hostname")
	user := first(ev, "user.name", "TargetUserName", "SubjectUserName", "User", "UserId", "userPrincipalName")
	a := tansa.Alert{TenantID: b.tenant, Kind: tansa.AlertSigma, RuleID: ruleID(r), RuleTitle: r.Title, Level: level(r), Tags: tags(r),
		Host: host, User: user, GroupKey: host + "|" + user, Count: 1, FirstSeen: ev.Time, LastSeen: ev.Time, EventIDs: []string{ev.ID}}
	if id, ok := m.Match(&a, b.now, ev.Get); ok {
		h := b.hits[id]
		h.Count++
		if ev.Time.After(h.Last) {
			h.Last = ev.Time
		}
		b.hits[id] = h
		return
	}
	key := a.RuleID + "\x00" + a.GroupKey
	if i, ok := b.byKey[key]; ok {
		x := &b.out[i]
		x.Count++
		if ev.Time.Before(x.FirstSeen) {
			x.FirstSeen = ev.Time
		}
		if ev.Time.After(x.LastSeen) {
			x.LastSeen = ev.Time
		}
		if len(x.EventIDs) < maxBatchEvents {
			x.EventIDs = append(x.EventIDs, ev.ID)
		}
		return
	}
	fields := map[string]any{}
	for _, f := range e.fields[r] {
		if v, ok := ev.Get(f); ok {
			fields[f] = v
		}
	}
	ctx := map[string]any{"fields": fields, "format": ev.Format, "source": ev.Source,
		"logsource": map[string]string{"product": r.Logsource.Product, "category": r.Logsource.Category, "service": r.Logsource.Service}}
	if ch := first(ev, "Channel"); ch != "" {
		ctx["channel"] = ch
	}
	if id := first(ev, "EventID", "event.code"); id != "" {
		ctx["event_id"] = id
	}
	if r.Description != "" {
		ctx["description"] = r.Description
	}
	a.Context, _ = json.Marshal(ctx)
	if len(a.Context) > alert.MaxContext {
		a.Context, _ = json.Marshal(map[string]any{"truncated": true, "format": ev.Format})
	}
	b.byKey[key] = len(b.out)
	b.out = append(b.out, a)
}

func (b *batch) addCorrelation(e *engine, m *alert.Matcher, ca sigma.Alert) {
	r := ca.Rule
	keys := make([]string, 0, len(ca.GroupBy))
	for k := range ca.GroupBy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var gk []string
	host, user := "", ""
	for _, k := range keys {
		v := ca.GroupBy[k]
		gk = append(gk, k+"="+v)
		lk := strings.ToLower(k)
		switch {
		case host == "" && (strings.Contains(lk, "computer") || strings.Contains(lk, "host") || strings.Contains(lk, "workstation")):
			host = v
		case user == "" && strings.Contains(lk, "user"):
			user = v
		}
	}
	a := tansa.Alert{TenantID: b.tenant, Kind: tansa.AlertCorrelation, RuleID: ruleID(r), RuleTitle: r.Title, Level: level(r), Tags: tags(r),
		Host: host, User: user, GroupKey: strings.Join(gk, "|"), Count: 1, FirstSeen: ca.Start, LastSeen: ca.End,
		EventIDs: e.contributors(ca)}
	a.Context, _ = json.Marshal(map[string]any{"type": r.Correlation.Type, "group_by": ca.GroupBy, "value": ca.Value,
		"timespan": r.Correlation.Timespan.String(), "rules": r.Correlation.Rules, "fields": ca.GroupBy})
	get := func(name string) (any, bool) { v, ok := ca.GroupBy[name]; return v, ok }
	if id, ok := m.Match(&a, b.now, get); ok {
		h := b.hits[id]
		h.Count++
		if ca.End.After(h.Last) {
			h.Last = ca.End
		}
		b.hits[id] = h
		return
	}
	b.out = append(b.out, a)
}

// remember keeps a match of referenced rules in the ring.
func (e *engine) remember(ev *tansa.Event, rules []*sigma.Rule, max int) {
	fields := sigma.Fields{}
	for _, f := range e.corrFields {
		if v, ok := ev.Get(f); ok {
			fields[f] = v
		}
	}
	e.recentMu.Lock()
	defer e.recentMu.Unlock()
	for _, r := range rules {
		m := recentMatch{t: ev.Time.UnixNano(), rule: r, event: ev.ID, fields: fields}
		if len(e.recent) < max {
			e.recent = append(e.recent, m)
			continue
		}
		e.recent[e.next] = m
		e.next = (e.next + 1) % max
	}
}

// contributors names the remembered events behind a correlation alert:
// matches of a referenced rule inside the alert's window whose group-by
// values are the alert's.
func (e *engine) contributors(ca sigma.Alert) []string {
	c := ca.Rule.Correlation
	start, end := ca.Start.UnixNano(), ca.End.UnixNano()
	refs := map[*sigma.Rule]bool{}
	for _, ref := range c.Rules {
		if r := e.byRef[ref]; r != nil {
			refs[r] = true
		}
	}
	e.recentMu.Lock()
	defer e.recentMu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, m := range e.recent {
		if !refs[m.rule] || m.t < start || m.t > end || seen[m.event] {
			continue
		}
		same := true
		for _, g := range c.GroupBy {
			v, _ := m.fields.Get(fieldFor(e, c, g, m.rule))
			if text(v) != ca.GroupBy[g] {
				same = false
				break
			}
		}
		if same {
			seen[m.event] = true
			out = append(out, m.event)
			if len(out) >= maxBatchEvents {
				break
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func fieldFor(e *engine, c *sigma.Correlation, name string, r *sigma.Rule) string {
	if m, ok := c.Aliases[name]; ok {
		for ref, f := range m {
			if e.byRef[ref] == r {
				return f
			}
		}
	}
	return name
}

func corrFields(e *engine) []string {
	set := map[string]bool{}
	for _, cr := range e.corrRules {
		c := cr.Correlation
		for _, ref := range c.Rules {
			r := e.byRef[ref]
			if r == nil {
				continue
			}
			for _, g := range c.GroupBy {
				set[fieldFor(e, c, g, r)] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Run saves every tenant's correlation state every SaveEvery until ctx
// ends, and once more then, so that a restart resumes the correlations.
func (d *Detector) Run(ctx context.Context) {
	t := time.NewTicker(d.opt.SaveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			save, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			d.Save(save)
			cancel()
			return
		case <-t.C:
			d.Save(ctx)
		}
	}
}

// Save stores every tenant's correlation state now.
func (d *Detector) Save(ctx context.Context) {
	d.mu.Lock()
	names := make([]string, 0, len(d.tenants))
	ts := make([]*tenant, 0, len(d.tenants))
	for n, t := range d.tenants {
		names, ts = append(names, n), append(ts, t)
	}
	d.mu.Unlock()
	for i, t := range ts {
		t.mu.Lock()
		e := t.engine
		t.mu.Unlock()
		if e == nil || e.corr == nil || len(e.corrRules) == 0 {
			continue
		}
		snap, err := e.corr.Snapshot()
		if err == nil {
			err = d.rules.SaveState(ctx, names[i], snap)
		}
		if err != nil {
			d.log.Error("live detection: save correlation state", "tenant", names[i], "err", err)
		}
	}
}

func ruleID(r *sigma.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Name
}

func level(r *sigma.Rule) string {
	l := strings.ToLower(r.Level)
	if tansa.LevelRank(l) < 0 {
		return "informational"
	}
	return l
}

func tags(r *sigma.Rule) []string {
	if r.Tags == nil {
		return []string{}
	}
	return r.Tags
}

// first returns the text of the first of names present in ev.
func first(ev *tansa.Event, names ...string) string {
	for _, n := range names {
		if v, ok := ev.Get(n); ok && v != nil {
			if s := text(v); s != "" && s != "-" {
				return s
			}
		}
	}
	return ""
}

// text is tansa.FieldText, with a list joined by commas as group keys
// show it.
func text(v any) string {
	if x, ok := v.([]string); ok {
		return strings.Join(x, ",")
	}
	return tansa.FieldText(v)
}
