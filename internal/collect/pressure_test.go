package collect

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// busyFlag is a Pressure the test switches.
type busyFlag struct{ on atomic.Bool }

func (b *busyFlag) Busy(string) bool { return b.on.Load() }

// While a tenant is busy, HEC and _bulk refuse with their retry answers
// and count the refusals; nothing reaches the bus.
func TestBusyTenantIsRefusedWithRetry(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	busy := &busyFlag{}
	busy.on.Store(true)
	in.SetPressure(busy)
	for _, h := range []func(w *httptestRecorder){
		func(w *httptestRecorder) { in.HECRaw(w.w, w.req("/services/collector/raw", "a line"), "t") },
		func(w *httptestRecorder) { in.HECEvent(w.w, w.req("/services/collector/event", `{"event":"x"}`), "t") },
	} {
		w := newHTTPTestRecorder()
		h(w)
		if w.w.Code != 503 || !strings.Contains(w.w.Body.String(), `"code":9`) || w.w.Header().Get("Retry-After") == "" {
			t.Fatalf("got %d %s (Retry-After %q), want 503 code 9 with Retry-After", w.w.Code, w.w.Body, w.w.Header().Get("Retry-After"))
		}
	}
	w := newHTTPTestRecorder()
	in.ESBulk(w.w, w.req("/_bulk", "{\"index\":{}}\n{\"a\":1}\n"), "t", "logs")
	if w.w.Code != 429 {
		t.Fatalf("_bulk while busy: %d %s, want 429", w.w.Code, w.w.Body)
	}
	if rec.calls != 0 {
		t.Fatalf("%d publishes while busy", rec.calls)
	}
	var m dto.Metric
	if err := in.refused.WithLabelValues("hec", "busy").Write(&m); err != nil || m.GetCounter().GetValue() != 2 {
		got := m.GetCounter().GetValue()
		t.Fatalf("refused{hec,busy} = %v, want 2", got)
	}
	busy.on.Store(false)
	w = newHTTPTestRecorder()
	in.HECRaw(w.w, w.req("/services/collector/raw", "a line"), "t")
	if w.w.Code != 200 {
		t.Fatalf("after the backlog cleared: %d %s", w.w.Code, w.w.Body)
	}
}

// While a tenant is busy, a TCP syslog connection is not read on: its
// records wait in the sender and the kernel, and all arrive once the
// backlog clears.
func TestBusyTenantStopsTCPReading(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	busy := &busyFlag{}
	busy.on.Store(true)
	in.SetPressure(busy)
	s, err := in.ListenSyslog(context.Background(), SyslogConfig{Protocol: "tcp", Listen: "127.0.0.1:0", Tenant: "t1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Write until the connection stops taking bytes: the listener holds
	// one batch and its reader's buffers, then TCP pushes back.
	line := fmt.Sprintf("<13>Nov 22 00:00:00 h %s\n", strings.Repeat("x", 200))
	sent := 0
	for {
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := io.WriteString(c, line); err != nil {
			break
		}
		sent++
		if sent > 2_000_000 {
			t.Fatal("the listener kept reading while busy")
		}
	}
	rec.mu.Lock()
	published := rec.calls
	rec.mu.Unlock()
	if published != 0 {
		t.Fatalf("%d publishes while busy", published)
	}
	busy.on.Store(false)
	c.SetWriteDeadline(time.Time{})
	waitRecords(t, rec, sent)
}

// httptestRecorder builds requests and records answers for the handlers.
type httptestRecorder struct{ w *httptest.ResponseRecorder }

func newHTTPTestRecorder() *httptestRecorder { return &httptestRecorder{w: httptest.NewRecorder()} }

func (*httptestRecorder) req(path, body string) *http.Request {
	return httptest.NewRequest("POST", path, strings.NewReader(body))
}

func counter(t *testing.T, in *Inputs, input, reason string) int {
	t.Helper()
	var m dto.Metric
	if err := in.refused.WithLabelValues(input, reason).Write(&m); err != nil {
		t.Fatal(err)
	}
	return int(m.GetCounter().GetValue())
}

// UDP cannot push back: while a tenant is busy its datagrams fill the
// queue and the rest are counted, by Tansa or by the kernel, so that every
// datagram sent is either published or counted as lost.
func TestBusyTenantUDPLossesAreCounted(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	busy := &busyFlag{}
	busy.on.Store(true)
	in.SetPressure(busy)
	s, err := in.ListenSyslog(context.Background(), SyslogConfig{Protocol: "udp", Listen: "127.0.0.1:0", Tenant: "t1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 100_000
	for i := range sent {
		fmt.Fprintf(c, "<13>Nov 22 00:00:00 h datagram %d", i)
	}
	busy.on.Store(false)
	// The kernel reports its drops with the next datagram it delivers: a
	// few late ones, sent slowly, carry the count of the burst's last.
	time.Sleep(500 * time.Millisecond)
	const late = 10
	for i := range late {
		fmt.Fprintf(c, "<13>Nov 22 00:00:00 h late %d", i)
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec.mu.Lock()
		got := len(rec.records())
		rec.mu.Unlock()
		lost := counter(t, in, "syslog-udp", "overload") + counter(t, in, "syslog-udp", "kernel")
		if got+lost == sent+late && lost > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("published %d + counted lost %d = %d of %d sent", got, lost, got+lost, sent+late)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
