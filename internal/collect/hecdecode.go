package collect

import "encoding/json"

// hecEventReader reads the concatenated event objects of an HEC
// /services/collector/event body, as a json.Decoder decoding one hecEvent
// after another would, in one pass over the bytes. The Decoder scans
// every event twice through reflection, and EVTX records sent by tansa
// ingest are kilobytes of JSON each. Objects whose keys are exactly the
// HEC names, with plain strings for host, source, sourcetype and index,
// are read here; anything else (other keys, which encoding/json matches
// without regard to case, escaped strings, values of other types) goes
// through json.Unmarshal, after the syntax check here, so third-party
// senders get what they got before.
type hecEventReader struct {
	b []byte
	i int
}

// next returns the next event. eof is true when only white space is
// left; err is non-nil when the next value is not valid JSON or not an
// event object.
func (r *hecEventReader) next() (ev hecEvent, eof bool, err error) {
	r.space()
	if r.i >= len(r.b) {
		return ev, true, nil
	}
	start := r.i
	if !r.skip(0) {
		return ev, false, errHECSyntax
	}
	span := r.b[start:r.i]
	if !fastHECEvent(span, &ev) {
		ev = hecEvent{}
		if err := json.Unmarshal(span, &ev); err != nil {
			return ev, false, err
		}
	}
	return ev, false, nil
}

var errHECSyntax = &json.SyntaxError{}

func (r *hecEventReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// maxHECDepth is encoding/json's nesting limit: at most this many
// objects and arrays may be open at once.
const maxHECDepth = 10000

// skip moves past one JSON value, checking its syntax as encoding/json's
// scanner does. depth is the number of containers open around the value.
func (r *hecEventReader) skip(depth int) bool {
	r.space()
	if r.i >= len(r.b) {
		return false
	}
	switch c := r.b[r.i]; {
	case c == '{' || c == '[':
		// Like encoding/json, the limit is on opening a container, not
		// on the depth of a value: a scalar inside the 10000th is fine.
		if depth >= maxHECDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		r.i++
		r.space()
		if r.i < len(r.b) && r.b[r.i] == end {
			r.i++
			return true
		}
		for {
			if end == '}' {
				r.space()
				if r.i >= len(r.b) || r.b[r.i] != '"' || !r.skipString() {
					return false
				}
				r.space()
				if r.i >= len(r.b) || r.b[r.i] != ':' {
					return false
				}
				r.i++
			}
			if !r.skip(depth + 1) {
				return false
			}
			r.space()
			if r.i >= len(r.b) {
				return false
			}
			switch r.b[r.i] {
			case ',':
				r.i++
			case end:
				r.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return r.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		return r.skipNumber()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	}
	return false
}

func (r *hecEventReader) literal(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

func (r *hecEventReader) digits() int {
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

func (r *hecEventReader) skipNumber() bool {
	if r.b[r.i] == '-' {
		r.i++
	}
	if r.i >= len(r.b) {
		return false
	}
	if r.b[r.i] == '0' {
		r.i++
	} else if r.digits() == 0 {
		return false
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			return false
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			return false
		}
	}
	return true
}

// skipString moves past the string at r.i (its opening quote). Like
// encoding/json's scanner it accepts any byte from 0x20 up, valid UTF-8
// or not, and the escapes JSON defines.
func (r *hecEventReader) skipString() bool {
	r.i++
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if r.i+1 >= len(r.b) {
				return false
			}
			switch r.b[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if r.i+6 > len(r.b) {
					return false
				}
				for _, h := range r.b[r.i+2 : r.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				r.i += 6
			default:
				return false
			}
		default:
			r.i++
		}
	}
	return false
}

// fastHECEvent reads a syntactically valid value into ev when it is an
// object of the common shape, and reports whether it could.
func fastHECEvent(span []byte, ev *hecEvent) bool {
	if len(span) == 0 || span[0] != '{' {
		return false
	}
	r := hecEventReader{b: span, i: 1}
	for {
		r.space()
		if r.b[r.i] == '}' {
			return true
		}
		if r.b[r.i] == ',' {
			r.i++
			r.space()
		}
		ks := r.i
		r.skipString()
		key := r.b[ks+1 : r.i-1]
		r.space()
		r.i++ // ':'
		r.space()
		vs := r.i
		r.skip(0)
		val := r.b[vs:r.i]
		switch string(key) {
		case "event":
			ev.Event = val
		case "fields":
			ev.Fields = val
		case "time":
			ev.Time = val
		case "host", "source", "sourcetype", "index":
			s, ok := plainString(val)
			if !ok {
				return false
			}
			switch string(key) {
			case "host":
				ev.Host = s
			case "source":
				ev.Source = s
			case "sourcetype":
				ev.Sourcetype = s
			default:
				ev.Index = s
			}
		default:
			return false
		}
	}
}

// plainString returns the text of a JSON string with no escapes and only
// printable ASCII, the strings that need no unquoting.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	return string(v[1 : len(v)-1]), true
}
