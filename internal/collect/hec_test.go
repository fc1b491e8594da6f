package collect

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// recorder keeps what the inputs publish, or refuses like a full queue.
type recorder struct {
	mu    sync.Mutex
	msgs  [][]Record
	ids   []string
	full  bool
	calls int
}

func (r *recorder) Publish(ctx context.Context, tenant, id string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.full {
		return tansa.Errorf(tansa.Unavailable, "the ingest queue is full; retry later")
	}
	recs, err := DecodeBatch(payload)
	if err != nil {
		return err
	}
	r.msgs = append(r.msgs, recs)
	r.ids = append(r.ids, id)
	return nil
}

func (r *recorder) records() []Record {
	var out []Record
	for _, m := range r.msgs {
		out = append(out, m...)
	}
	return out
}

func newInputs(pub Publisher) *Inputs {
	in := NewInputs(pub, prometheus.NewRegistry())
	in.now = func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }
	return in
}

func post(t *testing.T, h func(http.ResponseWriter, *http.Request), path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s answered %q, not JSON", path, w.Body.String())
	}
	return w.Code, out
}

func TestHECEventAcceptsSplunkShapes(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	h := func(w http.ResponseWriter, r *http.Request) { in.HECEvent(w, r, "tenant-a") }
	body := `{"time": 1763770000.25, "host": "fw01", "source": "fortigate", "sourcetype": "cef", "event": "CEF:0|Fortinet|FortiGate|7|13|x|3|src=1.2.3.4"}
	{"time": "1763770001", "event": {"user": "alice", "action": "login"}, "fields": {"site": "osaka"}}`
	code, out := post(t, h, "/services/collector/event", body, map[string]string{"X-Splunk-Request-Channel": "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"})
	if code != 200 || out["code"] != 0.0 || out["text"] != "Success" || out["ackId"] == nil {
		t.Fatalf("got %d %v, want 200 Success with an ackId", code, out)
	}
	got := rec.records()
	if len(got) != 2 {
		t.Fatalf("published %d records, want 2", len(got))
	}
	if got[0].Host != "fw01" || got[0].Hint != "cef" || got[0].Source != "hec:fortigate" || !strings.HasPrefix(string(got[0].Raw), "CEF:0|") ||
		!got[0].Time.Equal(time.Unix(1763770000, 250000000)) {
		t.Errorf("first record = %+v", got[0])
	}
	if string(got[1].Raw) != `{"event":{"user": "alice", "action": "login"},"fields":{"site": "osaka"}}` {
		t.Errorf("an object event with indexed fields kept as %s", got[1].Raw)
	}
	// Every acknowledgement ID Tansa issued stands for persisted data.
	code, out = post(t, func(w http.ResponseWriter, r *http.Request) { in.HECAck(w, r) }, "/services/collector/ack", `{"acks":[1,99]}`, nil)
	if acks := out["acks"].(map[string]any); code != 200 || acks["1"] != true || acks["99"] != false {
		t.Fatalf("ack answer %d %v, want 1 true and 99 (never issued) false", code, out)
	}
}

func TestHECEventErrorsFollowSplunkCodes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		code       float64
		invalid    any
	}{
		{"no data", "", 400, 5, nil},
		{"malformed second event", `{"event":"a"} {"event":`, 400, 6, 1.0},
		{"event missing", `{"host":"x"}`, 400, 12, 0.0},
		{"blank event", `{"event":""}`, 400, 13, 0.0},
		{"bad time", `{"event":"a","time":"yesterday"}`, 400, 6, 0.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			in := newInputs(rec)
			code, out := post(t, func(w http.ResponseWriter, r *http.Request) { in.HECEvent(w, r, "t") }, "/services/collector/event", tc.body, nil)
			if code != tc.status || out["code"] != tc.code || out["invalid-event-number"] != tc.invalid {
				t.Fatalf("got %d %v, want %d code %v invalid-event-number %v", code, out, tc.status, tc.code, tc.invalid)
			}
			if rec.calls != 0 {
				t.Fatalf("a rejected request published %d batches; nothing may be stored", rec.calls)
			}
		})
	}
}

