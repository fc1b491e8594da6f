// Package scan is the endpoint scanner behind `tansa scan`: it collects
// forensic artifacts from the machine it runs on, judges them with IOCs
// and behaviour heuristics, and delivers one result document — to a file,
// encrypted to the server's key, or uploaded to the server.
//
// Data enters through Options (or command-line flags parsed by Main) and
// the endpoint's own files and APIs (package collect); it leaves as the
// JSON document of package result, written or uploaded by Run. The
// scanner imports no server package, so the binary's scan path stays
// small and its behaviour easy to audit; a test walks the import graph.
package scan

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/scan/collect"
	"github.com/tansa-sec/tansa/internal/scan/heuristics"
	"github.com/tansa-sec/tansa/internal/scan/ioc"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// Options configure one sweep. The zero value sweeps the live system with
// no output, so at least one of Out, Server or Summary must be set.
type Options struct {
	// Root is the filesystem root to read; empty means the live system.
	// With any other root only file-based artifacts are collected.
	Root string
	// IOC holds the indicators to match; nil matches none.
	IOC *ioc.Set
	// YARAFiles are YARA rule files to run over the executables of
	// processes and recent files; without the yara build tag they are
	// reported as skipped in the result's errors.
	YARAFiles []string
	// YARAMaxSize is the largest file scanned with YARA, in bytes; zero
	// means DefaultYARAMaxSize.
	YARAMaxSize int64
	// MaxCPU is the share of one CPU the sweep may use, in percent
	// (1–100); zero means 100.
	MaxCPU int
	// Timeout bounds collection; when it runs out the sweep stops
	// collecting and still delivers what it has. Zero means no limit.
	Timeout time.Duration
	// Recent is how old a file may be and still count as recently
	// created; zero means 14 days.
	Recent time.Duration
	// LowPriority lowers the process's CPU and I/O priority first.
	LowPriority bool

	// Local writes the result unencrypted (to Out).
	Local bool
	// Out is the output file: plain JSON with Local, otherwise the
	// gzip-compressed result encrypted to Recipient with age.
	Out string
	// Summary prints the findings as a table to stdout.
	Summary bool
	// Recipient is the server's age X25519 public key ("age1…").
	Recipient string
	// Server is the base URL of the Tansa server to upload to; Token is
	// the enrolment token sent as a bearer token.
	Server string
	Token  string
	// Retries is how many times a failed upload is retried; RetryBase is
	// the first back-off, doubled after each attempt. Zero values mean 6
	// and 2 s.
	Retries   int
	RetryBase time.Duration
	// HTTPClient sends the upload; nil means a client with a 60 s timeout.
	HTTPClient *http.Client

	// Tenant and Campaign are recorded in the result (from a package).
	Tenant   string
	Campaign string
	// Exceptions are finding keys reviewers marked benign; matching
	// findings are dropped and counted in the result's excepted.
	Exceptions []result.Exception

	// Verbose reports progress on stderr; the scanner is otherwise silent.
	Verbose bool
	// logf, set by Run, receives Sweep's progress reports.
	logf func(format string, args ...any)
	// Version is recorded in the result as the scanner's version.
	Version string
}

