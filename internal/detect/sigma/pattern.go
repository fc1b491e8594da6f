package sigma

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// part is one piece of a Sigma string: literal text or a wildcard.
type part struct {
	lit  string
	wild byte // 0 for literal, '*' or '?'
}

// sstring is a Sigma string value after escape processing.
type sstring []part

// parseSString applies the spec's escape rules: a backslash escapes a
// following '*', '?' or '\'; any other backslash is literal.
func parseSString(s string) sstring {
	var out sstring
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, part{lit: b.String()})
			b.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte(c)
		case '*', '?':
			flush()
			out = append(out, part{wild: c})
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return out
}

func literal(s string) sstring {
	if s == "" {
		return nil
	}
	return sstring{{lit: s}}
}

func (s sstring) hasWildcards() bool {
	for _, p := range s {
		if p.wild != 0 {
			return true
		}
	}
	return false
}

// plain returns the text with wildcards rendered as their characters.
func (s sstring) plain() string {
	var b strings.Builder
	for _, p := range s {
		if p.wild != 0 {
			b.WriteByte(p.wild)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

func (s sstring) wrap(pre, post bool) sstring {
	out := make(sstring, 0, len(s)+2)
	if pre && (len(s) == 0 || s[0].wild != '*') {
		out = append(out, part{wild: '*'})
	}
	out = append(out, s...)
	if post && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, part{wild: '*'})
	}
	return out
}

type strOp uint8

const (
	opEq strOp = iota
	opPrefix
	opSuffix
	opContains
	opAny
	opGlob
)

// strPat is a compiled string pattern. Unless cased, lit and glob hold the
// lowercased text and matching folds case without allocating for ASCII.
type strPat struct {
	op    strOp
	lit   string
	cased bool
	ascii bool
	glob  sstring
}

func compileSString(s sstring, cased bool) strPat {
	low := func(x string) string {
		if cased {
			return x
		}
		if byteFoldable(x) {
			// Keeps bytes that are not valid UTF-8 (utf16 encodings) as
			// they are; strings.ToLower would replace them.
			return lowerASCII(x)
		}
		return strings.ToLower(x)
	}
	p := strPat{cased: cased}
	n := len(s)
	switch {
	case n == 0:
		p.op = opEq
	case n == 1 && s[0].wild == '*':
		p.op = opAny
	case n == 1 && s[0].wild == 0:
		p.op, p.lit = opEq, low(s[0].lit)
	case n == 2 && s[0].wild == 0 && s[1].wild == '*':
		p.op, p.lit = opPrefix, low(s[0].lit)
	case n == 2 && s[0].wild == '*' && s[1].wild == 0:
		p.op, p.lit = opSuffix, low(s[1].lit)
	case n == 3 && s[0].wild == '*' && s[1].wild == 0 && s[2].wild == '*':
		p.op, p.lit = opContains, low(s[1].lit)
	default:
		p.op = opGlob
		g := make(sstring, 0, len(s))
		for _, x := range s {
			if x.wild == 0 {
				x.lit = low(x.lit)
			}
			// Collapse runs of '*'.
			if x.wild == '*' && len(g) > 0 && g[len(g)-1].wild == '*' {
				continue
			}
			g = append(g, x)
		}
		p.glob = g
	}
	p.ascii = byteFoldable(p.lit)
	for _, x := range p.glob {
		if !byteFoldable(x.lit) {
			p.ascii = false
		}
	}
	return p
}

func (p *strPat) match(v string) bool {
	if p.cased {
		switch p.op {
		case opEq:
			return v == p.lit
		case opPrefix:
			return strings.HasPrefix(v, p.lit)
		case opSuffix:
			return strings.HasSuffix(v, p.lit)
		case opContains:
			return strings.Contains(v, p.lit)
		case opAny:
			return true
		default:
			return globMatch(p.glob, v)
		}
	}
	if !p.ascii && p.op != opAny {
		v = strings.ToLower(v)
		switch p.op {
		case opEq:
			return v == p.lit
		case opPrefix:
			return strings.HasPrefix(v, p.lit)
		case opSuffix:
			return strings.HasSuffix(v, p.lit)
		case opContains:
			return strings.Contains(v, p.lit)
		default:
			return globMatch(p.glob, v)
		}
	}
	switch p.op {
	case opEq:
		return equalFold(v, p.lit)
	case opPrefix:
		return len(v) >= len(p.lit) && equalFold(v[:len(p.lit)], p.lit)
	case opSuffix:
		return len(v) >= len(p.lit) && equalFold(v[len(v)-len(p.lit):], p.lit)
	case opContains:
		return containsFold(v, p.lit)
	case opAny:
		return true
	default:
		return globMatchFold(p.glob, v)
	}
}

// byteFoldable reports whether folding ASCII letters byte by byte compares
// s correctly: true when every non-ASCII rune of s has no case (the dashes
// windash adds, for instance), so it can only match itself.
func byteFoldable(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && (unicode.ToLower(r) != r || unicode.ToUpper(r) != r) {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold compares a with the lowercase ASCII text low, folding a.
func equalFold(a, low string) bool {
	if len(a) != len(low) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != low[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether low (lowercase, byte-foldable) occurs in s,
// ignoring the case of s. Candidate positions come from strings.IndexByte
// (vectorised) for the first byte in both cases; each cursor is only
// advanced when consumed, so long values are scanned once.
func containsFold(s, low string) bool {
	n := len(low)
	if n == 0 {
		return true
	}
	if n > len(s) {
		return false
	}
	c0 := low[0]
	c1 := c0
	if 'a' <= c0 && c0 <= 'z' {
		c1 = c0 - ('a' - 'A')
	}
	rest := low[1:]
	last := len(s) - n // last possible start
	nextA, nextB := -2, -2
	if c0 == c1 {
		nextB = -1
	}
	pos := 0
	for pos <= last {
		if nextA != -1 && nextA < pos {
			nextA = indexFrom(s, c0, pos)
		}
		if nextB != -1 && nextB < pos {
			nextB = indexFrom(s, c1, pos)
		}
		i := nextA
		if i < 0 || (nextB >= 0 && nextB < i) {
			i = nextB
		}
		if i < 0 || i > last {
			return false
		}
		if equalFold(s[i+1:i+n], rest) {
			return true
		}
		pos = i + 1
	}
	return false
}

func indexFrom(s string, c byte, from int) int {
	j := strings.IndexByte(s[from:], c)
	if j < 0 {
		return -1
	}
	return from + j
}

// globMatch matches v against g literally (g already folded when needed).
func globMatch(g sstring, v string) bool { return globRun(g, v, false) }

// globMatchFold matches ASCII v against lowercase g, folding v.
func globMatchFold(g sstring, v string) bool { return globRun(g, v, true) }

func globRun(g sstring, v string, fold bool) bool {
	// Iterative matcher with backtracking to the last '*'.
	pi, vi := 0, 0
	starPi, starVi := -1, 0
	hasPrefix := func(s, lit string) bool {
		if len(s) < len(lit) {
			return false
		}
		if fold {
			return equalFold(s[:len(lit)], lit)
		}
		return s[:len(lit)] == lit
	}
	for {
		if pi < len(g) {
			p := g[pi]
			switch p.wild {
			case '*':
				starPi, starVi = pi, vi
				pi++
				continue
			case '?':
				if vi < len(v) {
					_, sz := utf8.DecodeRuneInString(v[vi:])
					vi += sz
					pi++
					continue
				}
			default:
				if hasPrefix(v[vi:], p.lit) {
					vi += len(p.lit)
					pi++
					continue
				}
			}
		} else if vi == len(v) {
			return true
		}
		if starPi < 0 || starVi >= len(v) {
			return false
		}
		_, sz := utf8.DecodeRuneInString(v[starVi:])
		starVi += sz
		pi, vi = starPi+1, starVi
	}
}