func TestHECFullQueueAnswersBusyWithRetry(t *testing.T) {
	in := newInputs(&recorder{full: true})
	req := httptest.NewRequest("POST", "/services/collector/event", strings.NewReader(`{"event":"x"}`))
	w := httptest.NewRecorder()
	in.HECEvent(w, req, "t")
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"code":9`) || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d %s (Retry-After %q), want 503 code 9 with Retry-After", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}

func TestHECRawGzipAndRetryIsIdempotent(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("line one\r\n\nline two\n"))
	zw.Close()
	send := func() {
		req := httptest.NewRequest("POST", "/services/collector/raw?sourcetype=syslog&host=h1&channel=c1", bytes.NewReader(buf.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		w := httptest.NewRecorder()
		in.HECRaw(w, req, "t")
		if w.Code != 200 {
			t.Fatalf("raw: %d %s", w.Code, w.Body)
		}
	}
	send()
	send()
	got := rec.records()
	if len(got) != 4 || string(got[0].Raw) != "line one" || string(got[1].Raw) != "line two" || got[0].Hint != "syslog" || got[0].Host != "h1" {
		t.Fatalf("records = %+v", got)
	}
	// The retry carries the same publish ID, so the bus stores it once.
	if rec.ids[0] == "" || rec.ids[0] != rec.ids[1] {
		t.Fatalf("publish ids %q: a retried request must reuse its id", rec.ids)
	}
}

func TestESBulkItemsAndRefusals(t *testing.T) {
	rec := &recorder{}
	in := newInputs(rec)
	body := `{"index":{"_index":"winlogbeat-8","_id":"abc"}}
{"event":{"code":"4625"},"winlog":{"channel":"Security"}}
{"create":{}}
{"message":"plain"}
{"delete":{"_index":"x","_id":"1"}}
{"update":{"_id":"2"}}
{"doc":{"a":1}}
{"index":{}}
not json
`
	req := httptest.NewRequest("POST", "/es/logs/_bulk", strings.NewReader(body))
	w := httptest.NewRecorder()
	in.ESBulk(w, req, "t", "logs")
	if w.Code != 200 || w.Header().Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("got %d (X-Elastic-Product %q)", w.Code, w.Header().Get("X-Elastic-Product"))
	}
	var out struct {
		Errors bool                        `json:"errors"`
		Items  []map[string]map[string]any `json:"items"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		op     string
		status float64
	}{{"index", 201}, {"create", 201}, {"delete", 400}, {"update", 400}, {"index", 400}}
	if !out.Errors || len(out.Items) != len(want) {
		t.Fatalf("errors=%v items=%v", out.Errors, out.Items)
	}
	for i, w := range want {
		if out.Items[i][w.op]["status"] != w.status {
			t.Errorf("item %d = %v, want %s %v", i, out.Items[i], w.op, w.status)
		}
	}
	got := rec.records()
	if len(got) != 2 || got[0].Source != "bulk:winlogbeat-8" || got[1].Source != "bulk:logs" {
		t.Fatalf("records = %+v", got)
	}
}

func FuzzHECEvent(f *testing.F) {
	f.Add(`{"event":"x","time":1}`)
	f.Add(`{"event":{"a":[1,2]},"fields":{"b":"c"}}{"event":"y"}`)
	f.Add(`{"event":"\u0000"}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := &recorder{}
		in := newInputs(rec)
		req := httptest.NewRequest("POST", "/services/collector/event", strings.NewReader(body))
		w := httptest.NewRecorder()
		in.HECEvent(w, req, "t")
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if w.Code == 400 && rec.calls != 0 {
			t.Fatalf("a rejected request published data")
		}
	})
}

func FuzzESBulk(f *testing.F) {
	f.Add("{\"index\":{}}\n{\"a\":1}\n")
	f.Add("{\"delete\":{}}\n{\"update\":{}}\n{}\n")
	f.Fuzz(func(t *testing.T, body string) {
		in := newInputs(&recorder{})
		req := httptest.NewRequest("POST", "/es/_bulk", strings.NewReader(body))
		w := httptest.NewRecorder()
		in.ESBulk(w, req, "t", "")
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}

// TestLargeBodiesKeepEveryLine sends bodies far larger than any read
// buffer: every record must keep its own bytes, not a later line's.
func TestLargeBodiesKeepEveryLine(t *testing.T) {
	var raw, bulk strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&raw, "<13>Nov 22 00:00:00 host app: line %05d %s\r\n", i, strings.Repeat("x", 60))
		fmt.Fprintf(&bulk, "{\"index\":{}}\n{\"n\":%d,\"pad\":%q}\n", i, strings.Repeat("y", 60))
	}
	rec := &recorder{}
	in := newInputs(rec)
	w := httptest.NewRecorder()
	in.HECRaw(w, httptest.NewRequest("POST", "/services/collector/raw", strings.NewReader(raw.String())), "t")
	if w.Code != 200 {
		t.Fatalf("raw: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	in.ESBulk(w, httptest.NewRequest("POST", "/es/_bulk", strings.NewReader(bulk.String())), "t", "")
	if w.Code != 200 {
		t.Fatalf("bulk: %d %s", w.Code, w.Body)
	}
	got := rec.records()
	if len(got) != 10000 {
		t.Fatalf("published %d records, want 10000", len(got))
	}
	for i := range 5000 {
		if want := fmt.Sprintf("<13>Nov 22 00:00:00 host app: line %05d %s", i, strings.Repeat("x", 60)); string(got[i].Raw) != want {
			t.Fatalf("raw record %d = %q, want %q", i, got[i].Raw, want)
		}
		if want := fmt.Sprintf("{\"n\":%d,\"pad\":%q}", i, strings.Repeat("y", 60)); string(got[5000+i].Raw) != want {
			t.Fatalf("bulk record %d = %q, want %q", i, got[5000+i].Raw, want)
		}
	}
}
