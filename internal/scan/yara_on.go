//go:build yara

package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"time"

	yara "github.com/Velocidex/go-yara"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// yaraFileTimeout bounds the scan of one file so that one huge or
// pathological file cannot use up the sweep's whole budget.
const yaraFileTimeout = 30 * time.Second

// externals are the variables signature-base's rules (LOKI's set) read;
// each scanned file gets its own values.
var externals = []string{"filename", "filepath", "extension", "filetype", "owner"}

func newCompiler() (*yara.Compiler, error) {
	comp, err := yara.NewCompiler()
	if err != nil {
		return nil, err
	}
	for _, v := range externals {
		if err := comp.DefineVariable(v, ""); err != nil {
			comp.Destroy()
			return nil, err
		}
	}
	return comp, nil
}

// compileRules compiles the rule files into one set of rules, each file
// under its file name as namespace. libyara leaves a compiler unusable
// after an error, so the files are first added to one compiler in turn;
// if one does not compile it is reported with its lines and skipped, the
// files after it are checked alone (each check's compiler destroyed at
// once), and the files that compiled are compiled together again. A rule
// set without errors is therefore compiled once, and no rules are held
// twice while the sweep scans: the compilers are gone and the rules are
// compacted (see compact) before the first file is scanned.
func compileRules(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error) (*yara.Rules, int) {
	// The Go heap's garbage (start-up, configuration) goes back to the
	// operating system before libyara's memory is added to it.
	debug.FreeOSMemory()
	comp, good, bad, err := addRules(ctx, files, r, tick)
	if err != nil {
		r.Errorf("yara", "", "rules not compiled, no YARA scan done: %v", err)
		return nil, 0
	}
	if bad >= 0 {
		for _, f := range files[bad+1:] {
			if err := tick(ctx); err != nil {
				r.Errorf("yara", "", "rules not compiled, no YARA scan done: %v", context.Cause(ctx))
				return nil, 0
			}
			ok, err := compilesAlone(f, r)
			if err != nil {
				r.Errorf("yara", "", "compiler: %v", err)
				return nil, 0
			}
			if ok {
				good = append(good, f)
			}
		}
		freeCHeap()
		if len(good) == 0 {
			return nil, 0
		}
		if comp, _, bad, err = addRules(ctx, good, r, tick); err != nil || bad >= 0 {
			// Rule names are unique per namespace, so files that compile
			// alone compile together; should libyara disagree, say so.
			r.Errorf("yara", "", "the rule files that compile alone do not compile together, no YARA scan done: %v", err)
			return nil, 0
		}
	}
	if len(good) == 0 {
		comp.Destroy()
		return nil, 0
	}
	rules, err := comp.GetRules()
	comp.Destroy()
	freeCHeap()
	if err != nil {
		r.Errorf("yara", "", "rules: %v", err)
		return nil, 0
	}
	return compact(rules, r), len(good)
}

// addRules adds files in turn to a new compiler, each under its file
// name as namespace. When every readable file compiles it returns the
// compiler, the files in it and bad = -1. tick paces it between files;
// when ctx ends it returns ctx's cause. When files[bad] does not
// compile it reports the file's errors, destroys the compiler (libyara
// cannot use it again) and returns the files before it.
func addRules(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error) (comp *yara.Compiler, good []string, bad int, err error) {
	comp, err = newCompiler()
	if err != nil {
		return nil, nil, -1, err
	}
	for i, f := range files {
		if err := tick(ctx); err != nil {
			comp.Destroy()
			return nil, nil, -1, context.Cause(ctx)
		}
		switch err := addFile(comp, f); {
		case err == nil:
			good = append(good, f)
		case errors.Is(err, errRead):
			r.Errorf("yara", f, "%v", err)
		default:
			reportCompileErrors(comp, f, err, r)
			comp.Destroy()
			return nil, good, i, nil
		}
	}
	return comp, good, -1, nil
}

