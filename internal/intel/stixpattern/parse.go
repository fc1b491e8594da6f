package stixpattern

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxLength bounds the pattern text Parse accepts, and maxDepth the nesting
// of parentheses and brackets, so that hostile input cannot exhaust the
// stack or memory.
const (
	MaxLength = 1 << 20
	maxDepth  = 200
)

// Parse parses a STIX 2.1 pattern. On failure it returns a *SyntaxError
// whose Column points at the offending token.
func Parse(src string) (*Pattern, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{MaxLength + 1, fmt.Sprintf("pattern longer than %d bytes", MaxLength)}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, &SyntaxError{1, "empty pattern"}
	}
	e, err := p.observations()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s after a complete pattern", t.describe())
	}
	return &Pattern{Root: e}, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{t.pos + 1, fmt.Sprintf(format, args...)}
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == word
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(t, "nesting deeper than %d levels", maxDepth)
	}
	return nil
}

// observations := orExpr (FOLLOWEDBY orExpr)*
func (p *parser) observations() (Expr, error) {
	return p.obsChain(ObsFollowedBy, p.obsOr)
}

func (p *parser) obsOr() (Expr, error)  { return p.obsChain(ObsOr, p.obsAnd) }
func (p *parser) obsAnd() (Expr, error) { return p.obsChain(ObsAnd, p.obsQualified) }

func (p *parser) obsChain(op ObsOp, sub func() (Expr, error)) (Expr, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(string(op)) {
		p.next()
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &ObsBinary{Op: op, Left: left, Right: right}
	}
	return left, nil
}

// obsQualified := obsPrimary qualifier*
func (p *parser) obsQualified() (Expr, error) {
	e, err := p.obsPrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tIdent {
			return e, nil
		}
		switch t.text {
		case "WITHIN":
			p.next()
			n := p.next()
			if n.kind != tInt && n.kind != tFloat {
				return nil, p.errAt(n, "WITHIN needs a positive number of seconds, found %s", n.describe())
			}
			f, err := strconv.ParseFloat(n.text, 64)
			if err != nil || f <= 0 || math.IsInf(f, 0) {
				return nil, p.errAt(n, "WITHIN needs a positive number of seconds, found %s", n.text)
			}
			if s := p.next(); s.kind != tIdent || s.text != "SECONDS" {
				return nil, p.errAt(s, "expected SECONDS after WITHIN %s, found %s", n.text, s.describe())
			}
			e = &Qualified{Expr: e, Q: Qualifier{Kind: "WITHIN", Seconds: f}}
		case "REPEATS":
			p.next()
			n := p.next()
			v, err := strconv.Atoi(n.text)
			if n.kind != tInt || err != nil || v <= 0 || strings.HasPrefix(n.text, "+") {
				return nil, p.errAt(n, "REPEATS needs a positive integer, found %s", n.describe())
			}
			if s := p.next(); s.kind != tIdent || s.text != "TIMES" {
				return nil, p.errAt(s, "expected TIMES after REPEATS %d, found %s", v, s.describe())
			}
			e = &Qualified{Expr: e, Q: Qualifier{Kind: "REPEATS", Times: v}}
		case "START":
			p.next()
			st := p.next()
			if st.kind != tTime {
				return nil, p.errAt(st, "START needs a timestamp literal t'…', found %s", st.describe())
			}
			start, err := parseTime(st)
			if err != nil {
				return nil, err
			}
			if s := p.next(); s.kind != tIdent || s.text != "STOP" {
				return nil, p.errAt(s, "expected STOP after START, found %s", s.describe())
			}
			sp := p.next()
			if sp.kind != tTime {
				return nil, p.errAt(sp, "STOP needs a timestamp literal t'…', found %s", sp.describe())
			}
			stop, err := parseTime(sp)
			if err != nil {
				return nil, err
			}
			if !stop.After(start) {
				return nil, p.errAt(sp, "STOP time must be after START time")
			}
			e = &Qualified{Expr: e, Q: Qualifier{Kind: "START", Start: start, Stop: stop}}
		default:
			return e, nil
		}
	}
}

