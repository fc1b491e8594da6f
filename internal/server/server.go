// Package server is the composition root: it turns a Config into a running
// platform by opening the data directory and the store, building the
// services, and serving the HTTP edge. Reading Open top to bottom shows how
// the pieces fit together; nothing is wired anywhere else.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/detect/ioc"
	"github.com/tansa-sec/tansa/internal/detect/live"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/ingest"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/playbook"
	scanioc "github.com/tansa-sec/tansa/internal/scan/ioc"
	"github.com/tansa-sec/tansa/internal/store/postgres"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
	"github.com/tansa-sec/tansa/internal/web"
)

// eventStore is what the server needs of an event store.
type eventStore interface {
	events.Store
	retro.Index
	Close() error
}

// backend is what the server needs of a storage engine.
type backend interface {
	access.Store
	intelsvc.Store
	// Threat intelligence at work: live matching, retro-hunts.
	ioc.Source
	retro.Store
	retro.Indicators
	retro.Tenants
	feeds.Store
	UpdatedKeys(ctx context.Context, tenant string, at time.Time) ([]intelsvc.Record, error)
	fleet.Store
	cases.Store
	alert.Store
	ruleset.Store
	// Response playbooks: versions, runs, connectors, block-list entries.
	playbook.Store
	// Endpoint sweeps: the stored sweeps' observables, the sweep side of
	// retro-hunts (events have their own index in eventStore).
	retro.Index
	Counts(ctx context.Context) (map[string]int64, error)
	Close() error
}

// Server is one running Tansa node.
type Server struct {
	cfg      Config
	inputs   *collect.Inputs
	log      *slog.Logger
	store    backend
	bus      *bus.Bus
	events   eventStore
	pipeline *ingest.Pipeline
	Access   *access.Service
	Events   *events.Service
	Intel    *intelsvc.Service
	// Threat intelligence at work (issue #5): live matching of ingested
	// events, retro-hunts over stored ones.
	IOC    *ioc.Detector
	Hunts  *retro.Service
	Feeds  *feeds.Service
	Alerts *alert.Service
	Rules  *ruleset.Service
	Live   *live.Detector
	// Response (issue #7): playbooks and the runner that executes them.
	Playbooks *playbook.Service
	runner    *playbook.Runner
	web       *web.Server
	reg       *prometheus.Registry
	expired   *prometheus.CounterVec // events removed by retention, by tenant
	ready     atomic.Bool
	fresh     bool
	addr      atomic.Value // string, once listening
	// Endpoint sweeps (issue #6).
	Fleet *fleet.Service
	// Incident response (issue #7).
	Cases *cases.Service
}