// compilesAlone reports whether one rule file compiles in a compiler of
// its own, which it destroys before returning.
func compilesAlone(f string, r *result.Result) (bool, error) {
	comp, err := newCompiler()
	if err != nil {
		return false, err
	}
	defer comp.Destroy()
	switch err := addFile(comp, f); {
	case err == nil:
		return true, nil
	case errors.Is(err, errRead):
		r.Errorf("yara", f, "%v", err)
	default:
		reportCompileErrors(comp, f, err, r)
	}
	return false, nil
}

// errRead marks a rule file that could not be read, as opposed to one
// that does not compile.
var errRead = errors.New("rule file not read")

// addFile reads one rule file and adds it to comp. The text is read here
// and dropped after the call, so the Go heap never holds the whole rule
// set beside libyara's copy.
func addFile(comp *yara.Compiler, f string) error {
	data, err := os.ReadFile(f)
	if err != nil {
		return fmt.Errorf("%w: %w", errRead, err)
	}
	return comp.AddString(string(data), filepath.Base(f))
}

func reportCompileErrors(comp *yara.Compiler, f string, err error, r *result.Result) {
	for _, m := range comp.Errors {
		r.Errorf("yara", f, "line %d: %s", m.Line, m.Text)
	}
	r.Errorf("yara", f, "rules skipped, they do not compile: %v", err)
}

// compact serializes freshly compiled rules and loads them again.
// libyara grows a compiler's buffers by doubling and the rules it hands
// over keep those buffers, slack included; loaded rules take only what
// they use (with signature-base: about 50 MB of resident memory before,
// 35 MB after). The serialized form is held in the Go heap in the pieces
// libyara writes, never on the endpoint's disk. Should either step fail,
// the rules as compiled are kept.
func compact(rules *yara.Rules, r *result.Result) *yara.Rules {
	var buf pieces
	if err := rules.Write(&buf); err != nil {
		r.Errorf("yara", "", "rules kept uncompacted: %v", err)
		return rules
	}
	rules.Destroy()
	freeCHeap()
	loaded, err := yara.ReadRules(&buf)
	buf = pieces{}
	debug.FreeOSMemory()
	if err != nil {
		// The compiled rules are gone; without rules there is no scan.
		r.Errorf("yara", "", "rules lost while compacting them, no YARA scan done: %v", err)
		return nil
	}
	return loaded
}

// pieces is an in-memory stream kept in chunks of pieceSize, so that it
// never holds a doubled copy while it grows (libyara writes millions of
// small relocation entries), and that gives each chunk back to the
// garbage collector once it is read.
type pieces struct{ bufs [][]byte }

const pieceSize = 1 << 20

func (p *pieces) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		last := len(p.bufs) - 1
		if last < 0 || len(p.bufs[last]) == cap(p.bufs[last]) {
			p.bufs = append(p.bufs, make([]byte, 0, pieceSize))
			last++
		}
		k := min(len(b), cap(p.bufs[last])-len(p.bufs[last]))
		p.bufs[last] = append(p.bufs[last], b[:k]...)
		b = b[k:]
	}
	return n, nil
}

func (p *pieces) Read(b []byte) (int, error) {
	for len(p.bufs) > 0 && len(p.bufs[0]) == 0 {
		p.bufs[0] = nil
		p.bufs = p.bufs[1:]
	}
	if len(p.bufs) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.bufs[0])
	p.bufs[0] = p.bufs[0][n:]
	return n, nil
}

// fileType names a file's format from its first bytes the way LOKI fills
// the filetype external ("EXE", "ELF", "MACH-O"), or "" when unknown.
func fileType(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := f.Read(b)
	b = b[:n]
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		return "EXE"
	case len(b) == 4 && string(b) == "\x7fELF":
		return "ELF"
	case len(b) == 4 && (string(b) == "\xcf\xfa\xed\xfe" || string(b) == "\xce\xfa\xed\xfe" || string(b) == "\xca\xfe\xba\xbe"):
		return "MACH-O"
	case len(b) == 4 && string(b) == "MDMP":
		return "MDMP"
	}
	return ""
}

