// Package edrfake holds local stand-ins for the EDR consoles Tansa's edr
// connectors talk to, built from the vendors' published API documentation:
// the same paths, methods, authentication and JSON shapes, and the errors
// the documentation lists (401 on a missing or expired token, 404 for an
// unknown device, 429 with Retry-After, 5xx). Tests and the restart bench
// serve them with httptest and count the calls each device received.
package edrfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Fault is an error a fake answers instead of the next matching calls.
type Fault struct {
	Status     int
	RetryAfter string // Retry-After header for 429/503
	Times      int
	// Path, when set, limits the fault to paths containing it.
	Path string
	// AfterEffect applies the call before failing (the action took effect
	// but the answer was lost), to exercise reconciliation.
	AfterEffect bool
}

// base is what the three fakes share: devices, their state, call counts,
// issued tokens and injected faults.
type base struct {
	mu       sync.Mutex
	names    map[string]string // host name → device ID
	isolated map[string]bool
	calls    map[string]int // "isolate:ID" → count
	tokens   map[string]bool
	seq      int
	faults   []Fault
	requests []string // "METHOD path", every call
}

func newBase() base {
	return base{names: map[string]string{}, isolated: map[string]bool{}, calls: map[string]int{}, tokens: map[string]bool{}}
}

// AddDevice makes a device known under a host name.
func (b *base) AddDevice(name, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.names[strings.ToLower(name)] = id
}

// Isolated reports whether the device is isolated.
func (b *base) Isolated(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.isolated[id]
}

// Calls returns how many isolate (or release) requests reached device id.
func (b *base) Calls(verb, id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[verb+":"+id]
}

// AllCalls returns the isolate and release counts by "verb:id".
func (b *base) AllCalls() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.calls))
	for k, v := range b.calls {
		out[k] = v
	}
	return out
}

// Requests returns every request received, as "METHOD path".
func (b *base) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Fail queues a fault.
func (b *base) Fail(f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	b.faults = append(b.faults, f)
}

// ExpireTokens invalidates every issued token, as when they time out.
func (b *base) ExpireTokens() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = map[string]bool{}
}

func (b *base) issue() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	t := fmt.Sprintf("fake-token-%d", b.seq)
	b.tokens[t] = true
	return t
}

func (b *base) validBearer(r *http.Request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && b.tokens[tok]
}

// fault returns the fault for this request, if one is queued; effect
// says whether the call should still take effect.
func (b *base) fault(r *http.Request) (*Fault, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = append(b.requests, r.Method+" "+r.URL.Path)
	for i := range b.faults {
		f := &b.faults[i]
		if f.Times > 0 && (f.Path == "" || strings.Contains(r.URL.Path, f.Path)) {
			f.Times--
			cp := *f
			return &cp, f.AfterEffect
		}
	}
	return nil, false
}

func writeFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeJSON(w, f.Status, map[string]any{"error": map[string]string{"code": "Fault", "message": http.StatusText(f.Status)}})
}

func (b *base) lookup(nameOrID string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id, ok := b.names[strings.ToLower(nameOrID)]; ok {
		return id, true
	}
	for _, id := range b.names {
		if id == nameOrID {
			return id, true
		}
	}
	return "", false
}

// record applies an isolate (on) or release (off) to id and counts it.
func (b *base) record(verb, id string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[verb+":"+id]++
	b.isolated[id] = on
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
