package scan

import (
	"context"
	"crypto/ed25519"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/scan/ioc"
	"github.com/tansa-sec/tansa/internal/scan/pkgconfig"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// embeddedConfig is the per-tenant configuration built into a scanner
// binary: the release step for a tenant replaces embedded.json before
// building, so that an endpoint can be swept with no flags at all. The
// file committed to the repository is empty ({}).
//
//go:embed embedded.json
var embeddedConfig []byte

// Config is what an embedded or --config file may preset. Flags and
// environment variables override it.
type Config struct {
	Server    string `json:"server,omitempty"`
	Token     string `json:"token,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	MaxCPU    int    `json:"max_cpu,omitempty"`
	Timeout   string `json:"timeout,omitempty"`
	// The rest comes from a scan package built by the server.
	Tenant   string `json:"tenant,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Schedule describes how often the package is meant to run ("once",
	// "24h"); the scanner runs once per start and keeps no state, so the
	// GPO, cron or SCCM job that starts it carries the schedule out.
	Schedule   string             `json:"schedule,omitempty"`
	IOC        json.RawMessage    `json:"ioc,omitempty"`
	Exceptions []result.Exception `json:"exceptions,omitempty"`
}

// packageKey, when set at build time (-ldflags "-X
// github.com/tansa-sec/tansa/internal/scan.packageKey=BASE64"), is the one
// ed25519 key whose package configurations this scanner accepts. Without
// it the scanner checks the signature against the key the package carries,
// which catches a damaged package but not a substituted key.
var packageKey string

// appendedConfig reads the signed configuration a scan package appended to
// the running executable; found is false for a plain binary.
func appendedConfig() (cfg []byte, signer string, found bool, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", false, nil
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil, "", false, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", false, nil
	}
	var pinned ed25519.PublicKey
	if packageKey != "" {
		k, err := base64.StdEncoding.DecodeString(packageKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, "", true, errors.New("scan: the package key built into this scanner is malformed")
		}
		pinned = k
	}
	payload, key, err := pkgconfig.Read(f, st.Size(), pinned)
	if errors.Is(err, pkgconfig.ErrNone) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", true, fmt.Errorf("scan: %w; refusing to run with it", err)
	}
	return payload, base64.StdEncoding.EncodeToString(key), true, nil
}

const usage = `Usage: tansa scan [flags]

Sweep this computer for signs of compromise: running processes, network
connections, autostart entries, installed software, recently created files
and name resolution. Findings are scored 0–100 with an explanation. Nothing
is installed and nothing is written except the output file; the scan runs
at low priority and is silent unless asked to print.

Deliver the result in one or more ways:

  tansa scan --summary                         print findings as a table
  tansa scan --local --out host.json           write plain JSON (for review)
  tansa scan --out host.tansa --recipient age1…
                                               write it gzip-compressed and
                                               encrypted to the server's key
  tansa scan --server https://tansa.example --token T --recipient age1…
                                               upload it (retried with back-off)

Add your own intelligence and limits:

  tansa scan --ioc intel.json --max-cpu 20 --timeout 5m --summary

Run as root or Administrator to see every process; without it the scan
still runs and lists what it could not see under "errors" in the result.

Environment: TANSA_SCAN_SERVER, TANSA_SCAN_TOKEN, TANSA_SCAN_RECIPIENT
(preferred for the token: command lines are visible to other users).
The result format is described in docs/scan-result.md.

Flags:
`