// yaraRules are compiled rules ready to scan with; nil means none.
type yaraRules struct{ rules *yara.Rules }

// loadYARA compiles the rule files (with signature-base's externals
// filename, filepath, extension, filetype and owner), paced by tick. The
// sweep loads them before it collects, while its own heap is small, so
// that the compiler's peak is not added to the collectors'. It returns nil
// when no rules compiled; the result's errors say why.
func loadYARA(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error) *yaraRules {
	if len(files) == 0 {
		return nil
	}
	rules, _ := compileRules(ctx, files, r, tick)
	if rules == nil {
		return nil
	}
	return &yaraRules{rules}
}

// close frees the rules and gives their memory back.
func (y *yaraRules) close() {
	if y == nil {
		return
	}
	y.rules.Destroy()
	freeCHeap()
}

// scan scans every process executable and every recorded executable file
// up to maxSize bytes with the rules. Each match becomes a finding scored
// by the rule's integer "score" meta (default 80). tick paces the work
// like the collectors; template is the finding's English message.
func (y *yaraRules) scan(ctx context.Context, r *result.Result, tick func(context.Context) error, template string, maxSize int64) {
	if y == nil {
		return
	}
	sc, err := yara.NewScanner(y.rules)
	if err != nil {
		r.Errorf("yara", "", "scanner: %v", err)
		return
	}
	defer sc.Destroy()
	sc.SetTimeout(yaraFileTimeout)

	targets := map[string]result.Subject{}
	for _, p := range r.Processes {
		if p.Path != "" && !p.Deleted {
			targets[p.Path] = result.Subject{Kind: "process", PID: p.PID, Path: p.Path}
		}
	}
	for _, f := range r.Files {
		if f.Executable {
			if _, ok := targets[f.Path]; !ok {
				targets[f.Path] = result.Subject{Kind: "file", Path: f.Path}
			}
		}
	}
	// The scanner's own executable is not scanned: findings about it
	// are dropped (see withoutSelf), and it is the biggest file on many
	// endpoints.
	if self, err := os.Executable(); err == nil {
		delete(targets, self)
	}
	paths := make([]string, 0, len(targets))
	for p := range targets {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	own := owners{}
	for i, p := range paths {
		if err := tick(ctx); err != nil {
			r.Errorf("yara", "", "stopped after %d of %d files: %v", i, len(paths), context.Cause(ctx))
			return
		}
		owner := ""
		if fi, err := os.Stat(p); err == nil {
			if fi.Size() > maxSize {
				r.Errorf("yara", p, "not scanned with YARA: %d bytes is over the %d-byte limit (--yara-max-mb)", fi.Size(), maxSize)
				continue
			}
			owner = own.of(fi)
		}
		var matches yara.MatchRules
		ext := filepath.Ext(p)
		for k, v := range map[string]string{"filename": filepath.Base(p), "filepath": filepath.Dir(p), "extension": ext,
			"filetype": fileType(p), "owner": owner} {
			if err := sc.DefineVariable(k, v); err != nil {
				r.Errorf("yara", p, "external %s: %v", k, err)
			}
		}
		if err := sc.SetCallback(&matches).ScanFile(p); err != nil {
			r.Errorf("yara", p, "%v", err)
			continue
		}
		for _, m := range matches {
			score := 80
			for _, meta := range m.Metas {
				if meta.Identifier == "score" {
					switch v := meta.Value.(type) {
					case int:
						score = min(max(v, 0), 100)
					case string:
						if n, err := strconv.Atoi(v); err == nil {
							score = min(max(n, 0), 100)
						}
					}
				}
			}
			args := map[string]string{"path": p, "rule": m.Rule, "namespace": m.Namespace}
			r.Findings = append(r.Findings, result.NewFinding("yara."+m.Rule, score, "yara.match",
				template, args, targets[p]))
		}
	}
}
