package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/tansa-sec/tansa/internal/collect"
)

// ingestState remembers, per file, how many records the server has
// acknowledged, so an interrupted import resumes where it stopped.
type ingestState struct {
	mu    sync.Mutex
	Files map[string]fileState `json:"files"`
	saved time.Time            // when the state was last written
}

// stateEvery is how often progress within a file is written (a finished
// file is written at once): rewriting the whole state after every batch
// cost a tenth of an import's CPU. A resume after a crash of the client
// sends again at most the last second's batches; a retried request has the
// same channel and body, which the bus stores once within its two-minute
// duplicate window.
const stateEvery = time.Second

func (st *ingestState) get(path string) fileState {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.Files[path]
}

// put records a file's progress and saves the state when the file is done
// or stateEvery has passed since the last save.
func (st *ingestState) put(statePath, path string, fs fileState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.Files[path] = fs
	if !fs.Done && time.Since(st.saved) < stateEvery {
		return nil
	}
	return st.save(statePath)
}

// putMany records the progress of several files, saving as put does:
// at once when one of them is done.
func (st *ingestState) putMany(statePath string, updates []stateUpdate) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	done := false
	for _, u := range updates {
		st.Files[u.abs] = u.fs
		done = done || u.fs.Done
	}
	if !done && time.Since(st.saved) < stateEvery {
		return nil
	}
	return st.save(statePath)
}

// flush saves the state as it is.
func (st *ingestState) flush(statePath string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.save(statePath)
}

type fileState struct {
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
	Sent  int       `json:"sent"`
	Done  bool      `json:"done"`
}

func loadState(path string) (*ingestState, error) {
	st := &ingestState{Files: map[string]fileState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v); delete it to start over", path, err)
	}
	if st.Files == nil {
		st.Files = map[string]fileState{}
	}
	return st, nil
}