// Run performs one sweep as opts describe and delivers its result. Errors
// in collecting are recorded in the result, not returned; Run returns an
// error only when the options are invalid or the result could not be
// delivered anywhere.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		if opts.Verbose {
			fmt.Fprintf(stderr, "tansa scan: "+format+"\n", args...)
		}
	}
	var recipient age.Recipient
	if !opts.Local && (opts.Out != "" || opts.Server != "") {
		rcpt, err := age.ParseX25519Recipient(strings.TrimSpace(opts.Recipient))
		if err != nil {
			return fmt.Errorf("scan: recipient %q: %w", opts.Recipient, err)
		}
		recipient = rcpt
	}

	opts.logf = logf
	r, err := Sweep(ctx, opts)
	if err != nil {
		return err
	}
	logf("collected %d processes, %d connections, %d persistence entries, %d packages, %d files; %d findings, %d errors",
		len(r.Processes), len(r.Connections), len(r.Persistence), len(r.Software), len(r.Files), len(r.Findings), len(r.Errors))

	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("scan: encode result: %w", err)
	}
	var errs []error
	if opts.Local && opts.Out != "" {
		if err := writeFile(opts.Out, doc); err != nil {
			errs = append(errs, err)
		} else {
			logf("wrote %s (%d bytes, unencrypted)", opts.Out, len(doc))
		}
	}
	if recipient != nil {
		sealed, err := Seal(doc, recipient)
		if err != nil {
			return err
		}
		if opts.Out != "" {
			if err := writeFile(opts.Out, sealed); err != nil {
				errs = append(errs, err)
			} else {
				logf("wrote %s (%d bytes from %d, encrypted)", opts.Out, len(sealed), len(doc))
			}
		}
		if opts.Server != "" {
			if err := upload(ctx, opts, r.SweepID, sealed, logf); err != nil {
				if opts.Out != "" && len(errs) == 0 {
					err = fmt.Errorf("%w (the encrypted result is in %s)", err, opts.Out)
				}
				errs = append(errs, err)
			} else {
				logf("uploaded sweep %s to %s (%d bytes)", r.SweepID, opts.Server, len(sealed))
			}
		}
	}
	if opts.Summary {
		if err := WriteSummary(stdout, r); err != nil {
			errs = append(errs, fmt.Errorf("scan: summary: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (o Options) validate() error {
	if o.Out == "" && o.Server == "" && !o.Summary {
		return errors.New("scan: nothing to do: give --out FILE, --server URL or --summary")
	}
	if o.Local && o.Server != "" {
		return errors.New("scan: --local writes an unencrypted file and cannot be combined with --server")
	}
	if !o.Local && (o.Out != "" || o.Server != "") && strings.TrimSpace(o.Recipient) == "" {
		return errors.New("scan: the result is encrypted to the server's key: give --recipient age1… (or --local for an unencrypted file)")
	}
	if o.Server != "" && o.Token == "" {
		return errors.New("scan: uploading needs an enrolment token: give --token or TANSA_SCAN_TOKEN")
	}
	if o.MaxCPU < 0 || o.MaxCPU > 100 {
		return fmt.Errorf("scan: --max-cpu %d is outside 1–100", o.MaxCPU)
	}
	return nil
}

// DefaultYARAMaxSize is the largest file scanned with YARA unless
// Options.YARAMaxSize says otherwise. libyara maps a file into memory
// whole and its pages count towards the sweep's resident size, which a
// scanner that runs silently on every endpoint keeps small; a bigger file
// is named in the result's errors, never skipped silently. (LOKI, whose
// rule set signature-base is, skips files over 5 MB by default.)
const DefaultYARAMaxSize = 16 << 20

// Sweep collects and evaluates one result without delivering it. It
// returns an error only if ctx is already done; a timeout during
// collection yields a partial result whose errors say what was missed.
func Sweep(ctx context.Context, opts Options) (*result.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &result.Result{
		Schema:  result.SchemaVersion,
		SweepID: newID(),
		Scanner: "tansa-scan " + cmp(opts.Version, "dev") + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Started: time.Now().UTC(),
		Tenant:  opts.Tenant, Campaign: opts.Campaign,
	}
	if opts.LowPriority {
		if err := lowerPriority(); err != nil {
			r.Errorf("scanner", "priority", "could not lower priority: %v", err)
		}
	}
	cctx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, fmt.Errorf("time budget of %s used up", opts.Timeout))
		defer cancel()
	}
	throttle := collect.NewThrottle(cmpInt(opts.MaxCPU, 100))
	live := opts.Root == "" || filepath.Clean(opts.Root) == filepath.Clean(string(filepath.Separator))
	// The YARA rules are compiled first, while the sweep's heap is
	// still small: compiling needs about as much memory again as the
	// compiled rules keep.
	yr := loadYARA(cctx, opts.YARAFiles, r, throttle.Tick)
	c := collect.New(collect.Options{
		Root: opts.Root, Live: live, Throttle: throttle, Recent: opts.Recent, IOCPaths: opts.IOC.Paths(),
	})
	c.Collect(cctx, r)
	rules := heuristics.New()
	if yr != nil {
		// The collectors' garbage goes back to the operating system
		// before libyara maps the files it scans beside the rules.
		debug.FreeOSMemory()
	}
	yr.scan(cctx, r, throttle.Tick, rules.Catalogue()["yara.match"], cmpInt(opts.YARAMaxSize, DefaultYARAMaxSize))
	yr.close()
	if opts.IOC != nil {
		r.Findings = append(r.Findings, opts.IOC.Match(r)...)
	}
	r.Findings = append(r.Findings, rules.Evaluate(r)...)
	if live {
		r.Findings = withoutSelf(r.Findings)
	}
	r.Findings, r.Excepted = withoutExceptions(r.Findings, opts.Exceptions)
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Score > r.Findings[j].Score })
	r.Finished = time.Now().UTC()
	if opts.logf != nil {
		opts.logf("swept in %s, of which %s paused to keep to --max-cpu %d",
			r.Finished.Sub(r.Started).Round(time.Millisecond), throttle.Slept().Round(time.Millisecond), cmpInt(opts.MaxCPU, 100))
	}
	r.Normalize()
	return r, nil
}

