package stixpattern

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// Observed is one observation for Match: when it was seen and its fields,
// keyed by canonical object path (Path.String(), for example
// "file:hashes.'SHA-256'" or "network-traffic:dst_ref.value"). Values are
// string, int64, int, float64, bool, time.Time or []byte; a []any or
// []string value is a list and a comparison holds when it holds for any
// element, which is how paths with [*] are given.
type Observed struct {
	Time   time.Time
	Fields map[string]any
}

// maxMatches bounds the intermediate match sets of AND, FOLLOWEDBY and
// REPEATS so that evaluation stays linear-ish on hostile patterns.
const maxMatches = 4096

type binding struct {
	ids      []int
	min, max time.Time
}

// Match reports whether the observations satisfy the pattern under STIX
// semantics: each bracketed expression must hold for one observation; AND
// and OR combine observation expressions; FOLLOWEDBY requires the right side
// to be observed at or after the left; WITHIN bounds the time spanned by the
// observations that satisfy its operand; REPEATS n TIMES needs n distinct
// satisfying sets; START/STOP restricts them to [start, stop).
func (p *Pattern) Match(obs []Observed) bool {
	return len(evalExpr(p.Root, obs)) > 0
}

// MatchFields reports whether a single observation, given as a field map,
// satisfies the pattern. Patterns that need several observations
// (REPEATS, or FOLLOWEDBY between different objects) can still match when
// one observation satisfies every part.
func (p *Pattern) MatchFields(fields map[string]any) bool {
	return p.Match([]Observed{{Fields: fields}})
}

func evalExpr(e Expr, obs []Observed) []binding {
	switch e := e.(type) {
	case *Observation:
		var out []binding
		for i, o := range obs {
			if evalCmp(e.Cmp, o.Fields) {
				out = append(out, binding{ids: []int{i}, min: o.Time, max: o.Time})
				if len(out) >= maxMatches {
					break
				}
			}
		}
		return out
	case *ObsBinary:
		l := evalExpr(e.Left, obs)
		if e.Op == ObsOr {
			r := evalExpr(e.Right, obs)
			out := append(l, r...)
			if len(out) > maxMatches {
				out = out[:maxMatches]
			}
			return out
		}
		if len(l) == 0 {
			return nil
		}
		r := evalExpr(e.Right, obs)
		var out []binding
		for _, a := range l {
			for _, b := range r {
				if e.Op == ObsFollowedBy && b.min.Before(a.max) {
					continue
				}
				out = append(out, join(a, b))
				if len(out) >= maxMatches {
					return out
				}
			}
		}
		return out
	case *Qualified:
		in := evalExpr(e.Expr, obs)
		var out []binding
		switch e.Q.Kind {
		case "WITHIN":
			limit := time.Duration(e.Q.Seconds * float64(time.Second))
			for _, b := range in {
				if b.max.Sub(b.min) <= limit {
					out = append(out, b)
				}
			}
		case "START":
			for _, b := range in {
				if !b.min.Before(e.Q.Start) && b.max.Before(e.Q.Stop) {
					out = append(out, b)
				}
			}
		case "REPEATS":
			// Sliding windows of n consecutive satisfying sets (by time)
			// give the tightest spans, which is what an enclosing WITHIN
			// needs; distinctness is by observation set.
			sort.SliceStable(in, func(i, j int) bool { return in[i].min.Before(in[j].min) })
			in = distinct(in)
			for i := 0; i+e.Q.Times <= len(in); i++ {
				b := in[i]
				for _, c := range in[i+1 : i+e.Q.Times] {
					b = join(b, c)
				}
				out = append(out, b)
			}
		}
		return out
	}
	return nil
}

func distinct(in []binding) []binding {
	var out []binding
	seen := map[string]bool{}
	for _, b := range in {
		k := fmt.Sprint(b.ids)
		if !seen[k] {
			seen[k] = true
			out = append(out, b)
		}
	}
	return out
}