// Open prepares a server from cfg: data directory, store (migrated),
// services and HTTP edge. It does not listen yet.
func Open(ctx context.Context, cfg Config, log *slog.Logger, version string) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fresh, err := OpenDataDir(cfg.Data)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: store, fresh: fresh, reg: prometheus.NewRegistry()}
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, err
	}
	// ① collect → bus: inputs publish batches and acknowledge senders once
	// the bus has persisted them.
	s.bus, err = bus.Open(ctx, bus.Options{Dir: filepath.Join(cfg.Data, "nats"), URL: cfg.Bus.URL,
		MaxBytes: cfg.Bus.MaxBytes, Replicas: cfg.Bus.Replicas})
	if err != nil {
		return fail(err)
	}
	s.inputs = collect.NewInputs(s.bus, s.reg)
	// ② normalize → store: workers drain the bus into the event store.
	if s.events, err = openEvents(ctx, cfg); err != nil {
		return fail(err)
	}
	s.Events = events.NewService(s.events)
	s.Access = access.New(store, access.Options{
		SessionIdle:     time.Duration(cfg.Session.Idle),
		SessionAbsolute: time.Duration(cfg.Session.Absolute),
		MaxFailures:     cfg.Login.MaxFailures,
		Lockout:         time.Duration(cfg.Login.Lockout),
	})
	// Threat intelligence: indicators in the same store as the tenants
	// they belong to.
	// Imports tell live matching to reload and start retro-hunts.
	notice := &importListener{store: store, log: log}
	// The feeds carry the values playbooks block besides the indicators.
	intelStore := playbook.BlockingIntel{Store: store, Blocks: store}
	if s.Intel, err = intelsvc.New(intelStore, s.Access, intelsvc.Options{Listener: notice}); err != nil {
		return fail(err)
	}
	// ④ alerts: detection stages raise into the alert service, which
	// deduplicates, applies exceptions and tells subscribers.
	// New alerts start the playbooks whose trigger they match (the
	// playbook service exists by the time ingest runs).
	s.Alerts = alert.New(store, s.Access, s.Access, s.reg, alert.Options{OnNew: s.triggerPlaybooks})
	// ③ detection: indicator matching runs over every stored batch; its
	// alerts and the hunts' go to the alert queue.
	var alerts ioc.Alerts = s.Alerts
	s.IOC = ioc.New(store, alerts, ioc.Options{Allowlist: s.Intel.Options().Allowlist, Logger: log})
	s.Hunts = retro.New(store, store, s.Intel, s.events, alerts, store, retro.Options{Logger: log, Sweeps: store})
	notice.ioc, notice.hunts = s.IOC, s.Hunts
	// Feed sources are pulled on their schedule and imported like uploads.
	s.Feeds = feeds.New(store, s.Intel, s.Access, feeds.Options{Logger: log})
	// ③ detection: each tenant's enabled Sigma rules over every stored
	// batch, from the rule sets kept in the store.
	s.Rules = ruleset.New(store, s.Access)
	s.Live = live.New(s.Rules, s.Alerts, log, s.reg, live.Options{})
	s.pipeline = ingest.New(s.bus, s.events, ingest.Detectors{s.Live, s.IOC}, log, s.reg, ingest.Options{})
	s.inputs.SetPressure(s.pipeline) // collection: inputs hold back while a tenant's backlog is over the limit
	// Endpoint sweeps: results sealed to the server's age key (made on
	// first start in DATA/fleet), packages signed with its ed25519 key,
	// findings scoring 40 or more raised into the alert queue.
	keys, err := fleet.LoadKeys(filepath.Join(cfg.Data, "fleet"))
	if err != nil {
		return fail(err)
	}
	if s.Fleet, err = fleet.New(store, s.Access, fleet.Options{Keys: keys, Alerts: s.Alerts, Binaries: cfg.Fleet.Binaries,
		ServerURL: cfg.Fleet.ServerURL, IOCs: s.packageIOCs, Logger: log}); err != nil {
		return fail(err)
	}
	// ⑤ cases: incidents in the same store as their tenants; observables
	// are checked against intelligence and retro-hunted through the
	// event store's observable index.
	caseIntel := cases.IntelLookup{Search: s.Intel}
	if s.Cases, err = cases.New(store, s.Access, s.Access, cases.Options{
		Alerts:      caseAlerts{s.Alerts},
		Intel:       caseIntel,
		RetroHunter: cases.EventHunter{Search: s.Events, Intel: caseIntel, Hunts: s.Hunts},
	}); err != nil {
		return fail(err)
	}
	// ⑥ respond: playbooks enrich from intel and events, contain through
	// the tenants' connectors (secrets sealed with DATA/secret.key) and
	// record every step so that a restart resumes each run.
	if err := s.openPlaybooks(cfg, log); err != nil {
		return fail(err)
	}
	s.expired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tansa_events_expired_total", Help: "Events removed by each tenant's retention.",
	}, []string{"tenant"})
	s.reg.MustRegister(
		s.expired,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStoreCollector(store, log),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tansa_build_info", Help: "Always 1; the version is a label.",
			ConstLabels: prometheus.Labels{"version": version}}, func() float64 { return 1 }),
	)
	s.web = web.NewServer(web.Deps{
		Access: s.Access,
		Events: s.Events,
		Intel:  s.Intel,
		Hunts:  s.Hunts,
		// Playbooks (issue #7).
		Playbooks: s.Playbooks,
		Fleet:     s.Fleet,
		Feeds:     s.Feeds,
		Cases:     s.Cases,
		Alerts:    s.Alerts,
		Rules:     s.Rules,
		Inputs:    s.inputs,
		Logger:    log,
		Metrics:   s.reg,
		Ready:     s.ready.Load,
		Secure:    cfg.TLS.Cert != "" || cfg.SecureCookies,
		Version:   version,
	})
	return s, nil
}

// OpenStore opens the configured store alone, for administrative commands
// that work on a data directory next to a running server.
func OpenStore(ctx context.Context, cfg Config) (*access.Service, func() error, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if _, err := OpenDataDir(cfg.Data); err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return access.New(st, access.Options{}), st.Close, nil
}

