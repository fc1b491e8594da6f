package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/bus"
	"github.com/tansa-sec/tansa/internal/collect"
	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/ingest"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlite"
	"github.com/tansa-sec/tansa/internal/tansa"
)

type rig struct {
	bus    *bus.Bus
	store  *sqlite.Events
	inputs *collect.Inputs
}

// newRig wires a real embedded bus, a real event store and the pipeline,
// as the server does.
func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	b, err := bus.Open(t.Context(), bus.Options{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st, err := sqlite.OpenEvents(t.Context(), filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := prometheus.NewRegistry()
	p := ingest.New(b, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), reg, ingest.Options{Idle: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &rig{bus: b, store: st, inputs: collect.NewInputs(b, reg)}
}

// waitFor polls the store until tenant has want events; it gives up after
// 200 polls so a broken pipeline fails instead of hanging.
func (r *rig) waitFor(t *testing.T, tenant string, q events.Query, want int) []tansa.Event {
	t.Helper()
	q.Scope = access.Scope{Tenants: []string{tenant}}
	q.Limit = 1000
	var got []tansa.Event
	for range 200 {
		evs, total, err := r.store.Search(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		got = evs
		if total >= want {
			return evs
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("tenant %s has %d events, want %d", tenant, len(got), want)
	return nil
}

func TestHECEventsBecomeSearchableParsedEvents(t *testing.T) {
	r := newRig(t)
	body := `{"event":"<134>1 2026-11-21T10:00:00Z fw01 - - - - CEF:0|Fortinet|FortiGate|7.0|13|traffic|3|src=203.0.113.5 dst=10.0.0.8 act=deny","host":"fw01"}
{"event":"Nov 21 10:00:01 web1 sshd[42]: Failed password for root from 198.51.100.7 port 4242 ssh2"}
{"event":"something no parser knows \u00e9\u00e8"}`
	w := httptest.NewRecorder()
	r.inputs.HECEvent(w, httptest.NewRequest("POST", "/services/collector/event", strings.NewReader(body)), "tenant-a")
	if w.Code != 200 {
		t.Fatalf("HEC answered %d %s", w.Code, w.Body)
	}
	evs := r.waitFor(t, "tenant-a", events.Query{}, 3)
	byFormat := map[string]tansa.Event{}
	for _, ev := range evs {
		byFormat[ev.Format] = ev
	}
	if ev := byFormat["cef"]; ev.Fields["source.ip"] != "203.0.113.5" || ev.Source != "hec" {
		t.Errorf("CEF event = %+v", ev)
	}
	if ev := byFormat["sshd"]; ev.Fields["user.name"] != "root" {
		t.Errorf("sshd event = %+v", ev)
	}
	if ev := byFormat[normalize.Raw]; !strings.Contains(string(ev.Raw), "no parser knows") {
		t.Errorf("an unknown line was not kept raw: %+v", byFormat)
	}
	if evs := r.waitFor(t, "tenant-a", events.Query{Observable: "198.51.100.7"}, 1); len(evs) != 1 {
		t.Errorf("observable lookup found %d events", len(evs))
	}
	if _, total, _ := r.store.Search(t.Context(), events.Query{Scope: access.Scope{Tenants: []string{"tenant-b"}}}); total != 0 {
		t.Errorf("tenant-b sees %d of tenant-a's events", total)
	}
}

func TestRedeliveredBatchIsStoredOnce(t *testing.T) {
	r := newRig(t)
	payload := collect.EncodeBatch([]collect.Record{
		{Source: "test", Received: time.Now(), Raw: []byte("same line")},
		{Source: "test", Received: time.Now(), Raw: []byte("same line")},
	})
	// The same batch arriving twice (a consumer crashed before its ack) has
	// the same event IDs; two identical lines in one batch stay two events.
	for _, id := range []string{"first", "second"} {
		if err := r.bus.Publish(t.Context(), "t1", id, payload); err != nil {
			t.Fatal(err)
		}
	}
	r.waitFor(t, "t1", events.Query{}, 2)
	time.Sleep(300 * time.Millisecond) // let the second delivery be processed
	if _, total, _ := r.store.Search(t.Context(), events.Query{Scope: access.Scope{Tenants: []string{"t1"}}}); total != 2 {
		t.Fatalf("stored %d events, want 2", total)
	}
}

func TestDamagedBatchIsKeptRaw(t *testing.T) {
	r := newRig(t)
	if err := r.bus.Publish(t.Context(), "t1", "", []byte("\x01\x05garbage")); err != nil {
		t.Fatal(err)
	}
	evs := r.waitFor(t, "t1", events.Query{ParseErrors: true}, 1)
	if !strings.Contains(evs[0].ParseError, "batch") || string(evs[0].Raw) != "\x01\x05garbage" {
		t.Fatalf("damaged batch stored as %+v", evs[0])
	}
}

func TestEventsAreDeterministic(t *testing.T) {
	p := normalize.NewParser(time.UTC)
	data := collect.EncodeBatch([]collect.Record{{Source: "s", Received: time.Unix(1, 0), Raw: []byte("a")}, {Source: "s", Received: time.Unix(1, 0), Raw: []byte("a")}})
	a, b := ingest.Events(p, "t", data), ingest.Events(p, "t", data)
	if a[0].ID != b[0].ID || a[0].ID == a[1].ID {
		t.Fatalf("ids %s %s / %s: the same batch must give the same ids, records in it different ones", a[0].ID, a[1].ID, b[0].ID)
	}
	// The form stored events already have (a redelivery is recognised by
	// it): 24 hex digits of the batch's SHA-256, "-", the position.
	sum := sha256.Sum256(data)
	for i, ev := range a {
		if want := hex.EncodeToString(sum[:12]) + "-" + strconv.Itoa(i); ev.ID != want {
			t.Errorf("event %d: ID %q, want %q", i, ev.ID, want)
		}
	}
}

func TestWindowsJSONGoesThroughTheWindowsParser(t *testing.T) {
	r := newRig(t)
	// A Winlogbeat document as the _bulk input receives it.
	doc := `{"@timestamp":"2026-11-21T10:00:00.000Z","event":{"code":"4625","provider":"Microsoft-Windows-Security-Auditing"},` +
		`"winlog":{"channel":"Security","event_id":4625,"computer_name":"DC01.corp.example","record_id":77,` +
		`"event_data":{"TargetUserName":"administrator","IpAddress":"198.51.100.9","LogonType":"3"}},"host":{"name":"DC01"}}`
	body := "{\"index\":{\"_index\":\"winlogbeat-8.11.0\"}}\n" + doc + "\n"
	w := httptest.NewRecorder()
	r.inputs.ESBulk(w, httptest.NewRequest("POST", "/es/_bulk", strings.NewReader(body)), "t1", "")
	if w.Code != 200 {
		t.Fatalf("bulk: %d %s", w.Code, w.Body)
	}
	evs := r.waitFor(t, "t1", events.Query{}, 1)
	ev := evs[0]
	if ev.Format != "winevt" || ev.Fields["TargetUserName"] != "administrator" || ev.ParseError != "" {
		t.Fatalf("winlogbeat event parsed as %s: %v (%s)", ev.Format, ev.Fields, ev.ParseError)
	}
	if got := r.waitFor(t, "t1", events.Query{Observable: "198.51.100.9"}, 1); len(got) != 1 {
		t.Fatalf("the Windows event's address is not in the observable index")
	}
}