// save writes the state atomically: a crash leaves the old or the new. The
// caller holds st.mu.
func (st *ingestState) save(path string) error {
	st.saved = time.Now()
	b, _ := json.Marshal(st)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hecSender posts batches of records to a Tansa server's HEC endpoints.
type hecSender struct {
	client  *http.Client
	server  string
	token   string
	channel string
	retries int
}

// send posts one batch and retries it, with back-off, while the server is
// busy or unreachable. A retry carries the same body on the same channel,
// so the server stores it once.
func (h *hecSender) send(ctx context.Context, path string, body []byte) error {
	var last error
	for attempt := 0; attempt <= h.retries; attempt++ {
		if attempt > 0 {
			d := time.Duration(math.Min(30, math.Pow(2, float64(attempt-1)))) * time.Second / 2
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		req, err := http.NewRequestWithContext(ctx, "POST", h.server+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Splunk "+h.token)
		req.Header.Set("X-Splunk-Request-Channel", h.channel)
		resp, err := h.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("server busy: %d %s", resp.StatusCode, bytes.TrimSpace(msg))
		default:
			return fmt.Errorf("server refused the batch: %d %s", resp.StatusCode, bytes.TrimSpace(msg))
		}
	}
	return fmt.Errorf("gave up after %d tries: %w", h.retries+1, last)
}

func cmdIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ingest", "--server URL --token TOKEN [--type TYPE] FILE|DIR...", `
Import log files into a running Tansa: Windows event logs (.evtx), JSON lines
(plain or gzipped: Winlogbeat, NXLog, Office 365, Zeek…), CSV with a header
row, and syslog or other line files. Directories are walked recursively; each
file's type is detected unless --type says it. Events go to the tenant of the
ingest token (tansa token create --role ingest --tenant ID).

The import is resumable: the state file records how many records of each
file the server acknowledged, and a second run skips them. A progress bar
shows events per second when stderr is a terminal. At the end, a line per
file reports its counts and any records that could not be read.`)
	server := fs.String("server", "", "the Tansa server `URL`, e.g. https://tansa.example:8443 (required)")
	token := fs.String("token", "", "an ingest `token` (or $TANSA_TOKEN)")
	typ := fs.String("type", "auto", "file `type`: auto, evtx, jsonl, csv or syslog")
	state := fs.String("state", ".tansa-ingest.json", "resume state `file`")
	batch := fs.Int("batch", 2000, "records per request (EVTX records of several files share requests)")
	parallel := fs.Int("parallel", 4, "files imported at once")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (tests only)")
	if done, err := parse(e, fs, args); done {
		return err
	}
	if *token == "" {
		*token = e.getenv("TANSA_TOKEN")
	}
	kind, err := collect.ParseFileKind(*typ)
	switch {
	case err != nil:
		return err
	case *server == "" || *token == "" || fs.NArg() == 0:
		fs.Usage()
		return errUsage
	case *batch < 1 || *batch > 10000:
		return fmt.Errorf("batch %d must be from 1 to 10000", *batch)
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server %q is not an http(s) URL", *server)
	}
	files, err := ingestFiles(fs.Args())
	if err != nil {
		return err
	}
	st, err := loadState(*state)
	if err != nil {
		return err
	}
	ch := make([]byte, 16)
	rand.Read(ch)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the operator asked for it, for a test server
	}
	h := &hecSender{client: &http.Client{Timeout: 2 * time.Minute, Transport: transport}, server: strings.TrimRight(*server, "/"),
		token: *token, channel: hex.EncodeToString(ch), retries: 8}

	var bar *progressbar.ProgressBar
	if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	// Files go in parallel, each one's batches in order, so that the
	// resume count of every file stays exact while the server's
	// acknowledgement latency is paid several times at once.
	type report struct {
		path     string
		n, sent  int
		problems []string
		err      error
	}
	jobs, reports := make(chan string), make(chan report)
	var wg sync.WaitGroup
	for range max(1, min(*parallel, 32)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &evtxBatcher{ctx: ctx, h: h, st: st, statePath: *state, batch: *batch, maxBytes: evtxBatchBytes, bar: bar,
				report: func(f *evtxFile, err error) { reports <- report{f.path, f.n, f.sent, f.problems, err} }}
			for path := range jobs {
				fk, err := fileKind(path, kind)
				if err == nil && fk == collect.FileEVTX {
					w.add(path)
					continue
				}
				if err == nil {
					// Other files go alone, after the EVTX records before them.
					w.flushPending()
					n, sent, problems, err := ingestOne(ctx, h, st, *state, path, fk, *batch, bar)
					reports <- report{path, n, sent, problems, err}
					continue
				}
				reports <- report{path, 0, 0, nil, err}
			}
			w.flushPending()
		}()
	}
	go func() {
		defer close(jobs)
		for _, p := range files {
			select {
			case jobs <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(reports) }()
	start, total, failed := time.Now(), 0, 0
	for r := range reports {
		total += r.sent
		status := "ok"
		if r.err != nil {
			status = "error: " + r.err.Error()
			failed++
		}
		fmt.Fprintf(e.stdout, "%s\t%d records\t%d sent\t%d unreadable\t%s\n", r.path, r.n, r.sent, len(r.problems), status)
		for i, p := range r.problems {
			if i == 20 {
				fmt.Fprintf(e.stdout, "  … %d more\n", len(r.problems)-20)
				break
			}
			fmt.Fprintf(e.stdout, "  %s\n", p)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if err := st.flush(*state); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "sent %d events from %d files in %s (%.0f events/s)\n", total, len(files), el.Round(time.Millisecond), float64(total)/max(el.Seconds(), 0.001))
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed; run the same command again to resume", failed, len(files))
	}
	return ctx.Err()
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// ingestFiles expands directories into the regular files below them.
func ingestFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resume returns the absolute path of a file and its state from an
// earlier run, or a fresh state when the file changed since (it starts
// over).
func (st *ingestState) resume(path string) (abs string, prev fileState, err error) {
	abs, _ = filepath.Abs(path)
	info, err := os.Stat(path)
	if err != nil {
		return abs, prev, err
	}
	prev = st.get(abs)
	if prev.Size != info.Size() || !prev.MTime.Equal(info.ModTime()) {
		prev = fileState{Size: info.Size(), MTime: info.ModTime()}
	}
	return abs, prev, nil
}

// ingestOne imports one file that is not EVTX (those go through
// evtxBatcher, in batches that run across files): it skips what an
// earlier run sent, posts the rest to the raw endpoint in batches, and
// records progress after every acknowledged batch.
func ingestOne(ctx context.Context, h *hecSender, st *ingestState, statePath, path string, kind collect.FileKind, batch int, bar *progressbar.ProgressBar) (int, int, []string, error) {
	abs, prev, err := st.resume(path)
	if err != nil {
		return 0, 0, nil, err
	}
	if prev.Done {
		return prev.Sent, 0, nil, nil
	}
	source := url.QueryEscape("file:" + filepath.Base(path))
	var (
		buf   bytes.Buffer
		count int
		hint  string
		sent  int
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		path := "/services/collector/raw?source=" + source + "&sourcetype=" + url.QueryEscape(hint)
		if err := h.send(ctx, path, buf.Bytes()); err != nil {
			return err
		}
		sent += count
		prev.Sent += count
		if bar != nil {
			bar.Add(count)
		}
		buf.Reset()
		count = 0
		return st.put(statePath, abs, prev)
	}
	n, problems, err := collect.ReadFile(path, kind, prev.Sent, func(r collect.FileRecord) error {
		if hint != r.Hint && count > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		hint = r.Hint
		buf.Write(r.Raw)
		buf.WriteByte('\n')
		count++
		if count >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		prev.Done = true
		err = st.put(statePath, abs, prev)
	}
	return n, sent, problems, err
}
