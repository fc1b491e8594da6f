// Package hunt runs Sigma rules over log files offline: the engine behind
// "tansa hunt".
//
// Rules enter as Sigma files or directories (parsed by package sigma);
// events enter as EVTX files and JSON files, plain or gzipped, in the
// Windows layouts package winevt reads and the Office 365 audit and Entra ID
// sign-in layouts package o365 reads. Files are read and matched in
// parallel against one shared Ruleset. Matches leave as a timeline (JSON
// lines or CSV, sorted by event time) and a Summary.
//
// Correlation rules need their events in time order, and parallel workers
// deliver them in no useful order. So workers keep, of every event that
// matched a detection rule some correlation references, its time, its
// position and the few fields the correlations read; after all files are
// read those records are sorted by time and fed to one Correlator. Memory
// therefore grows with the matches, never with the events read.
package hunt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tansa-sec/tansa/internal/detect/sigma"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Options say what to hunt with, where, and how to write the results.
type Options struct {
	Rules    []string // Sigma rule files and directories (walked recursively)
	Paths    []string // EVTX and JSON files and directories (walked recursively)
	MinLevel string   // informational (also ""), low, medium, high or critical
	Format   string   // "jsonl" (also "") or "csv"
	Out      string   // output file; "" writes to Run's stdout
	Workers  int      // files read at once; zero or less means GOMAXPROCS
	// Progress shows a progress bar with events per second on stderr;
	// callers set it only when stderr is a terminal.
	Progress bool
}

// Summary counts what a hunt read and found.
type Summary struct {
	Rules, Correlations int // detection and correlation rules in use
	ParseFailures       int // rule files that did not parse
	CompileFailures     int // rules that parsed but did not compile
	NotApplicable       int // rules for log sources a hunt never reads (linux, aws, …)

	Files      int   // files read
	Skipped    int   // files found in directories that are neither EVTX nor JSON
	FileErrors int   // files that could not be read, reported on stderr
	Bytes      int64 // size of the files read
	Events     int64 // events read
	Unparsed   int64 // records that could not be turned into events

	Total             int            // output lines
	Matches           map[string]int // output lines per level
	CorrelationAlerts int            // output lines of correlation rules
	Top               []RuleCount    // the ten rules with the most output lines

	Elapsed time.Duration
}