// withoutSelf drops findings about the scanner's own process and
// executable: it is often started from a temporary or download folder,
// and flagging it on every endpoint would only bury real findings.
func withoutSelf(fs []result.Finding) []result.Finding {
	pid := os.Getpid()
	exe, _ := os.Executable()
	kept := fs[:0]
	for _, f := range fs {
		if (f.Subject.Kind == "process" && f.Subject.PID == pid) || (f.Subject.Kind == "file" && exe != "" && f.Subject.Path == exe) {
			continue
		}
		kept = append(kept, f)
	}
	return kept
}

// withoutExceptions drops the findings whose key a reviewer marked benign
// and returns how many it dropped.
func withoutExceptions(fs []result.Finding, ex []result.Exception) ([]result.Finding, int) {
	if len(ex) == 0 {
		return fs, 0
	}
	skip := make(map[string]bool, len(ex))
	for _, e := range ex {
		skip[e.Key] = true
	}
	kept := fs[:0]
	for _, f := range fs {
		if !skip[f.Key()] {
			kept = append(kept, f)
		}
	}
	return kept, len(fs) - len(kept)
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func cmpInt[T int | int64](n, def T) T {
	if n == 0 {
		return def
	}
	return n
}

// newID returns a random sweep identifier; it doubles as the upload's
// idempotency key, so that a retried upload is stored once.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Seal compresses doc with gzip and encrypts it to recipient with age.
// The server opens it with Open and the matching identity.
func Seal(doc []byte, recipient age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipient)
	if err != nil {
		return nil, fmt.Errorf("scan: encrypt: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("scan: compress: %w", err)
	}
	if _, err := zw.Write(doc); err != nil {
		return nil, fmt.Errorf("scan: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("scan: compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("scan: encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// OpenStage is the step of Open that refused a sealed result.
type OpenStage int

// The steps of Open, in order.
const (
	OpenDecrypt    OpenStage = iota // not age, another recipient, or altered
	OpenDecompress                  // truncated or altered inside the encryption
	OpenTooLarge                    // more JSON than the limit
	OpenDecode                      // not a result's JSON
)

var openStages = [...]string{"decrypt", "decompress", "size", "decode"}

// OpenError is Open's error: the step that failed and why. Callers tell
// the ways a file can be bad apart by Stage, not by the message.
type OpenError struct {
	Stage OpenStage
	Limit int64 // for OpenTooLarge
	Err   error // the cause; nil for OpenTooLarge
}

func (e *OpenError) Error() string {
	if e.Stage == OpenTooLarge {
		return fmt.Sprintf("open sweep: result larger than %d bytes", e.Limit)
	}
	return fmt.Sprintf("open sweep: %s: %v", openStages[e.Stage], e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// Open reverses Seal: it decrypts sealed with identity, decompresses it,
// and decodes the result, reading at most limit bytes of JSON so that a
// hostile upload cannot exhaust memory. Its errors are *OpenError.
func Open(sealed io.Reader, identity age.Identity, limit int64) (*result.Result, error) {
	pr, err := age.Decrypt(sealed, identity)
	if err != nil {
		return nil, &OpenError{Stage: OpenDecrypt, Err: err}
	}
	zr, err := gzip.NewReader(pr)
	if err != nil {
		return nil, &OpenError{Stage: OpenDecompress, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, &OpenError{Stage: OpenDecompress, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &OpenError{Stage: OpenTooLarge, Limit: limit}
	}
	var r result.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &OpenError{Stage: OpenDecode, Err: err}
	}
	return &r, nil
}

// writeFile writes data to a new file beside path and renames it into
// place, so that a reader never sees half a result.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("scan: write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("scan: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("scan: write %s: %w", path, err)
	}
	return nil
}

// WriteSummary prints r's findings as a table, highest score first,
// followed by a count of what was collected and what could not be.
func WriteSummary(w io.Writer, r *result.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SCORE\tSEVERITY\tRULE\tSUBJECT\tWHY\n")
	for _, f := range r.Findings {
		subj := f.Subject.Kind
		switch {
		case f.Subject.PID != 0:
			subj = fmt.Sprintf("%s %d", subj, f.Subject.PID)
		case f.Subject.Path != "":
			subj += " " + f.Subject.Path
		case f.Subject.Ref != "":
			subj += " " + f.Subject.Ref
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", f.Score, f.Severity, f.Rule, oneLine(subj, 60), oneLine(f.Message, 200))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d findings on %s: %d processes, %d connections, %d persistence entries, %d packages, %d files; %d collection errors.\n",
		len(r.Findings), r.Host.Hostname, len(r.Processes), len(r.Connections), len(r.Persistence), len(r.Software), len(r.Files), len(r.Errors))
	return err
}

// oneLine keeps a table cell on one line and bounded in width.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if len([]rune(s)) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}
