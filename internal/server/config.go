package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the server's configuration: a YAML file given with --config,
// then flags on top. The zero value of every field means its default.
type Config struct {
	// Data is the data directory (./tansa-data).
	Data string `yaml:"data"`
	// Listen is the HTTP address (127.0.0.1:8080).
	Listen string `yaml:"listen"`
	TLS    struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	// Store chooses the database: sqlite in the data directory (default) or
	// postgres at URL, for the cluster path.
	Store struct {
		Driver string `yaml:"driver"`
		URL    string `yaml:"url"`
	} `yaml:"store"`
	// Bus chooses the ingest queue: an embedded NATS JetStream server in the
	// data directory (default), or an external NATS cluster at URL.
	Bus struct {
		URL      string `yaml:"url"`
		MaxBytes int64  `yaml:"max_bytes"` // the queue's size on disk before inputs refuse (8 GiB)
		Replicas int    `yaml:"replicas"`  // stream replicas in a cluster (1)
	} `yaml:"bus"`
	// Syslog lists the syslog listeners; each belongs to one tenant.
	Syslog  []SyslogListener `yaml:"syslog"`
	Session struct {
		Idle     Duration `yaml:"idle"`     // 30m
		Absolute Duration `yaml:"absolute"` // 12h
	} `yaml:"session"`
	Login struct {
		MaxFailures int      `yaml:"max_failures"` // 5
		Lockout     Duration `yaml:"lockout"`      // 15m
	} `yaml:"login"`
	// SecureCookies marks cookies Secure even without TLS here, for a server
	// behind a TLS-terminating proxy.
	SecureCookies bool `yaml:"secure_cookies"`
	// LogLevel is debug, info, warn or error (info).
	LogLevel string `yaml:"log_level"`
	// Fleet configures endpoint sweeps (internal/fleet).
	Fleet struct {
		// ServerURL is the base URL scanners upload to, written into scan
		// packages (https://tansa.example.com); without it no package
		// can be built.
		ServerURL string `yaml:"server_url"`
		// Binaries is the directory of platform binaries made by
		// scripts/release.sh (DATA/scan-binaries).
		Binaries string `yaml:"binaries"`
	} `yaml:"fleet"`
}

// SyslogListener is one syslog input.
type SyslogListener struct {
	Protocol string `yaml:"protocol"` // udp, tcp or tls
	Listen   string `yaml:"listen"`   // host:port, e.g. 0.0.0.0:5514
	Tenant   string `yaml:"tenant"`   // tenant ID the records belong to
	Format   string `yaml:"format"`   // a format hint such as cef or fortigate; empty detects
	TLS      struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
}

// Duration is a time.Duration written as "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 30m", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 30m or 12h", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// maxConfig bounds a configuration file; a larger one is a mistake.
const maxConfig = 1 << 20

// ParseConfig reads a YAML configuration. Unknown keys, wrong types and bad
// values are errors that name the line.
func ParseConfig(r io.Reader) (Config, error) {
	var c Config
	b, err := io.ReadAll(io.LimitReader(r, maxConfig+1))
	if err != nil {
		return c, err
	}
	if len(b) > maxConfig {
		return c, fmt.Errorf("config: larger than %d bytes", maxConfig)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config: only one YAML document is allowed")
	}
	return c, c.Validate()
}

// Validate checks the values that can be checked without touching the
// machine, and fills in defaults.
func (c *Config) Validate() error {
	if c.Data == "" {
		c.Data = "./tansa-data"
	}
	if c.Fleet.Binaries == "" {
		c.Fleet.Binaries = filepath.Join(c.Data, "scan-binaries")
	}
	if u := c.Fleet.ServerURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return fmt.Errorf("config: fleet: server_url %q is not an http(s) URL", u)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("config: listen: %q is not host:port", c.Listen)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("config: tls: give both cert and key, or neither")
	}
	switch c.Store.Driver {
	case "", "sqlite":
		c.Store.Driver = "sqlite"
		if c.Store.URL != "" {
			return errors.New("config: store: url is for the postgres driver; sqlite lives in the data directory")
		}
	case "postgres":
		if c.Store.URL == "" {
			return errors.New("config: store: the postgres driver needs url (postgres://user:pass@host/db)")
		}
	default:
		return fmt.Errorf("config: store: driver %q is not sqlite or postgres", c.Store.Driver)
	}
	for i, l := range c.Syslog {
		switch l.Protocol {
		case "udp", "tcp":
		case "tls":
			if l.TLS.Cert == "" || l.TLS.Key == "" {
				return fmt.Errorf("config: syslog[%d]: tls needs tls.cert and tls.key", i)
			}
		default:
			return fmt.Errorf("config: syslog[%d]: protocol %q is not udp, tcp or tls", i, l.Protocol)
		}
		if _, _, err := net.SplitHostPort(l.Listen); err != nil {
			return fmt.Errorf("config: syslog[%d]: listen %q is not host:port", i, l.Listen)
		}
		if l.Tenant == "" {
			return fmt.Errorf("config: syslog[%d]: tenant is required (the ID from tansa tenant list)", i)
		}
	}
	if c.Login.MaxFailures < 0 || c.Login.MaxFailures > 1000 {
		return fmt.Errorf("config: login: max_failures %d must be from 1 to 1000", c.Login.MaxFailures)
	}
	switch c.LogLevel {
	case "":
		c.LogLevel = "info"
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level: %q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}
