package winevt

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit (objects and arrays open
// at once); deeper documents go to encoding/json, which refuses them with
// its own message.
const maxJSONDepth = 10000

// decodeObject decodes the JSON object at the start of b (after white
// space) into what encoding/json's Decoder with UseNumber produces for a
// map[string]any: nested map[string]any, []any, string, json.Number, bool
// and nil, the last of duplicate keys winning, invalid UTF-8 and lone
// surrogates turned into U+FFFD. Like the Decoder it reads one value and
// ignores what follows. ok is false when b does not start with a valid
// object; the caller then asks encoding/json, whose error says what is
// wrong and where.
//
// It exists because the Decoder, going through reflection for every
// value, was a fifth of the server's CPU during an EVTX import.
func decodeObject(b []byte) (doc map[string]any, ok bool) {
	d := jsonDecoder{b: b}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return nil, false
	}
	v, ok := d.value(0)
	if !ok {
		return nil, false
	}
	m, _ := v.(map[string]any)
	return m, m != nil
}

type jsonDecoder struct {
	b   []byte
	i   int
	buf []byte // scratch for strings with escapes
}

func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads one value; depth is the number of containers open around
// it. Like encoding/json, the limit applies when opening an object or
// array, not to the value itself: a scalar inside the 10000th container
// is fine, a 10001st container is not.
func (d *jsonDecoder) value(depth int) (any, bool) {
	d.space()
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		if depth >= maxJSONDepth {
			return nil, false
		}
		d.i++
		m := make(map[string]any, 8)
		d.space()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return m, true
		}
		for {
			d.space()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return nil, false
			}
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.space()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return nil, false
			}
			d.i++
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			more, ok := d.next('}')
			if !ok {
				return nil, false
			}
			if !more {
				return m, true
			}
		}
	case c == '[':
		if depth >= maxJSONDepth {
			return nil, false
		}
		d.i++
		a := []any{}
		d.space()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			more, ok := d.next(']')
			if !ok {
				return nil, false
			}
			if !more {
				return a, true
			}
		}
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

// next reads what follows a member of an object or array: a comma (more
// members follow) or its closing byte (it ends); anything else is not
// JSON.
func (d *jsonDecoder) next(closing byte) (more, ok bool) {
	d.space()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, true
	case closing:
		d.i++
		return false, true
	}
	return false, false
}

func (d *jsonDecoder) literal(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

// number reads a number as JSON's grammar has it.
func (d *jsonDecoder) number() (any, bool) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i >= len(d.b) {
		return nil, false
	}
	if d.b[d.i] == '0' {
		d.i++
	} else if d.digits() == 0 {
		return nil, false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false
		}
	}
	return json.Number(d.b[start:d.i]), true
}