// obsPrimary := '[' cmpOr ']' | '(' observations ')'
func (p *parser) obsPrimary() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tLBrack:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tRBrack {
			return nil, p.errAt(r, "expected ']' or AND/OR, found %s", r.describe())
		}
		p.depth--
		return &Observation{Cmp: c}, nil
	case tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		e, err := p.observations()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tRParen {
			return nil, p.errAt(r, "expected ')' or an observation operator, found %s", r.describe())
		}
		p.depth--
		return e, nil
	}
	return nil, p.errAt(t, "expected '[' or '(' to start an observation expression, found %s", t.describe())
}

func (p *parser) cmpOr() (Cmp, error) {
	left, err := p.cmpAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		right, err := p.cmpAnd()
		if err != nil {
			return nil, err
		}
		left = &CmpBinary{Op: "OR", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) cmpAnd() (Cmp, error) {
	left, err := p.propTest()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		right, err := p.propTest()
		if err != nil {
			return nil, err
		}
		left = &CmpBinary{Op: "AND", Left: left, Right: right}
	}
	return left, nil
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUBSET": true, "ISSUPERSET": true, "IN": true, "EXISTS": true, "WITHIN": true,
	"SECONDS": true, "REPEATS": true, "TIMES": true, "START": true, "STOP": true,
}

// propTest := '(' cmpOr ')' | EXISTS path | path NOT? op literal
func (p *parser) propTest() (Cmp, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		c, err := p.cmpOr()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tRParen {
			return nil, p.errAt(r, "expected ')' or AND/OR, found %s", r.describe())
		}
		p.depth--
		return c, nil
	}
	if p.isKeyword("EXISTS") {
		p.next()
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return &Exists{Path: path}, nil
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	test := &Test{Path: path}
	if p.isKeyword("NOT") {
		p.next()
		test.Negated = true
	}
	op := p.next()
	switch {
	case op.kind == tOp:
		test.Op = op.text
		switch op.text {
		case "==":
			test.Op = "="
		case "<>":
			test.Op = "!="
		}
	case op.kind == tIdent && (op.text == "IN" || op.text == "LIKE" || op.text == "MATCHES" || op.text == "ISSUBSET" || op.text == "ISSUPERSET"):
		test.Op = op.text
	default:
		return nil, p.errAt(op, "expected a comparison operator after %s, found %s", path.String(), op.describe())
	}
	if test.Op == "IN" {
		set, err := p.set()
		if err != nil {
			return nil, err
		}
		test.Set = set
		return test, nil
	}
	lt := p.peek()
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	test.Value = lit
	switch test.Op {
	case "<", ">", "<=", ">=":
		if lit.Kind == LitBool {
			return nil, p.errAt(lt, "operator %s needs an orderable literal, not a boolean", test.Op)
		}
	case "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
		if lit.Kind != LitString {
			return nil, p.errAt(lt, "operator %s needs a string literal, found %s", test.Op, lt.describe())
		}
	}
	switch test.Op {
	case "MATCHES":
		// STIX uses PCRE; RE2 covers nearly all real patterns. The few it
		// cannot compile stay valid patterns that never match here.
		test.re, test.reErr = regexp.Compile(lit.Str)
	case "LIKE":
		test.re, test.reErr = regexp.Compile(likeToRegexp(lit.Str))
	}
	return test, nil
}

func likeToRegexp(s string) string {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range s {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// path := objectType ':' first (('.' key) | ('[' (int|'*') ']'))*
func (p *parser) path() (Path, error) {
	t := p.next()
	if t.kind != tIdent || keywords[t.text] {
		return Path{}, p.errAt(t, "expected an object type such as file or ipv4-addr, found %s", t.describe())
	}
	if strings.HasSuffix(t.text, "-") || strings.Contains(t.text, "--") {
		return Path{}, p.errAt(t, "invalid object type %q", t.text)
	}
	path := Path{ObjectType: t.text}
	if c := p.next(); c.kind != tColon {
		return Path{}, p.errAt(c, "expected ':' after object type %s, found %s", t.text, c.describe())
	}
	key, err := p.pathKey()
	if err != nil {
		return Path{}, err
	}
	path.Steps = append(path.Steps, Step{Key: key})
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			key, err := p.pathKey()
			if err != nil {
				return Path{}, err
			}
			path.Steps = append(path.Steps, Step{Key: key})
		case tLBrack:
			p.next()
			n := p.next()
			switch n.kind {
			case tStar:
				path.Steps = append(path.Steps, Step{Any: true})
			case tInt:
				v, err := strconv.Atoi(n.text)
				if err != nil || v < 0 || strings.HasPrefix(n.text, "+") {
					return Path{}, p.errAt(n, "list index must be a non-negative integer, found %s", n.text)
				}
				path.Steps = append(path.Steps, Step{Index: v, IsIdx: true})
			default:
				return Path{}, p.errAt(n, "expected a list index or '*', found %s", n.describe())
			}
			if r := p.next(); r.kind != tRBrack {
				return Path{}, p.errAt(r, "expected ']' after list index, found %s", r.describe())
			}
		default:
			return path, nil
		}
	}
}

