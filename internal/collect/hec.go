package collect

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// maxHECBody bounds one HEC request, after decompression.
const maxHECBody = 64 << 20

// hecReply is HEC's response body. Codes follow Splunk's documented
// "Possible error codes" for the HTTP Event Collector.
type hecReply struct {
	Text         string `json:"text"`
	Code         int    `json:"code"`
	InvalidEvent *int   `json:"invalid-event-number,omitempty"`
	AckID        *int64 `json:"ackId,omitempty"`
}

// HECError answers err in HEC's shape, for the web layer's authentication
// failures on HEC routes.
func HECError(w http.ResponseWriter, err error) {
	switch tansa.KindOf(err) {
	case tansa.Unauthorized:
		if strings.Contains(tansa.MessageOf(err), "log in or give") {
			writeHEC(w, http.StatusUnauthorized, hecReply{Text: "Token is required", Code: 2})
			return
		}
		writeHEC(w, http.StatusForbidden, hecReply{Text: "Invalid token", Code: 4})
	case tansa.Forbidden:
		writeHEC(w, http.StatusForbidden, hecReply{Text: "Invalid token", Code: 4})
	case tansa.Unavailable:
		w.Header().Set("Retry-After", "5")
		writeHEC(w, http.StatusServiceUnavailable, hecReply{Text: "Server is busy", Code: 9})
	case tansa.TooLarge:
		writeHEC(w, http.StatusRequestEntityTooLarge, hecReply{Text: "Content length too large", Code: 27})
	case tansa.Invalid:
		writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6})
	default:
		writeHEC(w, http.StatusInternalServerError, hecReply{Text: "Internal server error", Code: 8})
	}
}

func writeHEC(w http.ResponseWriter, status int, v hecReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// hecBody reads a request body, gunzipping it when the sender says so,
// up to maxHECBody.
func hecBody(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "body: not gzip: %v", err)
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, maxHECBody+1))
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "body: %v", err)
	}
	if len(b) > maxHECBody {
		return nil, tansa.Errorf(tansa.TooLarge, "body: larger than %d bytes", maxHECBody)
	}
	return b, nil
}

// hecEvent is one event object of /services/collector/event.
type hecEvent struct {
	Time       json.RawMessage `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Index      string          `json:"index"`
	Event      json.RawMessage `json:"event"`
	Fields     json.RawMessage `json:"fields"`
}

// hecTime reads HEC's time: epoch seconds as a number or a string, with
// an optional fraction.
func hecTime(raw json.RawMessage) (time.Time, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return time.Time{}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}

// cutLine splits b after its first line. The line, without its line
// ending, is a slice of b, so it stays valid as long as b does — records
// keep their bytes without copying, unlike a bufio.Scanner's tokens, which
// the next line overwrites.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line, rest = b[:i], b[i+1:]
	} else {
		line = b
	}
	return bytes.TrimRight(line, "\r"), rest
}

// ackCounter issues HEC acknowledgement IDs. Every ID it issues stands
// for data already persisted, so every ID a sender asks about is true.
type ackCounter struct{ n atomic.Int64 }

// HECEvent serves POST /services/collector/event: one or more JSON event
// objects, concatenated, for tenant. It answers 200 only after every
// event is persisted; with a request channel it also returns an ackId.
func (in *Inputs) HECEvent(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := in.admit("hec", tenant); err != nil {
		HECError(w, err)
		return
	}
	body, err := hecBody(r)
	if err != nil {
		HECError(w, err)
		return
	}
	now := in.now().UTC()
	dec := hecEventReader{b: body}
	var recs []Record
	for i := 0; ; i++ {
		ev, eof, err := dec.next()
		if eof {
			break
		}
		n := i
		if err != nil {
			in.refused.WithLabelValues("hec", "invalid").Inc()
			writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6, InvalidEvent: &n})
			return
		}
		switch {
		case len(ev.Event) == 0:
			writeHEC(w, http.StatusBadRequest, hecReply{Text: "Event field is required", Code: 12, InvalidEvent: &n})
			return
		case string(ev.Event) == `""` || string(ev.Event) == "null":
			writeHEC(w, http.StatusBadRequest, hecReply{Text: "Event field cannot be blank", Code: 13, InvalidEvent: &n})
			return
		}
		t, ok := hecTime(ev.Time)
		if !ok {
			writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6, InvalidEvent: &n})
			return
		}
		raw := []byte(ev.Event)
		if raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6, InvalidEvent: &n})
				return
			}
			raw = []byte(s)
		} else if len(ev.Fields) > 0 && string(ev.Fields) != "null" {
			// Indexed fields are kept beside the event, never dropped.
			raw = append(append(append(append([]byte(`{"event":`), raw...), `,"fields":`...), ev.Fields...), '}')
		}
		src := "hec"
		if ev.Source != "" {
			src = "hec:" + ev.Source
		}
		recs = append(recs, Record{Source: src, Hint: ev.Sourcetype, Host: ev.Host, Time: t, Received: now, Raw: raw})
	}
	if len(recs) == 0 {
		writeHEC(w, http.StatusBadRequest, hecReply{Text: "No data", Code: 5})
		return
	}
	in.finishHEC(w, r, tenant, body, recs)
}

// HECRaw serves POST /services/collector/raw: the body's lines are records,
// with host, source and sourcetype from the query string.
func (in *Inputs) HECRaw(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := in.admit("hec", tenant); err != nil {
		HECError(w, err)
		return
	}
	body, err := hecBody(r)
	if err != nil {
		HECError(w, err)
		return
	}
	q := r.URL.Query()
	now := in.now().UTC()
	src := "hec-raw"
	if s := q.Get("source"); s != "" {
		src = "hec-raw:" + s
	}
	var recs []Record
	for rest := body; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > maxRecord {
			writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6})
			return
		}
		recs = append(recs, Record{Source: src, Hint: q.Get("sourcetype"), Host: q.Get("host"), Received: now, Raw: line})
	}
	if len(recs) == 0 {
		writeHEC(w, http.StatusBadRequest, hecReply{Text: "No data", Code: 5})
		return
	}
	in.finishHEC(w, r, tenant, body, recs)
}

func (in *Inputs) finishHEC(w http.ResponseWriter, r *http.Request, tenant string, body []byte, recs []Record) {
	channel := r.Header.Get("X-Splunk-Request-Channel")
	if channel == "" {
		channel = r.URL.Query().Get("channel")
	}
	// A sender that retries a request it saw fail sends the same body on the
	// same channel: the key makes the retry land once.
	key := requestKey([]byte(tenant), []byte(channel), []byte(r.URL.Path), body)
	if err := in.Publish(r.Context(), "hec", tenant, key, recs); err != nil {
		HECError(w, err)
		return
	}
	reply := hecReply{Text: "Success", Code: 0}
	if channel != "" {
		id := in.acks.n.Add(1)
		reply.AckID = &id
	}
	writeHEC(w, http.StatusOK, reply)
}

// HECAck serves POST /services/collector/ack. Tansa answers a request only
// once its data is persisted, so every acknowledgement ID is true.
func (in *Inputs) HECAck(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeHEC(w, http.StatusBadRequest, hecReply{Text: "Invalid data format", Code: 6})
		return
	}
	out := map[string]bool{}
	for _, id := range req.Acks {
		out[strconv.FormatInt(id, 10)] = id > 0 && id <= in.acks.n.Load()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"acks": out})
}

// HECHealth serves GET /services/collector/health.
func (in *Inputs) HECHealth(w http.ResponseWriter, r *http.Request) {
	writeHEC(w, http.StatusOK, hecReply{Text: "HEC is healthy", Code: 17})
}
