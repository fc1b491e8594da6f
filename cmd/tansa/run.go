package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage means the usage was already printed; the exit code is 2.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand receives from run.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the platform", cmdServe},
		{"demo", "run the platform with demo tenants, users and data", cmdDemo},
		{"tenant", "create and list tenants (tenant create|list)", cmdTenant},
		{"user", "create, list and reset users (user create|list|reset-password)", cmdUser},
		{"token", "create, list and revoke API tokens (token create|list|revoke)", cmdToken},
		{"ingest", "import log files (EVTX, JSON lines, CSV, syslog) into a running server", cmdIngest},
		{"intel", "import threat intelligence (STIX, MISP, CSV, lists) into a running server (intel import)", cmdIntel},
		{"rules", "test Sigma rule sets against their regression cases (rules test)", cmdRules},
		{"hunt", "run Sigma rules over EVTX and JSON log files offline; a timeline of matches", cmdHunt},
		{"scan", "sweep this endpoint: processes, network, persistence, software, files; findings with reasons", cmdScan},
		{"version", "print the version", cmdVersion},
	}
}

// run is the program: it dispatches args[1] to a subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		usage(stderr)
		return errUsage
	}
	name := args[1]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[2:])
		}
	}
	fmt.Fprintf(stderr, "tansa: unknown command %q\n\n", name)
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Tansa — security operations for a group of companies, in one binary.

Usage:
  tansa <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "tansa <command> --help" for a command's flags.

Start here:
  tansa demo                     a demo on http://127.0.0.1:8080 with two tenants
  tansa serve --data /var/lib/tansa --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem
`)
}

// newFlags returns a flag set whose --help prints the command's synopsis,
// description and flags.
func newFlags(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("tansa "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tansa %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; --help prints usage to stdout and ends the command
// successfully, and a bad flag is a usage error.
func parse(e *env, fs *flag.FlagSet, args []string) (done bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return true, nil
	case err != nil:
		fmt.Fprintf(e.stderr, "tansa: %v\n", err)
		fs.Usage()
		return true, errUsage
	}
	return false, nil
}

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "", "Print the version of this binary.")
	if done, err := parse(e, fs, args); done {
		return err
	}
	fmt.Fprintln(e.stdout, "tansa", version)
	return nil
}