func (p *parser) pathKey() (string, error) {
	t := p.next()
	switch t.kind {
	case tString:
		if t.text == "" {
			return "", p.errAt(t, "empty property name")
		}
		return t.text, nil
	case tIdent:
		if strings.Contains(t.text, "-") {
			return "", p.errAt(t, "property name %q contains '-': quote it as '%s'", t.text, t.text)
		}
		return t.text, nil
	}
	return "", p.errAt(t, "expected a property name, found %s", t.describe())
}

func (p *parser) set() ([]Literal, error) {
	t := p.next()
	if t.kind != tLParen {
		return nil, p.errAt(t, "IN needs a parenthesised set of literals, found %s", t.describe())
	}
	var out []Literal
	if p.peek().kind == tRParen {
		p.next()
		return out, nil
	}
	for {
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		switch n := p.next(); n.kind {
		case tComma:
		case tRParen:
			return out, nil
		default:
			return nil, p.errAt(n, "expected ',' or ')' in set, found %s", n.describe())
		}
	}
}

func (p *parser) literal() (Literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return Literal{Kind: LitString, Str: t.text}, nil
	case tInt:
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return Literal{}, p.errAt(t, "integer %s out of range", t.text)
		}
		return Literal{Kind: LitInt, Int: v}, nil
	case tFloat:
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return Literal{}, p.errAt(t, "float %s out of range", t.text)
		}
		return Literal{Kind: LitFloat, Float: v}, nil
	case tHex:
		b, err := hex.DecodeString(t.text)
		if err != nil {
			return Literal{}, p.errAt(t, "hex literal h'%s' needs an even number of hex digits", t.text)
		}
		return Literal{Kind: LitHex, Bytes: b}, nil
	case tBinary:
		b, err := base64.StdEncoding.DecodeString(t.text)
		if err != nil {
			return Literal{}, p.errAt(t, "binary literal b'%s' is not base64", t.text)
		}
		return Literal{Kind: LitBinary, Bytes: b}, nil
	case tTime:
		tm, err := parseTime(t)
		if err != nil {
			return Literal{}, err
		}
		return Literal{Kind: LitTime, Time: tm}, nil
	case tIdent:
		switch t.text {
		case "true":
			return Literal{Kind: LitBool, Bool: true}, nil
		case "false":
			return Literal{Kind: LitBool, Bool: false}, nil
		}
	}
	return Literal{}, p.errAt(t, "expected a literal (string, number, boolean, t'…', h'…' or b'…'), found %s", t.describe())
}

// parseTime accepts the RFC 3339 UTC form the grammar requires:
// YYYY-MM-DDTHH:MM:SS[.fraction]Z.
func parseTime(t token) (time.Time, error) {
	if !strings.HasSuffix(t.text, "Z") {
		return time.Time{}, &SyntaxError{t.pos + 1, fmt.Sprintf("timestamp t'%s' must be in UTC and end in Z", t.text)}
	}
	tm, err := time.Parse(time.RFC3339Nano, t.text)
	if err != nil || len(t.text) < 20 || t.text[10] != 'T' {
		return time.Time{}, &SyntaxError{t.pos + 1, fmt.Sprintf("timestamp t'%s' is not of the form YYYY-MM-DDTHH:MM:SSZ", t.text)}
	}
	return tm, nil
}