func openStore(ctx context.Context, cfg Config) (backend, error) {
	switch cfg.Store.Driver {
	case "postgres":
		return postgres.Open(ctx, cfg.Store.URL)
	default:
		return sqlite.Open(ctx, filepath.Join(cfg.Data, "tansa.db"))
	}
}

// Inputs returns the pipeline's inputs, for the demo's sample data.
func (s *Server) Inputs() *collect.Inputs { return s.inputs }

// openEvents opens the event store next to the access store: in the data
// directory for SQLite, in the same database for PostgreSQL.
func openEvents(ctx context.Context, cfg Config) (eventStore, error) {
	if cfg.Store.Driver == "postgres" {
		return postgres.OpenEvents(ctx, cfg.Store.URL)
	}
	return sqlite.OpenEvents(ctx, filepath.Join(cfg.Data, "events.db"))
}

// Fresh reports whether the data directory was created by this start.
func (s *Server) Fresh() bool { return s.fresh }

// Handler returns the HTTP handler, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.web }

// Addr returns the address the server listens on, once it does.
func (s *Server) Addr() string {
	a, _ := s.addr.Load().(string)
	return a
}

// Close stops the bus and releases the stores.
func (s *Server) Close() error {
	var errs []error
	if s.bus != nil {
		errs = append(errs, s.bus.Close())
	}
	if s.events != nil {
		errs = append(errs, s.events.Close())
	}
	return errors.Join(append(errs, s.store.Close())...)
}

// EnsureAdmin creates the first provider administrator, "admin", when the
// store has no users. The password is adminPassword when given; otherwise
// a random one, printed once to w and written to DATA/initial-admin-password
// (mode 0600).
func (s *Server) EnsureAdmin(ctx context.Context, adminPassword string, w io.Writer) error {
	sys := access.Caller{Principal: access.System("first-start")}
	_, n, err := s.Access.Users(ctx, sys, access.UserQuery{})
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw := adminPassword
	if pw == "" {
		pw = access.RandomPassword()
	}
	name, role := "admin", tansa.RoleProviderAdmin
	username := "Administrator"
	if _, err := s.Access.CreateUser(ctx, sys, access.UserInput{Username: &name, Name: &username, Role: &role, Password: &pw}); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	// The hash's 19 MiB work area would otherwise stay in an idle server's
	// resident memory until the next garbage collection returns it.
	defer debug.FreeOSMemory()
	if adminPassword != "" {
		fmt.Fprintln(w, "Created user admin (provider-admin) with the password it was given (TANSA_ADMIN_PASSWORD, or the demo password).")
		return nil
	}
	file := filepath.Join(s.cfg.Data, "initial-admin-password")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	fmt.Fprintf(w, "Created user admin (provider-admin).\n  password: %s\n  (also in %s; change it after logging in)\n", pw, file)
	return nil
}

// Serve listens and serves until ctx ends, then shuts down gracefully,
// letting requests in flight finish for up to 10 seconds. onListen, when
// set, is called with the bound address before the server reports ready.
func (s *Server) Serve(ctx context.Context, onListen func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.web,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.web.CloseStreams)
	if s.cfg.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.Cert, s.cfg.TLS.Key)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.addr.Store(ln.Addr().String())
	if onListen != nil {
		onListen(ln.Addr().String())
	}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	for _, l := range s.cfg.Syslog {
		sl, err := s.listenSyslog(bg, l)
		if err != nil {
			ln.Close()
			return err
		}
		defer sl.Close()
		s.log.Info("syslog listener", "protocol", l.Protocol, "addr", sl.Addr().String(), "tenant", l.Tenant)
	}
	go s.expireSessions(bg)
	go s.IOC.Run(bg)
	go s.Hunts.Run(bg)
	go s.Feeds.Run(bg)
	go s.retentionLoop(bg)
	go s.Live.Run(bg)
	pipelineDone := make(chan struct{})
	go func() { defer close(pipelineDone); s.pipeline.Run(bg) }()
	defer func() {
		stopBG()
		<-pipelineDone
		// The workers are done: the correlators' state is final.
		save, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Live.Save(save)
	}()
	go s.catchUpPlaybooks(bg)
	runnerDone := make(chan struct{})
	go func() {
		defer close(runnerDone)
		if err := s.runner.Run(bg); err != nil {
			s.log.Error("playbook runner", "err", err)
		}
	}()
	defer func() { stopBG(); <-runnerDone }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.ready.Store(true)
	s.log.Info("tansa is ready", "addr", ln.Addr().String(), "tls", s.cfg.TLS.Cert != "", "store", s.cfg.Store.Driver)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) expireSessions(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if n, err := s.Access.ExpireSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expire sessions", "err", err)
		} else if n > 0 {
			s.log.Debug("expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// retentionLoop enforces every tenant's event retention an hour apart,
// first a minute after start so that start-up stays quick.
func (s *Server) retentionLoop(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.enforceRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("retention", "err", err)
		}
		t.Reset(time.Hour)
	}
}

