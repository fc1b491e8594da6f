// Package collect gathers forensic artifacts from the endpoint it runs on
// into a result.Result.
//
// Data enters through the operating system (files under Root, /proc, the
// Windows registry and APIs, sysctl) and leaves as the fields of the
// Result passed to (*Collector).Collect. Each OS has its own file
// (collect_linux.go, collect_windows.go, collect_darwin.go); the parsers
// of on-disk formats are OS-independent and fuzzed. Collectors only read:
// they never write to the endpoint, and whatever they cannot read is
// recorded in Result.Errors with the reason instead of stopping the sweep.
package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// Collector reads one endpoint. Its zero value is not usable; build it
// with New. A Collector is not safe for concurrent use.
type Collector struct {
	// Root is the filesystem root the file-based collectors read under:
	// "/" (or "C:\" on Windows) for the live system, or a directory that
	// holds a copy of one (a mounted image or a test fixture).
	root string
	// live reports whether the process, network and API-based collectors
	// run; they describe the running system, so they are off for a
	// fixture root.
	live         bool
	throttle     *Throttle
	recent       time.Duration
	maxHash      int64
	maxFiles     int
	now          func() time.Time
	hashes       map[hashKey]string
	signatures   map[hashKey]bool
	iocPaths     []string
	bootTime     time.Time
	usersCache   []PasswdEntry
	socketOwners map[uint64]int
	denied       map[string][]string
	// accounts caches SID → DOMAIN\user on Windows, where resolving a
	// domain SID may ask a domain controller.
	accounts map[string]string
}

