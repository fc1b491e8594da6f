package sigma

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// valueKind is the YAML type of a rule value.
type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindBool
	kindNull
)

// rvalue is one value written in a rule.
type rvalue struct {
	kind  valueKind
	text  string // the value as written (numbers and bools as text)
	num   float64
	isInt bool
	b     bool
}

// stringOf renders an event value as text the way rules compare it.
func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", false
	default:
		return fmt.Sprint(x), true
	}
}

// numberOf reads an event value as a number.
func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
		if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
			if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
				return float64(n), true
			}
		}
	}
	return 0, false
}

// valueMatcher tests one event value (never a list) against one rule value.
type valueMatcher interface {
	matchValue(v any) bool
}

// strMatcher compares text; intVal lets integer patterns compare integer
// event values without formatting them, and hex keeps "0x…" patterns
// working on values the EVTX decoder delivered as integers.
type strMatcher struct {
	pat    strPat
	isInt  bool
	intVal int64
	hex    bool
	// numeric is false when the pattern holds a character that no decimal
	// rendering of an integer contains, so integer values cannot match.
	numeric bool
}

func newStrMatcher(s sstring, cased bool) *strMatcher {
	m := &strMatcher{pat: compileSString(s, cased), numeric: true}
	for _, p := range m.pat.glob {
		if strings.Trim(p.lit, "-0123456789") != "" {
			m.numeric = false
		}
	}
	if strings.Trim(m.pat.lit, "-0123456789") != "" {
		m.numeric = false
	}
	if m.pat.op == opEq {
		if n, err := strconv.ParseInt(m.pat.lit, 10, 64); err == nil {
			m.isInt, m.intVal = true, n
		} else if len(m.pat.lit) > 2 && strings.HasPrefix(strings.ToLower(m.pat.lit), "0x") {
			if n, err := strconv.ParseUint(m.pat.lit[2:], 16, 64); err == nil {
				m.hex, m.intVal = true, int64(n)
			}
		}
	}
	return m
}

func (m *strMatcher) matchValue(v any) bool {
	switch x := v.(type) {
	case string:
		return m.pat.match(x)
	case int64:
		if m.isInt || m.hex {
			return x == m.intVal
		}
		if m.pat.op == opAny {
			return true
		}
		if strings.HasPrefix(m.pat.lit, "0x") {
			return m.pat.match("0x" + strconv.FormatInt(x, 16))
		}
		if !m.numeric {
			return false
		}
		var buf [24]byte
		return m.pat.match(string(strconv.AppendInt(buf[:0], x, 10)))
	case nil:
		return false
	default:
		s, _ := stringOf(x)
		return m.pat.match(s)
	}
}

type regexMatcher struct {
	re  interface{ MatchString(string) bool }
	src string // the expression with its flags, for the prefilter
}

func (m *regexMatcher) matchValue(v any) bool {
	s, ok := stringOf(v)
	return ok && m.re.MatchString(s)
}

type cmpMatcher struct {
	op  string // lt lte gt gte eq
	num float64
}

func (m *cmpMatcher) matchValue(v any) bool {
	f, ok := numberOf(v)
	if !ok {
		return false
	}
	return compareNum(m.op, f, m.num)
}

func compareNum(op string, a, b float64) bool {
	switch op {
	case "lt":
		return a < b
	case "lte":
		return a <= b
	case "gt":
		return a > b
	case "gte":
		return a >= b
	default:
		return a == b
	}
}

type cidrMatcher struct{ prefix netip.Prefix }

func (m *cidrMatcher) matchValue(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	return m.prefix.Contains(a.Unmap())
}

type boolMatcher struct{ b bool }

func (m *boolMatcher) matchValue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x == m.b
	case string:
		return strings.EqualFold(x, strconv.FormatBool(m.b))
	}
	return false
}

// timeMatcher extracts a calendar part from a timestamp value and compares
// it numerically.
type timeMatcher struct {
	part string
	op   string
	num  float64
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02",
}

func parseTimeValue(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixTime(f), true
		}
	case int64:
		return time.Unix(x, 0).UTC(), true
	case float64:
		return unixTime(x), true
	}
	return time.Time{}, false
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func (m *timeMatcher) matchValue(v any) bool {
	t, ok := parseTimeValue(v)
	if !ok {
		return false
	}
	var n int
	switch m.part {
	case "minute":
		n = t.Minute()
	case "hour":
		n = t.Hour()
	case "day":
		n = t.Day()
	case "week":
		_, n = t.ISOWeek()
	case "month":
		n = int(t.Month())
	case "year":
		n = t.Year()
	}
	return compareNum(m.op, float64(n), m.num)
}
