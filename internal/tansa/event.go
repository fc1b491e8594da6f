package tansa

import (
	"fmt"
	"strconv"
	"time"
)

// Event is one log record after normalisation. It keeps the raw form and a
// flat field map.
//
// Fields holds normalised values under ECS names ("@timestamp" is Time, not a
// field; "event.code", "host.name", "user.name", "source.ip", "url.full",
// "process.command_line", …) and, beside them, the original field names that
// detection rules address (Windows EventData names such as "CommandLine" or
// "TargetUserName" stay as they are). Values are string, int64, float64,
// bool, []string or nil; parsers never store other types.
type Event struct {
	ID       string    // stable and idempotent: derived from tenant, source and raw bytes
	TenantID string    // the tenant that owns the event
	Time     time.Time // when it happened (from the record; Received when absent)
	Received time.Time // when Tansa accepted it
	Source   string    // where it came from: "syslog:10.0.0.1", "hec", "file:Security.evtx"
	Format   string    // the parser that produced it: "cef", "winevt", "squid", "raw"
	Raw      []byte    // the record exactly as received
	Fields   map[string]any
	// ParseError is set when the parser could not understand Raw; the event
	// is then kept raw and searchable, never dropped.
	ParseError string
}

// Get returns the value of field name and whether it is present.
func (e *Event) Get(name string) (any, bool) {
	v, ok := e.Fields[name]
	return v, ok
}

// FieldText renders a field value as text, the way rules, exceptions and
// group keys compare it: numbers in their shortest form, booleans as
// true/false, nil as "".
func FieldText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