// enforceRetention deletes, for each tenant, the events older than its
// retention at now.
func (s *Server) enforceRetention(ctx context.Context, now time.Time) error {
	sys := access.Caller{Principal: access.System("retention")}
	for p := (access.Page{Limit: 500}); ; p.Offset += p.Limit {
		ts, total, err := s.Access.Tenants(ctx, sys, access.TenantQuery{Page: p})
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.RetentionDays < 1 {
				continue // never stored by the service, which requires 1 or more
			}
			n, err := s.events.DeleteBefore(ctx, t.ID, now.AddDate(0, 0, -t.RetentionDays))
			if err != nil {
				return fmt.Errorf("tenant %s: %w", t.ID, err)
			}
			if n > 0 {
				s.expired.WithLabelValues(t.ID).Add(float64(n))
				s.log.Info("retention", "tenant", t.ID, "days", t.RetentionDays, "deleted", n)
			}
		}
		if p.Offset+p.Limit >= total {
			return nil
		}
	}
}

// storeCollector exports the store's table sizes on every scrape.
type storeCollector struct {
	store backend
	log   *slog.Logger
	desc  *prometheus.Desc
}

func newStoreCollector(st backend, log *slog.Logger) *storeCollector {
	return &storeCollector{store: st, log: log, desc: prometheus.NewDesc("tansa_store_rows", "Rows in each table of the store.", []string{"table"}, nil)}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.Counts(ctx)
	if err != nil {
		c.log.Warn("store metrics", "err", err)
		return
	}
	for table, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), table)
	}
}

