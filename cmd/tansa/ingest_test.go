package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// hecRecorder is an HEC event endpoint that counts the events it stores
// per source and refuses the requests numbered in fail (from 1).
type hecRecorder struct {
	mu       sync.Mutex
	requests int
	fail     map[int]bool
	bySource map[string]int
}

func (h *hecRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if r.URL.Path != "/services/collector/event" || h.fail[h.requests] {
		http.Error(w, `{"text":"Invalid data format","code":6}`, http.StatusBadRequest)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	got := map[string]int{}
	for {
		var ev struct {
			Source string          `json:"source"`
			Event  json.RawMessage `json:"event"`
		}
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil || len(ev.Event) == 0 {
			http.Error(w, `{"text":"Invalid data format","code":6}`, http.StatusBadRequest)
			return
		}
		got[ev.Source]++
	}
	for s, n := range got {
		h.bySource[s] += n
	}
	w.Write([]byte(`{"text":"Success","code":0}`))
}

// TestIngestEVTXBatchesResume imports EVTX files in batches that run
// across files, with requests refused on the way: the failed files say so,
// a second run resumes them, and in the end the server holds every record
// of every file exactly once.
func TestIngestEVTXBatchesResume(t *testing.T) {
	dir := shareddata.Path(t, filepath.Join("evtx", "DeepBlueCLI"))
	names := []string{"new-user-security.evtx", "password-spray.evtx", "eventlog-dac.evtx",
		"smb-password-guessing-security.evtx", "mimikatz-privilegedebug-tokenelevate-hashdump.evtx",
		"metasploit-psexec-powershell-target-system.evtx"}
	want := map[string]int{}
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		st, err := winevt.ReadEVTXFile(p, winevt.Options{}, func(*tansa.Event) error { return nil })
		if err != nil || st.Events == 0 {
			t.Fatalf("%s: %v, %d records", n, err, st.Events)
		}
		want["file:"+n] = st.Events
		paths = append(paths, p)
	}
	rec := &hecRecorder{fail: map[int]bool{3: true, 4: true}, bySource: map[string]int{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "state.json")
	args := append([]string{"ingest", "--server", srv.URL, "--token", "t", "--state", state, "--batch", "7", "--parallel", "2"}, paths...)

	out, errOut, err := runCmd(t, testEnv(nil), args...)
	if err == nil || !strings.Contains(out, "server refused the batch") {
		t.Fatalf("first run with refused batches: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	out, errOut, err = runCmd(t, testEnv(nil), args...)
	if err != nil {
		t.Fatalf("second run: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	for src, n := range want {
		if rec.bySource[src] != n {
			t.Errorf("%s: server holds %d records, the file has %d", src, rec.bySource[src], n)
		}
	}
	total := 0
	for _, n := range want {
		total += n
	}
	// Batches run across files: far fewer requests than one per file
	// and batch would need.
	if rec.requests > total/7+len(names)+4 {
		t.Errorf("%d requests for %d records in batches of 7", rec.requests, total)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st ingestState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		abs, _ := filepath.Abs(p)
		fs := st.Files[abs]
		if !fs.Done || fs.Sent != want["file:"+filepath.Base(p)] {
			t.Errorf("state of %s: %+v, want done with %d sent", p, fs, want["file:"+filepath.Base(p)])
		}
	}
	// A third run sends nothing.
	before := rec.requests
	if out, errOut, err := runCmd(t, testEnv(nil), args...); err != nil || rec.requests != before {
		t.Errorf("third run: %v, %d new requests\nstdout %s\nstderr %s", err, rec.requests-before, out, errOut)
	}
}

// TestEVTXBatcherByteCap sends an EVTX file whose records, in one batch
// of the default count, would make a request larger than the batcher's
// byte cap: the batch goes out once it reaches the cap, so no request
// passes it by more than one record, and every record arrives once.
func TestEVTXBatcherByteCap(t *testing.T) {
	p := filepath.Join(shareddata.Path(t, filepath.Join("evtx", "DeepBlueCLI")), "metasploit-psexec-powershell-target-system.evtx")
	st, err := winevt.ReadEVTXFile(p, winevt.Options{}, func(*tansa.Event) error { return nil })
	if err != nil || st.Events < 4 {
		t.Fatalf("%s: %v, %d records", p, err, st.Events)
	}
	var bodies []int
	rec := &hecRecorder{bySource: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies = append(bodies, len(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.ServeHTTP(w, r)
	}))
	defer srv.Close()
	const maxBytes = 1024
	var reports []error
	b := &evtxBatcher{ctx: t.Context(), h: &hecSender{client: srv.Client(), server: srv.URL, token: "t", channel: "c"},
		st: &ingestState{Files: map[string]fileState{}}, statePath: filepath.Join(t.TempDir(), "state.json"),
		batch: 2000, maxBytes: maxBytes, report: func(f *evtxFile, err error) { reports = append(reports, err) }}
	b.add(p)
	b.flushPending()
	if len(reports) != 1 || reports[0] != nil {
		t.Fatalf("reports %v, want one success", reports)
	}
	if got := rec.bySource["file:"+filepath.Base(p)]; got != st.Events {
		t.Fatalf("server holds %d records, the file has %d", got, st.Events)
	}
	if len(bodies) < 3 {
		t.Fatalf("%d requests of %v bytes: the byte cap did not split the batch", len(bodies), bodies)
	}
	// The largest record bounds how far past the cap a request may go.
	largest := 0
	if _, err := winevt.ReadEVTXFile(p, winevt.Options{}, func(e *tansa.Event) error {
		largest = max(largest, len(e.Raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, n := range bodies {
		if n >= maxBytes+largest+200 {
			t.Errorf("request %d is %d bytes, past the cap %d by more than a record (%d)", i, n, maxBytes, largest)
		}
	}
}
