package winevt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Layout names the JSON layouts ParseJSON recognises.
type Layout string

// The JSON layouts.
const (
	LayoutWinlogbeat Layout = "winlogbeat" // Elastic Winlogbeat / ECS: winlog.event_data, winlog.channel, …
	LayoutNXLog      Layout = "nxlog"      // NXLog im_msvistalog flat JSON: EventID, SourceName, Hostname, EventData fields top-level
	LayoutSentinel   Layout = "sentinel"   // Azure Sentinel / Log Analytics: EventData as a JSON string or object
	LayoutEventXML   Layout = "eventxml"   // the event's XML as JSON (evtx_dump, SigmaHQ regression data): Event.System with #attributes
	LayoutUnknown    Layout = ""
)

// DetectLayout tells which layout a decoded JSON document has.
func DetectLayout(doc map[string]any) Layout {
	if w, ok := doc["winlog"].(map[string]any); ok && w != nil {
		return LayoutWinlogbeat
	}
	if e, ok := doc["Event"].(map[string]any); ok {
		if _, ok := e["System"].(map[string]any); ok {
			return LayoutEventXML
		}
	}
	_, hasID := doc["EventID"]
	if _, ok := doc["EventData"]; ok && hasID {
		if _, ok := doc["SourceSystem"]; ok {
			return LayoutSentinel
		}
		if _, ok := doc["TimeGenerated"]; ok {
			return LayoutSentinel
		}
	}
	if _, ok := doc["EventID"]; ok {
		return LayoutNXLog
	}
	if _, ok := doc["EventId"]; ok {
		return LayoutNXLog
	}
	return LayoutUnknown
}

// ParseJSON turns one JSON document in any of the three layouts into an
// event. It always returns an event: when line is not a JSON object or its
// layout is unknown, the event keeps Raw and carries ParseError, and the
// error says why.
func ParseJSON(line []byte, opts Options) (*tansa.Event, error) {
	if opts.Received.IsZero() {
		opts.Received = time.Now().UTC()
	}
	raw := bytes.Clone(bytes.TrimSpace(line))
	ev := &tansa.Event{
		TenantID: opts.TenantID,
		Received: opts.Received,
		Time:     opts.Received,
		Source:   opts.Source,
		Format:   "winevt",
		Raw:      raw,
		Fields:   make(map[string]any, 64),
	}
	ev.ID = eventID(opts.TenantID, opts.Source, raw, 0)
	if t, ok := eventXMLDirect(raw, ev.Fields); ok {
		ev.Time = t
		return finishJSON(ev, opts), nil
	}
	clear(ev.Fields)
	doc, ok := decodeObject(raw)
	if !ok {
		// Not an object, or not valid JSON: encoding/json says which.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil || doc == nil {
			if err == nil {
				err = fmt.Errorf("not a JSON object")
			}
			ev.ParseError = "json: " + err.Error()
			return ev, fmt.Errorf("parse windows json: %w", err)
		}
	}
	layout := DetectLayout(doc)
	f := ev.Fields
	switch layout {
	case LayoutWinlogbeat:
		flattenJSON("", doc, f)
		w := doc["winlog"].(map[string]any)
		liftObject(w["event_data"], f)
		liftObject(w["user_data"], f)
		copyField(f, "EventID", "winlog.event_id", "event.code")
		copyField(f, "Channel", "winlog.channel")
		copyField(f, "Computer", "winlog.computer_name", "host.name")
		copyField(f, "Provider_Name", "winlog.provider_name", "event.provider")
		copyField(f, "Provider_Guid", "winlog.provider_guid")
		copyField(f, "EventRecordID", "winlog.record_id")
		copyField(f, "Task", "winlog.task")
		copyField(f, "Opcode", "winlog.opcode")
		copyField(f, "Version", "winlog.version")
		copyField(f, "Execution_ProcessID", "winlog.process.pid")
		copyField(f, "Execution_ThreadID", "winlog.process.thread.id")
		copyField(f, "Security_UserID", "winlog.user.identifier")
		ev.Time = firstTime(f, "@timestamp", "event.created")
	case LayoutEventXML:
		ev.Time = eventXMLFields(doc["Event"].(map[string]any), f)
	case LayoutNXLog, LayoutSentinel:
		for k, v := range doc {
			if k == "EventData" || k == "UserData" {
				switch x := v.(type) {
				case string:
					if inner, ok := decodeObject([]byte(x)); ok {
						liftObject(inner, f)
						continue
					}
					var inner map[string]any
					d := json.NewDecoder(strings.NewReader(x))
					d.UseNumber()
					if d.Decode(&inner) == nil {
						liftObject(inner, f)
						continue
					}
				case map[string]any:
					liftObject(x, f)
					continue
				}
			}
			flattenJSON(k, v, f)
			if s, ok := f[k]; ok {
				addSpaceless(f, k, s)
			}
		}
		copyField(f, "EventID", "EventId")
		copyField(f, "Provider_Name", "SourceName", "Provider", "ProviderName", "EventSourceName")
		copyField(f, "Provider_Guid", "ProviderGuid")
		copyField(f, "Computer", "Hostname")
		copyField(f, "EventRecordID", "RecordNumber")
		copyField(f, "Execution_ProcessID", "ExecutionProcessID")
		copyField(f, "Execution_ThreadID", "ExecutionThreadID")
		copyField(f, "Security_UserID", "UserID")
		ev.Time = firstTime(f, "TimeCreated", "EventTime", "@timestamp", "TimeGenerated", "EventReceivedTime")
	default:
		flattenJSON("", doc, f)
		ev.ParseError = "json: not a Windows event layout (no winlog object and no EventID)"
		ev.Time = firstTime(f, "@timestamp")
		if ev.Time.IsZero() {
			ev.Time = opts.Received
		}
		return ev, fmt.Errorf("parse windows json: unknown layout")
	}
	return finishJSON(ev, opts), nil
}