// Run hunts with the rules of opts.Rules through the files of opts.Paths
// and writes the matches of level opts.MinLevel and above as a timeline to
// stdout (or opts.Out). Rule files that do not parse, rules that do not
// compile and files that cannot be read are reported on stderr and
// counted, and the hunt goes on without them; the summary ends on stderr.
// The error is non-nil when the options are invalid, no rule loads, an
// input path does not exist, the output cannot be written, or ctx ends.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) (Summary, error) {
	start := time.Now()
	sum := Summary{Matches: map[string]int{}}
	minLevel, err := ParseLevel(opts.MinLevel)
	if err != nil {
		return sum, err
	}
	switch opts.Format {
	case "":
		opts.Format = "jsonl"
	case "jsonl", "csv":
	default:
		return sum, fmt.Errorf("format %q is not jsonl or csv", opts.Format)
	}
	if len(opts.Rules) == 0 {
		return sum, errors.New("no rules given")
	}
	if len(opts.Paths) == 0 {
		return sum, errors.New("no input given")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	rs, err := loadRules(opts.Rules, stderr)
	if err != nil {
		return sum, err
	}
	sum.Rules, sum.Correlations = rs.detection, len(rs.corrRules)
	sum.ParseFailures, sum.CompileFailures, sum.NotApplicable = rs.parseFailures, rs.compileFailures, rs.notApplicable
	files, err := listFiles(opts.Paths)
	if err != nil {
		return sum, err
	}
	out := stdout
	if opts.Out != "" {
		f, err := os.Create(opts.Out)
		if err != nil {
			return sum, fmt.Errorf("create output: %w", err)
		}
		defer f.Close()
		out = f
	}

	h := &hunter{rs: rs, minRank: levelRank(minLevel), corrFields: rs.corrFields(), received: time.Now().UTC()}
	if opts.Progress {
		h.bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("hunting"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	results := h.readAll(ctx, files, opts.Workers, stderr)
	if h.bar != nil {
		h.bar.Finish()
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	var matches []Match
	var pending []corrEvent
	for _, r := range results {
		sum.Bytes += r.bytes
		sum.Events += r.events
		sum.Unparsed += r.unparsed
		switch {
		case r.skipped:
			sum.Skipped++
		case r.err != nil:
			sum.FileErrors++
		default:
			sum.Files++
		}
		matches = append(matches, r.matches...)
		pending = append(pending, r.corr...)
	}
	alerts := h.correlate(pending)
	sum.CorrelationAlerts = len(alerts)
	matches = append(matches, alerts...)
	sortTimeline(matches)

	counts := map[string]*RuleCount{}
	for i := range matches {
		m := &matches[i]
		sum.Matches[m.Level]++
		rc := counts[m.RuleID]
		if rc == nil {
			rc = &RuleCount{RuleID: m.RuleID, Title: m.RuleTitle, Level: m.Level}
			counts[m.RuleID] = rc
		}
		rc.Count++
	}
	sum.Total = len(matches)
	for _, rc := range counts {
		sum.Top = append(sum.Top, *rc)
	}
	sort.Slice(sum.Top, func(i, j int) bool {
		if sum.Top[i].Count != sum.Top[j].Count {
			return sum.Top[i].Count > sum.Top[j].Count
		}
		return sum.Top[i].RuleID < sum.Top[j].RuleID
	})
	sum.Top = sum.Top[:min(len(sum.Top), 10)]

	if err := writeMatches(out, opts.Format, matches); err != nil {
		return sum, fmt.Errorf("write matches: %w", err)
	}
	if f, ok := out.(*os.File); ok && opts.Out != "" {
		if err := f.Close(); err != nil {
			return sum, fmt.Errorf("close output: %w", err)
		}
	}
	sum.Elapsed = time.Since(start)
	printSummary(stderr, sum)
	return sum, nil
}

// hunter holds what the workers share; all of it is read-only during the
// read except the progress bar and the event counter, which are safe for
// concurrent use.
type hunter struct {
	rs         *ruleSet
	minRank    int
	corrFields []string
	received   time.Time
	bar        *progressbar.ProgressBar
}

// fileResult is what one worker found in one file.
type fileResult struct {
	bytes            int64
	events, unparsed int64
	matches          []Match
	corr             []corrEvent
	skipped          bool
	err              error
}

// corrEvent is what the correlation pass keeps of an event that matched a
// rule some correlation references.
type corrEvent struct {
	t        time.Time
	file     string
	seq      int
	record   string
	computer string
	channel  string
	eventID  string
	fields   sigma.Fields
	matched  []*sigma.Rule
}

// readAll reads files with n workers and returns their results in the
// order of files.
func (h *hunter) readAll(ctx context.Context, files []inputFile, n int, stderr io.Writer) []fileResult {
	results := make([]fileResult, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises stderr reports
	for range min(n, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := h.readOne(ctx, files[i])
				if r.err != nil || (r.skipped && files[i].named) {
					mu.Lock()
					if r.err != nil {
						fmt.Fprintf(stderr, "file %s: %v\n", files[i].path, r.err)
					} else {
						fmt.Fprintf(stderr, "file %s: skipped, neither EVTX nor JSON\n", files[i].path)
					}
					mu.Unlock()
				}
				results[i] = r
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}

// readOne reads and matches one file.
func (h *hunter) readOne(ctx context.Context, in inputFile) fileResult {
	res := fileResult{}
	kind, err := sniff(in.path)
	if err != nil {
		res.err = err
		return res
	}
	if kind == kindUnknown {
		res.skipped = true
		return res
	}
	res.bytes = in.size
	var dst []*sigma.CompiledRule
	var refd []*sigma.Rule
	seq, sinceBar := 0, 0
	failed, err := readFile(in.path, kind, h.received, func(ev *tansa.Event) error {
		seq++
		res.events++
		if sinceBar++; sinceBar == 1024 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if h.bar != nil {
				h.bar.Add(sinceBar)
			}
			sinceBar = 0
		}
		if ev.ParseError != "" {
			return nil
		}
		set := h.rs.windows
		if ev.Format == "o365" || ev.Format == "entra_signin" {
			set = h.rs.cloud
		}
		dst = set.Match(ev, dst[:0])
		if len(dst) == 0 {
			return nil
		}
		refd = refd[:0]
		for _, c := range dst {
			r := c.Rule
			if h.rs.referenced[r] {
				refd = append(refd, r)
			}
			if !h.rs.corr.Standalone(r) || levelRank(r.Level) < h.minRank {
				continue
			}
			m := newMatch(r)
			fillEvent(&m, ev, in.path, seq)
			for _, f := range h.rs.fields[r] {
				if v, ok := ev.Get(f); ok {
					if m.Fields == nil {
						m.Fields = map[string]any{}
					}
					m.Fields[f] = v
				}
			}
			res.matches = append(res.matches, m)
		}
		if len(refd) > 0 {
			ce := corrEvent{t: ev.Time, file: in.path, seq: seq, record: first(ev, "EventRecordID", "Id", "id"), computer: first(ev, "Computer", "host.name"), channel: first(ev, "Channel", "Workload", "category"), eventID: first(ev, "EventID", "Operation", "event.action", "event.code"),
				fields: sigma.Fields{}, matched: append([]*sigma.Rule(nil), refd...)}
			for _, f := range h.corrFields {
				if v, ok := ev.Get(f); ok {
					ce.fields[f] = v
				}
			}
			res.corr = append(res.corr, ce)
		}
		return nil
	})
	if h.bar != nil && sinceBar > 0 {
		h.bar.Add(sinceBar)
	}
	res.unparsed = int64(failed)
	res.err = err
	return res
}

// fillEvent fills the event's side of a match.
func fillEvent(m *Match, ev *tansa.Event, path string, seq int) {
	m.Timestamp = ev.Time.UTC()
	m.File = path
	m.seq = seq
	m.Computer = first(ev, "Computer", "host.name")
	m.Channel = first(ev, "Channel", "Workload", "category")
	if m.Channel == "" {
		m.Channel = ev.Format
	}
	m.EventID = first(ev, "EventID", "Operation", "event.action", "event.code")
	m.RecordID = first(ev, "EventRecordID", "Id", "id")
}
