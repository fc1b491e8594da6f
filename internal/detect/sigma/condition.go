package sigma

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// cond is a parsed condition expression.
type cond interface{ String() string }

type condIdent struct{ name string }
type condNot struct{ x cond }
type condAnd struct{ xs []cond }
type condOr struct{ xs []cond }

// condOf is "N of pattern", "all of pattern", "1 of them".
type condOf struct {
	all     bool
	n       int
	pattern string // "them" for all identifiers not starting with '_'
}

func (c condIdent) String() string { return c.name }
func (c condNot) String() string   { return "not " + c.x.String() }
func (c condAnd) String() string   { return joinConds(c.xs, " and ") }
func (c condOr) String() string    { return joinConds(c.xs, " or ") }
func (c condOf) String() string {
	if c.all {
		return "all of " + c.pattern
	}
	return strconv.Itoa(c.n) + " of " + c.pattern
}

func joinConds(xs []cond, sep string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return "(" + strings.Join(s, sep) + ")"
}

// tokenizeCondition splits a condition into words and parentheses.
func tokenizeCondition(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type condParser struct {
	toks []string
	pos  int
}

// parseCondition parses a Sigma condition: not binds tighter than and,
// which binds tighter than or.
func parseCondition(s string) (cond, error) {
	p := &condParser{toks: tokenizeCondition(s)}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at token %d", p.toks[p.pos], p.pos+1)
	}
	return c, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) or() (cond, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	xs := []cond{x}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return condOr{xs}, nil
}

func (p *condParser) and() (cond, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	xs := []cond{x}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return condAnd{xs}, nil
}

func (p *condParser) unary() (cond, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return condNot{x}, nil
	}
	return p.primary()
}

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of", "(", ")":
		return true
	}
	return false
}

func (p *condParser) primary() (cond, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends where an identifier was expected")
	case t == "(":
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing closing parenthesis")
		}
		p.pos++
		return x, nil
	case isKeyword(t):
		return nil, fmt.Errorf("unexpected %q at token %d", t, p.pos+1)
	}
	if p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1], "of") {
		q := strings.ToLower(t)
		c := condOf{}
		if q == "all" {
			c.all = true
		} else if q == "any" {
			c.n = 1
		} else {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad quantifier %q before of", t)
			}
			c.n = n
		}
		p.pos += 2
		target := p.peek()
		if target == "" || isKeyword(target) {
			return nil, fmt.Errorf("missing identifier pattern after of")
		}
		p.pos++
		c.pattern = target
		return c, nil
	}
	p.pos++
	return condIdent{t}, nil
}

// resolveOf lists the search identifiers that an "of" expression covers.
func resolveOf(pattern string, names []string) []string {
	var out []string
	for _, n := range names {
		if strings.EqualFold(pattern, "them") {
			if !strings.HasPrefix(n, "_") {
				out = append(out, n)
			}
			continue
		}
		if ok, _ := path.Match(escapeGlob(pattern), n); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// escapeGlob keeps only '*' special for path.Match, as the spec defines.
func escapeGlob(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(p)
}

// checkCondition verifies that every identifier a condition names exists.
func checkCondition(c cond, names map[string]bool, list []string) error {
	switch x := c.(type) {
	case condIdent:
		if !names[x.name] {
			return fmt.Errorf("condition names undefined search identifier %q", x.name)
		}
	case condNot:
		return checkCondition(x.x, names, list)
	case condAnd:
		for _, y := range x.xs {
			if err := checkCondition(y, names, list); err != nil {
				return err
			}
		}
	case condOr:
		for _, y := range x.xs {
			if err := checkCondition(y, names, list); err != nil {
				return err
			}
		}
	case condOf:
		if len(resolveOf(x.pattern, list)) == 0 {
			return fmt.Errorf("condition pattern %q matches no search identifier", x.pattern)
		}
	}
	return nil
}