// finishJSON completes the fields of an event whose layout was read.
func finishJSON(ev *tansa.Event, opts Options) *tansa.Event {
	f := ev.Fields
	// EventID is an integer in the native layout; shippers sometimes send text.
	if s, ok := f["EventID"].(string); ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			f["EventID"] = n
		}
	}
	deriveECS(f)
	if ev.Time.IsZero() {
		ev.Time = opts.Received
	}
	return ev
}

// eventXMLFields flattens the JSON rendering of an event's XML: System
// attributes become Key_Attribute (Provider_Name, Execution_ProcessID, …),
// element text becomes the element's name, and EventData/UserData members
// become top-level fields. It returns TimeCreated.
func eventXMLFields(ev map[string]any, f map[string]any) time.Time {
	var t time.Time
	if sys, ok := ev["System"].(map[string]any); ok {
		for k, v := range sys {
			m, ok := v.(map[string]any)
			if !ok {
				f[k] = jsonScalar(v)
				continue
			}
			if txt, ok := m["#text"]; ok {
				f[k] = jsonScalar(txt)
			} else if val, ok := m["Value"]; ok {
				// The evtx library's own rendering (ReadEVTX with RawJSON)
				// writes an element's text as Value, not #text.
				f[k] = jsonScalar(val)
			}
			attrs, _ := m["#attributes"].(map[string]any)
			for ak, av := range attrs {
				f[k+"_"+ak] = jsonScalar(av)
			}
			for sk, sv := range m {
				if sk != "#text" && sk != "#attributes" && !(sk == "Value" && m["#text"] == nil) {
					f[k+"_"+sk] = jsonScalar(sv)
				}
			}
		}
		t = createdTime(f)
	}
	for k, v := range ev {
		if k == "System" || k == "#attributes" {
			continue
		}
		liftObject(v, f)
	}
	return t.UTC()
}

// createdTime reads TimeCreated_SystemTime, as eventXMLFields stored it.
func createdTime(f map[string]any) time.Time {
	var t time.Time
	switch st := f["TimeCreated_SystemTime"].(type) {
	case string:
		t, _ = time.Parse(time.RFC3339Nano, st)
	case float64: // epoch seconds, in the evtx library's rendering
		sec := math.Floor(st)
		// A float64 holds these to about 100 ns; microseconds, what
		// the event store keeps, survive the trip.
		t = time.Unix(int64(sec), int64((st-sec)*1e9)).Round(time.Microsecond)
	}
	return t
}

