// Package web is Tansa's HTTP edge: the JSON API under /api/v1, the
// server-rendered console, health and metrics.
//
// Requests enter through the handler NewServer returns; each route in
// routes.go declares what it needs, one authorisation layer (authorize)
// enforces it, handlers call the services they were given, and errors are
// mapped to HTTP once, in writeError. No handler reaches storage directly.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	intelsvc "github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Deps is everything the HTTP edge needs. Every field is required unless
// its comment says otherwise.
type Deps struct {
	Access *access.Service
	Events *events.Service
	Intel  *intelsvc.Service
	// Hunts runs and shows retro-hunts (issue #5).
	Hunts  *retro.Service
	Inputs *collect.Inputs
	// Fleet serves endpoint sweeps (internal/fleet).
	Fleet *fleet.Service
	// Feeds configures and pulls feed sources (issue #5).
	Feeds *feeds.Service
	// Cases is incident response (internal/cases).
	Cases *cases.Service
	// Alerts raises, lists and triages alerts and keeps their exceptions
	// (alerts engineer).
	Alerts *alert.Service
	// Rules keeps the rule sets and each tenant's rule settings (alerts
	// engineer).
	Rules *ruleset.Service
	// Playbooks runs and shows response playbooks (issue #7); without it
	// their routes answer 503.
	Playbooks *playbook.Service
	Logger    *slog.Logger
	Metrics   *prometheus.Registry
	// Ready reports whether the server is ready to serve (healthz).
	Ready func() bool
	// Secure marks cookies Secure; set when serving TLS or behind a TLS proxy.
	Secure  bool
	Version string
}

// Server is the HTTP handler of the whole platform.
type Server struct {
	deps   Deps
	mux    *http.ServeMux
	routes []route
	http   *httpMetrics
	csrf   *http.CrossOriginProtection
	pages  *pages
	// closing ends the long-lived streams (/api/v1/alerts/stream) when the
	// server shuts down, which would otherwise wait for their clients.
	closing   chan struct{}
	closeOnce sync.Once
}

// CloseStreams ends every open event stream; call it when shutting down
// (http.Server.RegisterOnShutdown).
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// NewServer returns the handler serving every route in routes.go.
func NewServer(d Deps) *Server {
	s := &Server{deps: d, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(), closing: make(chan struct{})}
	s.http = newHTTPMetrics(d.Metrics)
	s.pages = newPages()
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(route{Path: "/", Auth: authNone, h: http.HandlerFunc(s.handleNotFound)}))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	if s.deps.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

// wrap adds, around one route's handler: metrics, panic recovery, CSRF
// protection for state-changing browser requests, authentication and the
// route's permission check.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.Method + " " + rt.Path
	if rt.Method == "" {
		label = "unmatched"
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.deps.Logger.Error("panic in handler", "route", label, "panic", v)
				s.fail(w, r, rt, errInternal)
			}
		}()
		if err := s.csrf.Check(r); err != nil {
			s.fail(w, r, rt, errCrossOrigin)
			return
		}
		r, err := s.authorize(r, rt)
		if err != nil {
			s.fail(w, r, rt, err)
			return
		}
		rt.h.ServeHTTP(w, r)
	})
	return s.http.instrument(label, h)
}

// fail answers err in the route's kind: JSON for the API and machines, a
// page or a redirect to the login page for the console.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rt route, err error) {
	switch rt.Proto {
	case "hec":
		collect.HECError(w, err)
		return
	case "es":
		collect.ESError(w, err)
		return
	case "sweep":
		// Refusals by the service are audited there; these are the ones
		// made before it (authentication, role).
		if k := tansa.KindOf(err); k == tansa.Unauthorized || k == tansa.Forbidden {
			s.auditSweepRefusal(r, err)
		}
	case "taxii":
		s.taxiiError(w, r, err)
		return
	}
	if rt.Page {
		s.pageError(w, r, err)
		return
	}
	s.writeError(w, r, err)
}

type ctxKey int

const principalKey ctxKey = 1

func principalOf(r *http.Request) (access.Principal, bool) {
	p, ok := r.Context().Value(principalKey).(access.Principal)
	return p, ok
}

// caller returns who is making request r, for the services.
func caller(r *http.Request) access.Caller {
	p, _ := principalOf(r)
	return access.Caller{Principal: p, Addr: remoteAddr(r)}
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func withPrincipal(r *http.Request, p access.Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey, p))
}

// httpMetrics counts requests and their latencies per route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tansa_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tansa_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *httpMetrics) instrument(label string, h http.Handler) http.Handler {
	obs := m.latency.WithLabelValues(label)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		obs.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(label, strconv.Itoa(sw.code)).Inc()
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil && !s.deps.Ready() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.deps.Logger.Handler(), slog.LevelError)})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	page := !isAPIPath(r.URL.Path)
	// A path some route takes with another method is answered 405 with
	// the methods it does take, rather than 404.
	var methods []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			methods = append(methods, m)
		}
	}
	if len(methods) > 0 {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		s.fail(w, r, route{Page: page}, &tansa.Error{Kind: tansa.MethodNotAllowed,
			Message: fmt.Sprintf("%s is not accepted here; use %s", r.Method, orList(methods))})
		return
	}
	s.fail(w, r, route{Page: page}, errNoRoute)
}

// orList joins "GET", "HEAD", "POST" as "GET, HEAD or POST".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