// listenSyslog starts one configured syslog listener after checking that
// its tenant exists, so records never land in a tenant nobody can see.
func (s *Server) listenSyslog(ctx context.Context, l SyslogListener) (*collect.Syslog, error) {
	if _, err := s.Access.Tenant(ctx, access.Caller{Principal: access.System("config")}, l.Tenant); err != nil {
		return nil, fmt.Errorf("syslog %s %s: tenant %q: %w", l.Protocol, l.Listen, l.Tenant, err)
	}
	cfg := collect.SyslogConfig{Protocol: l.Protocol, Listen: l.Listen, Tenant: l.Tenant, Hint: l.Format}
	if l.Protocol == "tls" {
		cert, err := tls.LoadX509KeyPair(l.TLS.Cert, l.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("syslog tls %s: %w", l.Listen, err)
		}
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	return s.inputs.ListenSyslog(ctx, cfg, s.log)
}

// importListener hears of committed intel imports: live matching reloads
// its snapshot, and the imported indicators are retro-hunted.
type importListener struct {
	store interface {
		UpdatedKeys(ctx context.Context, tenant string, at time.Time) ([]intelsvc.Record, error)
		IndicatorsVersion(ctx context.Context) (string, error)
	}
	ioc   *ioc.Detector
	hunts *retro.Service
	log   *slog.Logger
}

// Imported implements intelsvc.Listener.
func (l *importListener) Imported(ctx context.Context, n intelsvc.ImportNotice) {
	l.ioc.Changed()
	// The version first: the keys read after it are current as long as
	// it stays the same, and the hunt then need not read them again.
	version, err := l.store.IndicatorsVersion(ctx)
	if err != nil {
		l.log.Warn("retro-hunt: indicators version", "import", n.ImportID, "err", err)
		version = ""
	}
	recs, err := l.store.UpdatedKeys(ctx, n.TenantID, n.At)
	if err != nil {
		l.log.Warn("retro-hunt: imported indicators", "import", n.ImportID, "err", err)
		return
	}
	origin, ref := retro.OriginImport, n.ImportID
	if n.Feed != "" {
		origin, ref = retro.OriginFeed, n.Feed
	}
	if _, err := l.hunts.EnqueueKeys(ctx, n.TenantID, origin, ref, n.Actor, version, recs); err != nil {
		l.log.Warn("retro-hunt: enqueue", "import", n.ImportID, "err", err)
	}
}

// packageIOCs gives a tenant's scan packages the indicators a scanner can
// match on the endpoint — hashes, file names, addresses and domains that
// the tenant sees (its own and the global ones, never allowlisted or
// revoked), active now — at most 50,000 of them, most confident first.
func (s *Server) packageIOCs(ctx context.Context, tenant string) ([]scanioc.Indicator, error) {
	sys := access.Caller{Principal: access.System("scan-package")}
	now := time.Now()
	var out []scanioc.Indicator
	for _, t := range []intel.Type{intel.TypeSHA256, intel.TypeFilename, intel.TypeIPv4, intel.TypeIPv6, intel.TypeCIDR, intel.TypeDomain} {
		for p := (access.Page{Limit: 500}); len(out) < 50_000; p.Offset += p.Limit {
			recs, total, err := s.Intel.Indicators(ctx, sys, intelsvc.Query{Scope: access.Scope{Tenants: []string{tenant}}, Type: t, Page: p})
			if err != nil {
				return nil, fmt.Errorf("package indicators: %w", err)
			}
			for _, r := range recs {
				in := r.Indicator
				if in.Revoked || in.Allowlisted != "" || !in.Active(now) {
					continue
				}
				typ := map[intel.Type]string{intel.TypeSHA256: "sha256", intel.TypeFilename: "name", intel.TypeIPv4: "ip",
					intel.TypeIPv6: "ip", intel.TypeCIDR: "ip", intel.TypeDomain: "domain"}[t]
				out = append(out, scanioc.Indicator{Type: typ, Value: in.Value, Description: in.Name, ATTACK: in.Techniques})
			}
			if p.Offset+p.Limit >= total {
				break
			}
		}
	}
	return out, nil
}

// triggerPlaybooks starts the playbooks new alerts match. A failure is
// logged, not returned: the alerts are stored, and catchUpPlaybooks gives
// them another chance at the next start.
func (s *Server) triggerPlaybooks(ctx context.Context, created []tansa.Alert) {
	if s.Playbooks == nil {
		return
	}
	if err := s.Playbooks.Trigger(ctx, created); err != nil {
		s.log.Error("playbook trigger", "alerts", len(created), "err", err)
	}
}

// catchUpPlaybooks offers the alerts of the last playbookCatchUp to the
// playbooks again at start, for alerts stored just before a crash whose
// trigger never ran. Trigger makes one run per playbook and alert, so an
// alert that already started its run starts nothing new.
func (s *Server) catchUpPlaybooks(ctx context.Context) {
	sys := access.Caller{Principal: access.System("playbook-catch-up")}
	q := alert.Query{Since: time.Now().Add(-playbookCatchUp), Status: []tansa.AlertStatus{tansa.AlertNew}}
	q.Limit = 500
	for {
		list, _, err := s.Alerts.List(ctx, sys, q)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("playbook catch-up", "err", err)
			}
			return
		}
		if len(list) > 0 {
			s.triggerPlaybooks(ctx, list)
		}
		if len(list) < q.Limit {
			return
		}
		q.Offset += len(list)
	}
}

// playbookCatchUp is how far back catchUpPlaybooks looks.
const playbookCatchUp = time.Hour

// openPlaybooks builds the playbook runner and service. Runs start on
// alerts through Playbooks.Trigger (the alert service's OnNew) and by
// hand through the API.
func (s *Server) openPlaybooks(cfg Config, log *slog.Logger) error {
	key, err := playbook.LoadOrCreateKey(filepath.Join(cfg.Data, "secret.key"))
	if err != nil {
		return err
	}
	sealer, err := playbook.NewSealer(key)
	if err != nil {
		return err
	}
	started := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tansa_playbook_start_seconds",
		Help:    "Time from a run's creation (an alert or a person starting it) to its first step.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	s.reg.MustRegister(started)
	s.runner = playbook.NewRunner(s.store, playbook.ActionDeps{Sealer: sealer, Intel: s.Intel, Events: s.Events, Tenants: s.Access, Log: log,
		Cases: playbookCases{svc: s.Cases}},
		log, playbook.RunnerOptions{SingleNode: cfg.Store.Driver != "postgres",
			OnStart: func(_ playbook.Run, wait time.Duration) { started.Observe(wait.Seconds()) }})
	s.Playbooks = playbook.NewService(s.store, s.runner, s.Access, s.Access, sealer)
	return nil
}