// ReadJSON decodes a stream of JSON documents (JSON lines, or concatenated
// and pretty-printed objects as evtx_dump writes them) and calls fn with the
// event of each, including those that carry ParseError. A syntax error in
// the stream ends the read, as the next document cannot be found reliably;
// use ReadJSONLines for line-oriented input that must survive bad lines.
func ReadJSON(r io.Reader, opts Options, fn func(*tansa.Event) error) (Stats, error) {
	var st Stats
	if opts.Received.IsZero() {
		opts.Received = time.Now().UTC()
	}
	dec := json.NewDecoder(r)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF {
				return st, nil
			}
			return st, fmt.Errorf("read json stream after %d documents: %w", st.Events, err)
		}
		ev, err := ParseJSON(raw, opts)
		if err != nil {
			st.fail(-1, 1, fmt.Sprintf("document %d: %v", st.Events+1, err))
		}
		st.Events++
		if err := fn(ev); err != nil {
			return st, err
		}
	}
}

// ReadJSONLines parses every non-empty line of r with ParseJSON and calls fn
// with each event, including those that carry ParseError (they are counted
// as failed, never dropped). Lines longer than 16 MiB end the read with an
// error.
func ReadJSONLines(r io.Reader, opts Options, fn func(*tansa.Event) error) (Stats, error) {
	var st Stats
	if opts.Received.IsZero() {
		opts.Received = time.Now().UTC()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev, err := ParseJSON(line, opts)
		if err != nil {
			st.fail(-1, 1, fmt.Sprintf("line %d: %v", n, err))
		}
		st.Events++
		if err := fn(ev); err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read json lines: %w", err)
	}
	return st, nil
}

// flattenJSON stores v under name, objects as dotted names.
func flattenJSON(name string, v any, f map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			n := k
			if name != "" {
				n = name + "." + k
			}
			flattenJSON(n, c, f)
		}
	default:
		if name != "" {
			f[name] = jsonScalar(x)
		}
	}
}

// liftObject copies an object's members as top-level fields (EventData
// names), flattening nested objects with dots.
func liftObject(v any, f map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, c := range m {
		if k == "#attributes" {
			continue // xmlns and similar XML attributes of the wrapper
		}
		if k == "Data" || k == "#text" {
			// Unnamed <Data> elements or bare text.
			f["Data"] = jsonScalar(c)
			continue
		}
		if inner, ok := c.(map[string]any); ok {
			// UserData wraps its fields in one provider-specific element.
			liftObject(inner, f)
			continue
		}
		s := jsonScalar(c)
		f[k] = s
		addSpaceless(f, k, s)
	}
}

func jsonScalar(v any) any {
	switch x := v.(type) {
	case nil, string, bool:
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if fl, err := x.Float64(); err == nil {
			return fl
		}
		return x.String()
	case float64:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			switch y := jsonScalar(e).(type) {
			case string:
				out = append(out, y)
			default:
				if b, err := json.Marshal(e); err == nil {
					out = append(out, strings.Trim(string(b), `"`))
				}
			}
		}
		return out
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// copyField sets dst from the first present source, unless dst is set.
func copyField(f map[string]any, dst string, srcs ...string) {
	if _, ok := f[dst]; ok {
		return
	}
	for _, s := range srcs {
		if v, ok := f[s]; ok && v != nil {
			if dst == "EventID" {
				if str, ok := v.(string); ok {
					if n, err := strconv.ParseInt(str, 10, 64); err == nil {
						v = n
					}
				}
			}
			f[dst] = v
			return
		}
	}
}

var jsonTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
}

func firstTime(f map[string]any, names ...string) time.Time {
	for _, n := range names {
		s, ok := f[n].(string)
		if !ok {
			continue
		}
		for _, l := range jsonTimeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}