func join(a, b binding) binding {
	ids := append(slices.Clone(a.ids), b.ids...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := binding{ids: ids, min: a.min, max: a.max}
	if b.min.Before(out.min) {
		out.min = b.min
	}
	if b.max.After(out.max) {
		out.max = b.max
	}
	return out
}

func evalCmp(c Cmp, f map[string]any) bool {
	switch c := c.(type) {
	case *CmpBinary:
		if c.Op == "AND" {
			return evalCmp(c.Left, f) && evalCmp(c.Right, f)
		}
		return evalCmp(c.Left, f) || evalCmp(c.Right, f)
	case *Exists:
		_, ok := f[c.Path.String()]
		return ok
	case *Test:
		v, ok := f[c.Path.String()]
		if !ok {
			// A missing property makes the comparison false, negated or not.
			return false
		}
		switch vs := v.(type) {
		case []any:
			for _, e := range vs {
				if c.holds(e) {
					return true
				}
			}
			return false
		case []string:
			for _, e := range vs {
				if c.holds(e) {
					return true
				}
			}
			return false
		}
		return c.holds(v)
	}
	return false
}

// holds applies the test to one value, including NOT.
func (t *Test) holds(v any) bool {
	r, comparable := t.compare(v)
	if !comparable {
		return false
	}
	return r != t.Negated
}

func (t *Test) compare(v any) (bool, bool) {
	switch t.Op {
	case "IN":
		for _, l := range t.Set {
			if c, ok := order(v, l); ok && c == 0 {
				return true, true
			}
		}
		return false, true
	case "LIKE", "MATCHES":
		s, ok := v.(string)
		if !ok || t.re == nil {
			return false, ok && t.re != nil
		}
		return t.re.MatchString(s), true
	case "ISSUBSET", "ISSUPERSET":
		s, ok := v.(string)
		if !ok {
			return false, false
		}
		a, err1 := toPrefix(s)
		b, err2 := toPrefix(t.Value.Str)
		if err1 != nil || err2 != nil || a.Addr().Is4() != b.Addr().Is4() {
			return false, false
		}
		if t.Op == "ISSUBSET" {
			return b.Bits() <= a.Bits() && b.Contains(a.Addr()), true
		}
		return a.Bits() <= b.Bits() && a.Contains(b.Addr()), true
	}
	c, ok := order(v, t.Value)
	if !ok {
		return false, false
	}
	switch t.Op {
	case "=":
		return c == 0, true
	case "!=":
		return c != 0, true
	case "<":
		return c < 0, true
	case ">":
		return c > 0, true
	case "<=":
		return c <= 0, true
	case ">=":
		return c >= 0, true
	}
	return false, false
}

func toPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// order compares a field value with a literal; ok is false when the types
// cannot be compared.
func order(v any, l Literal) (int, bool) {
	num := func(x float64) (int, bool) {
		switch l.Kind {
		case LitInt:
			return cmp3(x, float64(l.Int)), true
		case LitFloat:
			return cmp3(x, l.Float), true
		}
		return 0, false
	}
	switch x := v.(type) {
	case string:
		switch l.Kind {
		case LitString:
			return strings.Compare(x, l.Str), true
		case LitTime:
			tm, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return 0, false
			}
			return tm.Compare(l.Time), true
		case LitHex, LitBinary:
			return bytes.Compare([]byte(x), l.Bytes), true
		}
	case int:
		return num(float64(x))
	case int64:
		return num(float64(x))
	case float64:
		return num(x)
	case bool:
		if l.Kind == LitBool {
			if x == l.Bool {
				return 0, true
			}
			return 1, true
		}
	case time.Time:
		if l.Kind == LitTime {
			return x.Compare(l.Time), true
		}
	case []byte:
		if l.Kind == LitHex || l.Kind == LitBinary {
			return bytes.Compare(x, l.Bytes), true
		}
	}
	return 0, false
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