// Options configure a Collector.
type Options struct {
	// Root is the filesystem root; empty means the live system's root.
	Root string
	// Live enables collectors that describe the running system
	// (processes, connections, host uptime, DNS cache, registry).
	Live bool
	// Throttle paces the work; nil means no pacing.
	Throttle *Throttle
	// Recent is how far back a file's modification time counts as
	// recently created; zero means 14 days.
	Recent time.Duration
	// MaxHashSize is the largest file hashed, in bytes; zero means 64 MiB.
	MaxHashSize int64
	// MaxFiles bounds the recent files kept per folder kind; zero means 200.
	MaxFiles int
	// IOCPaths are extra files (from the IOC package) that are recorded
	// and hashed when they exist.
	IOCPaths []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// New returns a Collector for opts.
func New(opts Options) *Collector {
	c := &Collector{
		root:       opts.Root,
		live:       opts.Live,
		throttle:   opts.Throttle,
		recent:     opts.Recent,
		maxHash:    opts.MaxHashSize,
		maxFiles:   opts.MaxFiles,
		now:        opts.Now,
		hashes:     map[hashKey]string{},
		signatures: map[hashKey]bool{},
		iocPaths:   opts.IOCPaths,
	}
	if c.root == "" {
		c.root = defaultRoot
	}
	if c.throttle == nil {
		c.throttle = NewThrottle(100)
	}
	if c.recent == 0 {
		c.recent = 14 * 24 * time.Hour
	}
	if c.maxHash == 0 {
		c.maxHash = 64 << 20
	}
	if c.maxFiles == 0 {
		c.maxFiles = 200
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// defaultRoot is the root of the live filesystem; paths under it are used
// as they are.
const defaultRoot = string(filepath.Separator)

// step is one collector: a name for errors and the function that runs it.
type step struct {
	name string
	run  func(context.Context, *result.Result)
}

// Collect runs every collector for this OS in turn and fills r. It stops
// early when ctx is done, recording which collectors did not run; the
// partial Result is still valid.
func (c *Collector) Collect(ctx context.Context, r *result.Result) {
	steps := c.steps()
	steps = append(steps, step{"files/ioc", c.iocFiles})
	defer c.reportDenied(r)
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			for _, rest := range steps[i:] {
				r.Errorf(rest.name, "", "not collected: %v", context.Cause(ctx))
			}
			return
		}
		s.run(ctx, r)
	}
}

// path returns the location of p (an absolute path on the endpoint)
// under the collector's root.
func (c *Collector) path(p string) string {
	if c.root == defaultRoot {
		return p
	}
	return filepath.Join(c.root, p[len(filepath.VolumeName(p)):])
}

// readFile reads an endpoint file under the root, refusing files larger
// than limit so that a hostile or huge file cannot exhaust memory.
func (c *Collector) readFile(p string, limit int64) ([]byte, error) {
	f, err := os.Open(c.path(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// glob lists endpoint paths matching pattern under the root, returned as
// endpoint paths.
func (c *Collector) glob(pattern string) []string {
	m, _ := filepath.Glob(c.path(pattern))
	if c.root == defaultRoot {
		return m
	}
	out := make([]string, 0, len(m))
	for _, p := range m {
		rel, err := filepath.Rel(c.root, p)
		if err != nil {
			continue
		}
		out = append(out, string(filepath.Separator)+rel)
	}
	return out
}

// fileError records err unless it only says that the file does not exist,
// which for most artifacts is the normal case and not worth a line.
// Permission errors are gathered per collector and reported once by
// reportDenied, so that an unprivileged sweep gives one clear line
// instead of hundreds.
func (c *Collector) fileError(r *result.Result, collector, target string, err error) {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return
	}
	if errors.Is(err, fs.ErrPermission) {
		if c.denied == nil {
			c.denied = map[string][]string{}
		}
		c.denied[collector] = append(c.denied[collector], target)
		return
	}
	r.Errorf(collector, target, "%v", cleanErr(err))
}

// maxDeniedListed bounds the example paths in a permission summary.
const maxDeniedListed = 5

// reportDenied turns the gathered permission errors into one Error per
// collector, naming the first few paths.
func (c *Collector) reportDenied(r *result.Result) {
	names := make([]string, 0, len(c.denied))
	for n := range c.denied {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		paths := c.denied[n]
		shown := paths[:min(len(paths), maxDeniedListed)]
		more := ""
		if len(paths) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(paths)-len(shown))
		}
		r.Errorf(n, shown[0], "permission denied for %d files or folders (%s%s): run as root or Administrator to see them",
			len(paths), strings.Join(shown, ", "), more)
	}
	c.denied = nil
}

// cleanErr strips the path that os errors repeat, since Error.Target
// already carries it.
func cleanErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

type hashKey struct {
	path  string
	size  int64
	mtime int64
}

// hashFile returns the SHA-256 of the endpoint file at p (opened at open,
// which may differ, such as /proc/PID/exe for a deleted executable),
// caching by path, size and modification time so that a binary run by a
// hundred processes is read once.
func (c *Collector) hashFile(ctx context.Context, p, open string) (string, error) {
	f, err := os.Open(open)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	key := hashKey{p, fi.Size(), fi.ModTime().UnixNano()}
	if h, ok := c.hashes[key]; ok {
		return h, nil
	}
	if fi.Size() > c.maxHash {
		c.hashes[key] = ""
		return "", fmt.Errorf("not hashed: %d bytes is over the %d-byte limit", fi.Size(), c.maxHash)
	}
	h := sha256.New()
	buf := make([]byte, 256*1024)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if err := c.throttle.Tick(ctx); err != nil {
			return "", err
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	c.hashes[key] = sum
	return sum, nil
}

// isExecutable reports whether the file starts with an ELF, PE or Mach-O
// magic number.
func isExecutable(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	switch {
	case string(b[:]) == "\x7fELF", b[0] == 'M' && b[1] == 'Z':
		return true
	case string(b[:]) == "\xcf\xfa\xed\xfe", string(b[:]) == "\xce\xfa\xed\xfe", string(b[:]) == "\xca\xfe\xba\xbe":
		return true
	}
	return false
}

// recentFiles walks dir (an endpoint path) up to depth levels and records
// the regular files modified within the recent window, newest first and
// at most maxFiles of them, hashing the executables.
func (c *Collector) recentFiles(ctx context.Context, r *result.Result, dir, kind string, depth int) {
	base := c.path(dir)
	cutoff := c.now().Add(-c.recent)
	var found []result.File
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != base {
				c.fileError(r, "files/"+kind, c.endpointPath(p), err)
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if cerr := c.throttle.Tick(ctx); cerr != nil {
			return cerr
		}
		if d.IsDir() {
			if p != base && strings.Count(strings.TrimPrefix(p, base), string(filepath.Separator)) > depth {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		created := createdTime(fi)
		if fi.ModTime().Before(cutoff) && created.Before(cutoff) {
			return nil
		}
		found = append(found, result.File{Path: c.endpointPath(p), Kind: kind, Size: fi.Size(), Modified: fi.ModTime().UTC(), Created: created})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.fileError(r, "files/"+kind, dir, err)
	}
	sort.Slice(found, func(i, j int) bool { return newest(found[i]).After(newest(found[j])) })
	if len(found) > c.maxFiles {
		r.Errorf("files/"+kind, dir, "kept the newest %d of %d recent files", c.maxFiles, len(found))
		found = found[:c.maxFiles]
	}
	for i := range found {
		f := &found[i]
		p := c.path(f.Path)
		if f.Executable = isExecutable(p); f.Executable {
			sum, err := c.hashFile(ctx, f.Path, p)
			if err != nil {
				c.fileError(r, "files/"+kind, f.Path, err)
			}
			f.SHA256 = sum
		}
	}
	r.Files = append(r.Files, found...)
}

// newest returns the later of a file's modification and creation times.
func newest(f result.File) time.Time {
	if f.Created.After(f.Modified) {
		return f.Created
	}
	return f.Modified
}

// endpointPath turns a path under the root back into the endpoint's path.
func (c *Collector) endpointPath(p string) string {
	if c.root == defaultRoot {
		return p
	}
	rel, err := filepath.Rel(c.root, p)
	if err != nil {
		return p
	}
	return string(filepath.Separator) + rel
}

// iocFiles records and hashes the files that IOCs name by full path, so
// that a known-bad file is reported even when nothing runs it.
func (c *Collector) iocFiles(ctx context.Context, r *result.Result) {
	for _, p := range c.iocPaths {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, "*?[") {
			continue
		}
		fi, err := os.Stat(c.path(p))
		if err != nil {
			c.fileError(r, "files/ioc", p, err)
			continue
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		f := result.File{Path: p, Kind: "ioc", Size: fi.Size(), Modified: fi.ModTime().UTC(), Executable: isExecutable(c.path(p))}
		sum, err := c.hashFile(ctx, p, c.path(p))
		c.fileError(r, "files/ioc", p, err)
		f.SHA256 = sum
		r.Files = append(r.Files, f)
	}
}

// hosts reads the hosts file at p into r.DNS.
func (c *Collector) hosts(r *result.Result, p string) {
	data, err := c.readFile(p, 4<<20)
	if err != nil {
		c.fileError(r, "dns/hosts", p, err)
		return
	}
	r.DNS = append(r.DNS, ParseHosts(data)...)
}

// Throttle limits the scanner's CPU use by duty cycling: after each unit
// of work, Tick sleeps just long enough that the CPU time the process has
// used since the window began is at most the given percentage of the wall
// time that has passed. It counts the process's own CPU time (all
// threads, garbage collection included), not wall time: time spent
// waiting for a disk or, at low priority on a busy machine, for a CPU is
// not work, and counting it as work made the sweep sleep as long again as
// the scheduler had already kept it waiting. A Throttle is not safe for
// concurrent use.
type Throttle struct {
	percent int
	now     func() time.Time
	cpu     func() (time.Duration, error)
	sleep   func(context.Context, time.Duration) error
	// mark and cpuMark open the current window: the wall clock and the
	// process's CPU time when it began.
	mark    time.Time
	cpuMark time.Duration
	// slept is the total time Tick has slept, for the sweep's report.
	slept time.Duration
}

// NewThrottle returns a Throttle for percent (1–100); 100 or more never
// sleeps.
func NewThrottle(percent int) *Throttle {
	return newThrottle(percent, time.Now, processCPU, sleepCtx)
}

func newThrottle(percent int, now func() time.Time, cpu func() (time.Duration, error), sleep func(context.Context, time.Duration) error) *Throttle {
	t := &Throttle{percent: max(percent, 1), now: now, cpu: cpu, sleep: sleep, mark: now()}
	t.cpuMark, _ = cpu()
	return t
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// minSleep keeps Tick from making a system call for every tiny unit of
// work; window bounds how much unused budget (time the process spent
// waiting rather than working) can be spent later in one burst.
const (
	minSleep = 20 * time.Millisecond
	window   = time.Second
)

// Tick accounts the work done since the window began and sleeps if the
// budget is used up. It returns ctx's error when ctx ends first.
func (t *Throttle) Tick(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.percent >= 100 {
		return nil
	}
	now := t.now()
	elapsed := now.Sub(t.mark)
	used, err := t.cpu()
	if err != nil {
		// Without the process's CPU time, count the whole window as
		// work: slower, but the cap still holds.
		used = t.cpuMark + elapsed
	}
	used -= t.cpuMark
	// The window's work may take percent % of the window's wall time,
	// the pause included.
	pause := used*100/time.Duration(t.percent) - elapsed
	if pause < minSleep {
		if pause <= 0 && elapsed >= window {
			t.mark, t.cpuMark = now, t.cpuMark+used
		}
		return nil
	}
	if err := t.sleep(ctx, pause); err != nil {
		return err
	}
	t.slept += pause
	t.mark, t.cpuMark = t.now(), t.cpuMark+used
	return nil
}

// Slept returns the total time Tick has slept to honour the cap.
func (t *Throttle) Slept() time.Duration { return t.slept }
