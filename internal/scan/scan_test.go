package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// fixtureRoot is a small Linux filesystem with planted persistence; using
// it keeps these tests fast and independent of the machine.
const fixtureRoot = "collect/testdata/linux"

func noenv(string) string { return "" }

func TestMainHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Main(context.Background(), []string{"--help"}, noenv, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Main(--help) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: tansa scan", "--summary", "--local --out host.json", "--recipient", "--max-cpu", "docs/scan-result.md"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMainRejectsBadUse(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to do"},
		{[]string{"--out", filepath.Join(dir, "x")}, "--recipient"},
		{[]string{"--server", "http://x", "--recipient", "age1x"}, "token"},
		{[]string{"--summary", "--max-cpu", "300"}, "outside 1–100"},
		{[]string{"--summary", "--yara-max-mb", "0"}, "--yara-max-mb 0"},
		{[]string{"--summary", "extra"}, "unexpected argument"},
		{[]string{"--out", filepath.Join(dir, "x"), "--recipient", "not-a-key"}, "recipient"},
		{[]string{"--summary", "--ioc", filepath.Join(dir, "missing.json")}, "missing.json"},
	} {
		err := Main(context.Background(), tc.args, noenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Main(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestMainLocalOutAndSummary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "host.json")
	var stdout, stderr bytes.Buffer
	err := Main(context.Background(), []string{"--root", fixtureRoot, "--local", "--out", out, "--summary", "--normal-priority"}, noenv, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("the scanner must be silent unless asked; stderr: %s", stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, key := range []string{"host", "processes", "connections", "persistence", "software", "files", "findings", "errors"} {
		v, ok := doc[key]
		if !ok || string(v) == "null" {
			t.Errorf("top-level key %q missing or null", key)
		}
	}
	if !strings.HasPrefix(stdout.String(), "SCORE") || !strings.Contains(stdout.String(), "findings on") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("output folder holds %d entries, want only the result", len(entries))
	}
}

func TestMainEncryptedOut(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "host.tansa")
	env := func(k string) string {
		if k == "TANSA_SCAN_RECIPIENT" {
			return id.Recipient().String()
		}
		return ""
	}
	if err := Main(context.Background(), []string{"--root", fixtureRoot, "--out", out, "--normal-priority"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("persistence")) {
		t.Error("encrypted output contains plain text")
	}
	r, err := Open(bytes.NewReader(data), id, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != result.SchemaVersion || r.SweepID == "" || len(r.Persistence) == 0 {
		t.Errorf("decrypted result: schema %d, sweep %q, %d persistence entries", r.Schema, r.SweepID, len(r.Persistence))
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := Open(bytes.NewReader(data), other, 64<<20); err == nil {
		t.Error("a different identity opened the result")
	}
}

// sweepServer is a stand-in for the server's POST /api/v1/sweeps: it
// fails the first failures requests with 503 and then decrypts and keeps
// the upload.
type sweepServer struct {
	t        *testing.T
	id       *age.X25519Identity
	status   int
	failures int

	mu       sync.Mutex
	attempts int
	keys     map[string]bool
	got      *result.Result
}

func (s *sweepServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/sweeps" {
		http.Error(w, "wrong endpoint", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer enrol-123" {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Type") != ContentType {
		s.t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	s.keys[r.Header.Get("Idempotency-Key")] = true
	if s.attempts <= s.failures {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", s.status)
		return
	}
	res, err := Open(r.Body, s.id, 64<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.got = res
	w.WriteHeader(http.StatusAccepted)
}

func TestUploadRetriesThenSucceeds(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	srv := &sweepServer{t: t, id: id, status: http.StatusServiceUnavailable, failures: 2, keys: map[string]bool{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var stderr bytes.Buffer
	err := Run(context.Background(), Options{
		Root: fixtureRoot, Server: ts.URL + "/", Token: "enrol-123", Recipient: id.Recipient().String(),
		RetryBase: time.Millisecond, Verbose: true,
	}, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if srv.attempts != 3 {
		t.Errorf("%d attempts, want 3", srv.attempts)
	}
	if len(srv.keys) != 1 {
		t.Errorf("idempotency keys %v: retries must reuse one key", srv.keys)
	}
	if srv.got == nil || !srv.keys[srv.got.SweepID] {
		t.Fatalf("server did not receive the result under its sweep ID")
	}
	if !strings.Contains(stderr.String(), "retrying") || !strings.Contains(stderr.String(), "uploaded sweep") {
		t.Errorf("verbose log:\n%s", stderr.String())
	}
}

func TestUploadGivesUpOnRefusal(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	srv := &sweepServer{t: t, id: id, keys: map[string]bool{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	err := Run(context.Background(), Options{
		Root: fixtureRoot, Server: ts.URL, Token: "wrong", Recipient: id.Recipient().String(), RetryBase: time.Millisecond,
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "401") {
		t.Errorf("Run = %v, want a refusal naming 401", err)
	}
	if srv.attempts != 1 {
		t.Errorf("%d attempts; a refused token must not be retried", srv.attempts)
	}
}

func TestUploadStopsAfterRetries(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	srv := &sweepServer{t: t, id: id, status: http.StatusBadGateway, failures: 100, keys: map[string]bool{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "fallback.tansa")
	err := Run(context.Background(), Options{
		Root: fixtureRoot, Server: ts.URL, Token: "enrol-123", Recipient: id.Recipient().String(),
		RetryBase: time.Millisecond, Retries: 3, Out: out,
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), out) {
		t.Errorf("Run = %v, want the last 502 and the fallback file named", err)
	}
	if srv.attempts != 4 {
		t.Errorf("%d attempts, want 1 + 3 retries", srv.attempts)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("fallback file: %v", err)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt := range 20 {
		d := backoff(time.Second, attempt)
		hi := time.Second << min(attempt, 20)
		if hi > maxBackoff {
			hi = maxBackoff
		}
		if d < hi/2 || d > hi {
			t.Errorf("backoff(1s, %d) = %s, want in [%s, %s]", attempt, d, hi/2, hi)
		}
	}
}

func TestSweepTimeoutStillDelivers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := Sweep(ctx, Options{Root: fixtureRoot, Timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range r.Errors {
		if strings.Contains(e.Message, "time budget") {
			found = true
		}
	}
	if !found {
		t.Errorf("errors %+v do not say the time budget ran out", r.Errors)
	}
	if r.Findings == nil || r.Processes == nil {
		t.Error("a partial result must still have every array")
	}
}

func TestMainConfigFile(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tenant.json")
	if err := os.WriteFile(cfg, []byte(`{"recipient":"`+id.Recipient().String()+`","max_cpu":30,"timeout":"2m"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "host.tansa")
	if err := Main(context.Background(), []string{"--config", cfg, "--root", fixtureRoot, "--out", out, "--normal-priority"}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Open(f, id, 64<<20); err != nil {
		t.Errorf("result encrypted to the configured recipient does not open: %v", err)
	}
}

// TestSweepWritesNothingButItsOutput snapshots the fixture root before
// and after a sweep: the scanner must leave what it reads untouched.
func TestSweepWritesNothingButItsOutput(t *testing.T) {
	snapshot := func() map[string]string {
		m := map[string]string{}
		err := filepath.Walk(fixtureRoot, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			m[p] = fi.Mode().String() + " " + fi.ModTime().String() + " " + strconv.FormatInt(fi.Size(), 10)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := snapshot()
	out := filepath.Join(t.TempDir(), "r.json")
	if err := Main(context.Background(), []string{"--root", fixtureRoot, "--local", "--out", out, "--normal-priority"}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	after := snapshot()
	if len(before) != len(after) {
		t.Errorf("%d entries before, %d after", len(before), len(after))
	}
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %s → %s", p, v, after[p])
		}
	}
}

// TestOpenSaysWhichStepRefused checks that each way a sealed file can be
// bad comes back as an *OpenError naming its step: the server's answer to
// an upload (foreign, truncated, oversize, not JSON) rests on it.
func TestOpenSaysWhichStepRefused(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	sealed := func(t *testing.T, plain []byte, gz bool) []byte {
		t.Helper()
		if gz {
			s, err := Seal(plain, id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		return buf.Bytes()
	}
	good := sealed(t, []byte(`{"schema":1,"sweep_id":"s1"}`), true)
	for _, tc := range []struct {
		name   string
		data   []byte
		ident  age.Identity
		limit  int64
		stage  OpenStage
		inText string
	}{
		{"not age", []byte(`{"schema":1}`), id, 1 << 20, OpenDecrypt, "open sweep: decrypt: "},
		{"another server's key", good, other, 1 << 20, OpenDecrypt, "open sweep: decrypt: "},
		{"truncated", good[:len(good)-20], id, 1 << 20, OpenDecompress, "open sweep: decompress: "},
		{"not gzip inside", sealed(t, []byte("plain text, not gzip"), false), id, 1 << 20, OpenDecompress, "open sweep: decompress: "},
		{"over the limit", good, id, 10, OpenTooLarge, "open sweep: result larger than 10 bytes"},
		{"not JSON", sealed(t, []byte("<xml/>"), true), id, 1 << 20, OpenDecode, "open sweep: decode: "},
	} {
		_, err := Open(bytes.NewReader(tc.data), tc.ident, tc.limit)
		var oe *OpenError
		if !errors.As(err, &oe) || oe.Stage != tc.stage || !strings.Contains(err.Error(), tc.inText) {
			t.Errorf("%s: %v (%T); want stage %d with %q", tc.name, err, err, tc.stage, tc.inText)
		}
	}
	if r, err := Open(bytes.NewReader(good), id, 1<<20); err != nil || r.SweepID != "s1" {
		t.Fatalf("good file: %v, %+v", err, r)
	}
}
