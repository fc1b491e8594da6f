package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/tansa-sec/tansa/internal/demo"
	"github.com/tansa-sec/tansa/internal/server"
)

// serverFlags are the flags serve and demo share.
type serverFlags struct {
	config, data, listen, cert, key string
}

func (f *serverFlags) register(fs *flag.FlagSet, defaultData string) {
	fs.StringVar(&f.config, "config", "", "YAML configuration `file` (flags override it)")
	fs.StringVar(&f.data, "data", defaultData, "data `directory`: database, keys and state")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "HTTP(S) listen `address`")
	fs.StringVar(&f.cert, "tls-cert", "", "TLS certificate `file` (PEM); serve HTTPS with --tls-key")
	fs.StringVar(&f.key, "tls-key", "", "TLS private key `file` (PEM)")
}

// config reads the configuration file, when given, and applies the flags
// the user set on top of it.
func (f *serverFlags) load(fs *flag.FlagSet) (server.Config, error) {
	cfg, err := loadConfig(f.config)
	if err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["data"] || cfg.Data == "" {
		cfg.Data = f.data
	}
	if set["listen"] || cfg.Listen == "" {
		cfg.Listen = f.listen
	}
	if set["tls-cert"] {
		cfg.TLS.Cert = f.cert
	}
	if set["tls-key"] {
		cfg.TLS.Key = f.key
	}
	return cfg, cfg.Validate()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "[--data DIR] [--listen ADDR] [--config FILE] [--tls-cert FILE --tls-key FILE]", `
Run the platform: the API, the web console, and every stage of the pipeline.

On the first start in an empty data directory, Tansa creates the user "admin"
(provider administrator). Its password is $TANSA_ADMIN_PASSWORD when set;
otherwise a random one, printed once here and written to
DATA/initial-admin-password (mode 0600).

GET /healthz answers 200 once ready; GET /metrics serves Prometheus metrics.
SIGINT or SIGTERM stops gracefully.`)
	var f serverFlags
	f.register(fs, "./tansa-data")
	if done, err := parse(e, fs, args); done {
		return err
	}
	cfg, err := f.load(fs)
	if err != nil {
		return err
	}
	return serve(ctx, e, cfg, e.getenv("TANSA_ADMIN_PASSWORD"), nil)
}

// serve opens the server, lets prepare seed it, and serves until ctx ends.
func serve(ctx context.Context, e *env, cfg server.Config, adminPassword string, prepare func(context.Context, *server.Server) error) error {
	// Ingest allocates a few KB per event (fields, observables, blocks)
	// that live one fetch: collecting a quarter as often as Go's default
	// saves ~6 % of ingest CPU, and the soft memory limit keeps the heap
	// in budget under a backlog. GOGC and GOMEMLIMIT in the environment win.
	if e.getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if e.getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	}
	log := newLogger(e.stderr, cfg.LogLevel)
	srv, err := server.Open(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.EnsureAdmin(ctx, adminPassword, e.stderr); err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(ctx, srv); err != nil {
			return err
		}
	}
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	return srv.Serve(ctx, func(addr string) {
		fmt.Fprintf(e.stdout, "Tansa is listening on %s://%s\n", scheme, addr)
	})
}

func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "[--data DIR] [--listen ADDR]", `
Run the platform with demo data: a head office in Japan and an overseas
subsidiary, users of every role, and sample data for each area. The data is
created on the first start in an empty data directory and kept afterwards.
Every demo user's password is printed below; do not expose a demo to a network.`)
	var f serverFlags
	f.register(fs, "./tansa-demo")
	if done, err := parse(e, fs, args); done {
		return err
	}
	cfg, err := f.load(fs)
	if err != nil {
		return err
	}
	pw := e.getenv("TANSA_ADMIN_PASSWORD")
	if pw == "" {
		pw = demo.Password
	}
	return serve(ctx, e, cfg, pw, func(ctx context.Context, srv *server.Server) error {
		if srv.Fresh() {
			if err := demo.Seed(ctx, demo.Env{Access: srv.Access, Inputs: srv.Inputs(), Intel: srv.Intel, Rules: srv.Rules}); err != nil {
				return fmt.Errorf("demo data: %w", err)
			}
		}
		demo.PrintLogins(e.stdout, "http://"+cfg.Listen)
		return nil
	})
}

// loadConfig reads the configuration file at path; an empty path gives
// the zero configuration, whose defaults Validate fills in once the flags
// are applied (so that demo's own default data directory wins).
func loadConfig(path string) (server.Config, error) {
	var cfg server.Config
	if path == "" {
		return cfg, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return cfg, err
	}
	defer file.Close()
	if cfg, err = server.ParseConfig(file); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