// Main parses args (without the program and subcommand names) and runs
// the sweep. getenv supplies the environment; stdout receives --summary
// and --help, stderr --verbose progress. It returns flag.ErrHelp after
// printing help.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	if len(embeddedConfig) > 0 {
		if err := json.Unmarshal(embeddedConfig, &cfg); err != nil {
			return fmt.Errorf("scan: embedded configuration: %w", err)
		}
	}
	pkg, signer, packaged, err := appendedConfig()
	if err != nil {
		return err
	}
	if packaged {
		if err := json.Unmarshal(pkg, &cfg); err != nil {
			return fmt.Errorf("scan: package configuration: %w", err)
		}
	}
	fs := flag.NewFlagSet("tansa scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts       Options
		iocFiles   listFlag
		yaraFiles  listFlag
		configFile string
		recentDays int
		normalPrio bool
	)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.StringVar(&configFile, "config", "", "read server, token, recipient, max_cpu and timeout from this JSON `file`")
	fs.BoolVar(&opts.Summary, "summary", false, "print the findings as a table on stdout")
	fs.BoolVar(&opts.Local, "local", false, "write the result unencrypted (with --out)")
	fs.StringVar(&opts.Out, "out", "", "write the result to `file` (encrypted unless --local)")
	fs.StringVar(&opts.Recipient, "recipient", "", "the server's age public `key` (age1…) to encrypt to")
	fs.StringVar(&opts.Server, "server", "", "upload to this Tansa server `URL`")
	fs.StringVar(&opts.Token, "token", "", "enrolment `token` for the upload")
	fs.Var(&iocFiles, "ioc", "IOC package `file` (JSON) to match; repeatable")
	fs.Var(&yaraFiles, "yara", "YARA rules `file`; repeatable (needs a binary built with the yara tag)")
	yaraMaxMB := fs.Int("yara-max-mb", DefaultYARAMaxSize>>20, "scan files up to this many `MB` with YARA; bigger ones are listed in the result's errors")
	fs.IntVar(&opts.MaxCPU, "max-cpu", 0, "use at most this `percent` of one CPU (default 50)")
	timeout := fs.Duration("timeout", 0, "stop collecting after this `duration` and deliver what was found (default 15m)")
	fs.IntVar(&recentDays, "recent-days", 14, "files modified within this many `days` count as recent")
	fs.StringVar(&opts.Root, "root", "", "read files under this `directory` (a mounted disk image) instead of the live system")
	fs.IntVar(&opts.Retries, "retries", 6, "retry a failed upload this many `times`")
	fs.BoolVar(&normalPrio, "normal-priority", false, "do not lower the scan's CPU and I/O priority")
	fs.BoolVar(&opts.Verbose, "verbose", false, "report progress on stderr")
	showConfig := fs.Bool("show-config", false, "print the configuration this scanner would use (package, file, environment) and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("scan: unexpected argument %q (see tansa scan --help)", fs.Arg(0))
	}
	if configFile != "" {
		data, err := os.ReadFile(configFile)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("scan: config %s: %w", configFile, err)
		}
	}
	opts.Server = first(opts.Server, getenv("TANSA_SCAN_SERVER"), cfg.Server)
	opts.Token = first(opts.Token, getenv("TANSA_SCAN_TOKEN"), cfg.Token)
	opts.Recipient = first(opts.Recipient, getenv("TANSA_SCAN_RECIPIENT"), cfg.Recipient)
	opts.MaxCPU = cmpInt(cmpInt(opts.MaxCPU, cfg.MaxCPU), 50)
	if *yaraMaxMB < 1 {
		return fmt.Errorf("scan: --yara-max-mb %d must be at least 1", *yaraMaxMB)
	}
	opts.YARAMaxSize = int64(*yaraMaxMB) << 20
	opts.Timeout = *timeout
	if opts.Timeout == 0 && cfg.Timeout != "" {
		d, err := time.ParseDuration(cfg.Timeout)
		if err != nil {
			return fmt.Errorf("scan: config timeout: %w", err)
		}
		opts.Timeout = d
	}
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Minute
	}
	if recentDays <= 0 {
		return fmt.Errorf("scan: --recent-days %d must be positive", recentDays)
	}
	opts.Recent = time.Duration(recentDays) * 24 * time.Hour
	opts.LowPriority = !normalPrio
	opts.Tenant, opts.Campaign, opts.Exceptions = cfg.Tenant, cfg.Campaign, cfg.Exceptions
	if len(cfg.IOC) > 0 && string(cfg.IOC) != "null" {
		s, err := ioc.Parse(cfg.IOC)
		if err != nil {
			return fmt.Errorf("scan: package IOCs: %w", err)
		}
		opts.IOC = s
	}
	if *showConfig {
		return printConfig(stdout, opts, cfg.Schedule, packaged, signer)
	}
	opts.YARAFiles = yaraFiles
	if opts.Local {
		// An unencrypted local file never goes to a server, even one
		// named by the embedded configuration or the environment.
		opts.Server = ""
	}
	if len(iocFiles) > 0 {
		if opts.IOC == nil {
			opts.IOC = &ioc.Set{}
		}
		for _, f := range iocFiles {
			data, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			s, err := ioc.Parse(data)
			if err != nil {
				return fmt.Errorf("scan: %s: %w", f, err)
			}
			if err := opts.IOC.Merge(s); err != nil {
				return fmt.Errorf("scan: %s: %w", f, err)
			}
		}
	}
	err = Run(ctx, opts, stdout, stderr)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("scan: interrupted: %w", err)
	}
	return err
}

// printConfig shows what a sweep would use, for checking a package before
// distributing it. The token is shown by its first characters only.
func printConfig(w io.Writer, o Options, schedule string, packaged bool, signer string) error {
	tok := o.Token
	if len(tok) > 12 {
		tok = tok[:12] + "…"
	}
	src := "none (flags, --config and environment only)"
	if packaged {
		src = "appended to this binary, signed by ed25519 key " + signer
		if packageKey != "" {
			src += " (pinned)"
		}
	}
	nIOC := 0
	if o.IOC != nil {
		nIOC = o.IOC.Len()
	}
	_, err := fmt.Fprintf(w, "package:    %s\nserver:     %s\ntoken:      %s\nrecipient:  %s\ntenant:     %s\ncampaign:   %s\nschedule:   %s\nmax cpu:    %d%%\ntimeout:    %s\nindicators: %d\nexceptions: %d\n",
		src, o.Server, tok, o.Recipient, o.Tenant, o.Campaign, schedule, o.MaxCPU, o.Timeout, nIOC, len(o.Exceptions))
	return err
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