func (d *jsonDecoder) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// str reads the string at d.i (its opening quote) as encoding/json
// unquotes it.
func (d *jsonDecoder) str() (string, bool) {
	d.i++
	start := d.i
	// The common case: no escapes, plain ASCII or valid UTF-8.
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := d.b[start:d.i]
			d.i++
			return string(s), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			d.i++
			continue
		}
		r, size := utf8.DecodeRune(d.b[d.i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		d.i += size
	}
	out := append(d.buf[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			d.buf = out
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return "", false
			}
			e := d.b[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := d.hex4(d.i)
				if r < 0 {
					return "", false
				}
				d.i += 4
				if utf16.IsSurrogate(r) {
					// A valid pair is consumed whole; anything else
					// becomes U+FFFD and the next escape stands alone.
					if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
						if r2 := d.hex4(d.i + 2); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								d.i += 6
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return "", false
}

// hex4 reads four hex digits at i, or returns -1.
func (d *jsonDecoder) hex4(i int) rune {
	if i+4 > len(d.b) {
		return -1
	}
	var r rune
	for _, c := range d.b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// eventXMLDirect reads a document of the shape the EVTX reader's RawJSON
// writes, {"Event":{"System":{…},"EventData":{…}}}, into f as
// eventXMLFields would, without building a map for each of System's
// elements, and returns TimeCreated. It gives up (ok false, f partly
// filled) on anything whose result could depend on the order in which
// eventXMLFields ranges over its maps (duplicate keys, two System
// elements writing the same field, more than one object to lift), on
// #text and #attributes, and on any other shape or invalid JSON; the
// caller then clears f and takes the general path.
func eventXMLDirect(raw []byte, f map[string]any) (t time.Time, ok bool) {
	d := jsonDecoder{b: raw}
	if !d.byte('{') || !d.key("Event") || !d.byte('{') {
		return t, false
	}
	type member struct {
		k string
		v any
	}
	var others [4]member
	rest := others[:0]
	sawSystem := false
	if d.peek('}') {
		return t, false
	}
	for {
		if !d.peek('"') {
			return t, false
		}
		k, ok := d.str()
		if !ok || !d.byte(':') {
			return t, false
		}
		if k == "System" {
			if sawSystem || !d.system(f) {
				return t, false
			}
			sawSystem = true
		} else {
			v, ok := d.value(2)
			if !ok {
				return t, false
			}
			for _, o := range rest {
				if o.k == k {
					return t, false
				}
			}
			rest = append(rest, member{k, v})
		}
		if d.byte(',') {
			continue
		}
		if d.byte('}') {
			break
		}
		return t, false
	}
	// The document ends here: another top-level member could change its
	// layout.
	if !sawSystem || !d.byte('}') {
		return t, false
	}
	objects := 0
	for _, o := range rest {
		if _, isMap := o.v.(map[string]any); isMap && o.k != "#attributes" {
			objects++
		}
	}
	if objects > 1 {
		return t, false
	}
	for _, o := range rest {
		if o.k != "#attributes" {
			liftObject(o.v, f)
		}
	}
	return createdTime(f).UTC(), true
}

// byte consumes c after white space, if it is there.
func (d *jsonDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peek tells whether c comes next after white space.
func (d *jsonDecoder) peek(c byte) bool {
	d.space()
	return d.i < len(d.b) && d.b[d.i] == c
}

// key consumes the member name k and its colon.
func (d *jsonDecoder) key(k string) bool {
	if !d.peek('"') {
		return false
	}
	s, ok := d.str()
	return ok && s == k && d.byte(':')
}

// system reads the System object into f as eventXMLFields does.
func (d *jsonDecoder) system(f map[string]any) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	set := func(k string, v any) bool {
		if _, dup := f[k]; dup {
			return false
		}
		f[k] = v
		return true
	}
	var seenKeys [24]string
	seen := seenKeys[:0]
	for {
		if !d.peek('"') {
			return false
		}
		k, ok := d.name()
		if !ok || !d.byte(':') {
			return false
		}
		for _, s := range seen {
			if s == k {
				return false
			}
		}
		seen = append(seen, k)
		if d.peek('{') {
			d.i++
			var subKeys [8]string
			sub := subKeys[:0]
			if !d.byte('}') {
				for {
					if !d.peek('"') {
						return false
					}
					sk, ok := d.name()
					if !ok || !d.byte(':') || sk == "#text" || sk == "#attributes" {
						return false
					}
					for _, s := range sub {
						if s == sk {
							return false
						}
					}
					sub = append(sub, sk)
					v, ok := d.scalar(4)
					if !ok {
						return false
					}
					name := k
					if sk != "Value" {
						name = systemName(k, sk)
					}
					if !set(name, v) {
						return false
					}
					if d.byte(',') {
						continue
					}
					if d.byte('}') {
						break
					}
					return false
				}
			}
		} else {
			v, ok := d.scalar(3)
			if !ok || !set(k, v) {
				return false
			}
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}')
	}
}

// scalar reads a value as jsonScalar would convert it. Integers that fit
// are read without the json.Number string in between.
func (d *jsonDecoder) scalar(depth int) (any, bool) {
	d.space()
	if d.i < len(d.b) && (d.b[d.i] == '-' || d.b[d.i] >= '0' && d.b[d.i] <= '9') {
		start := d.i
		v, ok := d.number()
		if !ok {
			return nil, false
		}
		span := d.b[start:d.i]
		digits := span
		if digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) > 0 && len(digits) <= 18 {
			var n int64
			plain := true
			for _, c := range digits {
				if c < '0' || c > '9' {
					plain = false
					break
				}
				n = n*10 + int64(c-'0')
			}
			if plain {
				if span[0] == '-' {
					n = -n
				}
				return n, true
			}
		}
		return jsonScalar(v), true
	}
	v, ok := d.value(depth)
	if !ok {
		return nil, false
	}
	return jsonScalar(v), true
}

// name reads a member name, without allocating for the names of the
// System element.
func (d *jsonDecoder) name() (string, bool) {
	if j := bytes.IndexByte(d.b[d.i+1:], '"'); j >= 0 {
		if s := knownName(d.b[d.i+1 : d.i+1+j]); s != "" {
			d.i += j + 2
			return s, true
		}
	}
	return d.str()
}

// knownName returns the name spelled by b when it is one of System's,
// or "". Such a name has no escapes, so b is all of the JSON string.
func knownName(b []byte) string {
	switch string(b) {
	case "Provider":
		return "Provider"
	case "Name":
		return "Name"
	case "Guid":
		return "Guid"
	case "EventSourceName":
		return "EventSourceName"
	case "EventID":
		return "EventID"
	case "Value":
		return "Value"
	case "Qualifiers":
		return "Qualifiers"
	case "Version":
		return "Version"
	case "Level":
		return "Level"
	case "Task":
		return "Task"
	case "Opcode":
		return "Opcode"
	case "Keywords":
		return "Keywords"
	case "TimeCreated":
		return "TimeCreated"
	case "SystemTime":
		return "SystemTime"
	case "EventRecordID":
		return "EventRecordID"
	case "Correlation":
		return "Correlation"
	case "ActivityID":
		return "ActivityID"
	case "RelatedActivityID":
		return "RelatedActivityID"
	case "Execution":
		return "Execution"
	case "ProcessID":
		return "ProcessID"
	case "ThreadID":
		return "ThreadID"
	case "Channel":
		return "Channel"
	case "Computer":
		return "Computer"
	case "Security":
		return "Security"
	case "UserID":
		return "UserID"
	}
	return ""
}

// systemName is k + "_" + sk, without allocating for the usual ones.
func systemName(k, sk string) string {
	switch k + "_" + sk {
	case "Provider_Name":
		return "Provider_Name"
	case "Provider_Guid":
		return "Provider_Guid"
	case "Provider_EventSourceName":
		return "Provider_EventSourceName"
	case "EventID_Qualifiers":
		return "EventID_Qualifiers"
	case "TimeCreated_SystemTime":
		return "TimeCreated_SystemTime"
	case "Correlation_ActivityID":
		return "Correlation_ActivityID"
	case "Correlation_RelatedActivityID":
		return "Correlation_RelatedActivityID"
	case "Execution_ProcessID":
		return "Execution_ProcessID"
	case "Execution_ThreadID":
		return "Execution_ThreadID"
	case "Security_UserID":
		return "Security_UserID"
	}
	return k + "_" + sk
}
