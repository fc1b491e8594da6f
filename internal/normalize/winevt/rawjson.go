package winevt

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// appendJSON appends v, a record as the EVTX library decodes it, as JSON.
// It writes the tree in one pass: the dictionary's own MarshalJSON calls
// encoding/json for every value, which validates and compacts each nested
// dictionary's output again, and that was a third of an import's CPU.
// Types the library does not produce go through encoding/json.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case *ordereddict.Dict:
		b = append(b, '{')
		first := true
		for _, it := range x.Items() {
			if d, ok := it.Value.(*ordereddict.Dict); ok && d == x {
				continue // a back reference, as ordereddict skips it
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, it.Key)
			b = append(b, ':')
			b = appendJSON(b, it.Value)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendJSONString(b, x)
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			j, _ := json.Marshal(x)
			return append(b, j...)
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does (control characters, quotes, backslashes, <, >, &, U+2028/9 and
// invalid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
