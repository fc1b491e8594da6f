// Package stixpattern parses, prints and evaluates the STIX 2.1 patterning
// language: comparison expressions inside square brackets joined by AND and
// OR, observation expressions joined by AND, OR and FOLLOWEDBY, the WITHIN,
// REPEATS and START/STOP qualifiers, the operators =, !=, <, >, <=, >=, IN,
// LIKE, MATCHES, ISSUBSET, ISSUPERSET and EXISTS, each optionally negated
// with NOT, and object paths with quoted keys, list indexes and [*].
//
// Text enters through Parse, which returns a *Pattern or a *SyntaxError that
// names the column. A Pattern leaves as canonical text (String), as atomic
// values when it is a plain OR of equality tests (Atoms), or as a verdict
// over observations (Match). A Pattern is immutable and safe for concurrent
// use.
package stixpattern

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ObsOp joins observation expressions.
type ObsOp string

// The observation operators, from tightest to loosest binding.
const (
	ObsAnd        ObsOp = "AND"
	ObsOr         ObsOp = "OR"
	ObsFollowedBy ObsOp = "FOLLOWEDBY"
)

// Expr is an observation expression: *Observation, *ObsBinary or *Qualified.
type Expr interface{ isExpr() }

// Observation is one bracketed comparison expression, matched against a
// single observed object set.
type Observation struct{ Cmp Cmp }

// ObsBinary joins two observation expressions.
type ObsBinary struct {
	Op          ObsOp
	Left, Right Expr
}

// Qualified applies one qualifier to an observation expression.
type Qualified struct {
	Expr Expr
	Q    Qualifier
}

// Qualifier is a WITHIN, REPEATS or START/STOP qualifier. Exactly one of its
// shapes is set, as told by Kind.
type Qualifier struct {
	Kind        string // "WITHIN", "REPEATS" or "START"
	Seconds     float64
	Times       int
	Start, Stop time.Time
}

// Cmp is a comparison expression: *CmpBinary, *Test or *Exists.
type Cmp interface{ isCmp() }

// CmpBinary joins two comparison expressions with "AND" or "OR".
type CmpBinary struct {
	Op          string
	Left, Right Cmp
}

// Test compares the value at Path with a literal (or, for IN, a set).
type Test struct {
	Path    Path
	Negated bool
	Op      string // "=", "!=", "<", ">", "<=", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"
	Value   Literal
	Set     []Literal      // for IN
	re      *regexp.Regexp // compiled MATCHES or LIKE, nil when RE2 cannot express it
	reErr   error
}

// Exists tests that the value at Path is present.
type Exists struct{ Path Path }

func (*Observation) isExpr() {}
func (*ObsBinary) isExpr()   {}
func (*Qualified) isExpr()   {}
func (*CmpBinary) isCmp()    {}
func (*Test) isCmp()         {}
func (*Exists) isCmp()       {}

// Step is one component of an object path after the object type: a
// property name, a list index, or any list element ([*]).
type Step struct {
	Key   string
	Index int
	IsIdx bool
	Any   bool
}

// Path is an object path such as file:hashes.'SHA-256' or
// email-message:body_multipart[*].body_raw_ref.name.
type Path struct {
	ObjectType string
	Steps      []Step
}

// String returns the path in canonical form: keys that are not plain
// identifiers are single-quoted, indexes in brackets. Field maps given to
// Match use these strings as keys.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.Any:
			b.WriteString("[*]")
		case s.IsIdx:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isPlainIdent(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(quote(s.Key))
			}
		}
	}
	return b.String()
}

// Property returns the path after the object type without quotes, for
// example "hashes.SHA-256" for file:hashes.'SHA-256'.
func (p Path) Property() string {
	var b strings.Builder
	for i, s := range p.Steps {
		switch {
		case s.Any:
			b.WriteString("[*]")
		case s.IsIdx:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		}
	}
	return b.String()
}

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) || s[i] == '-' {
			return false
		}
	}
	return true
}

// LitKind is the type of a literal.
type LitKind int

// The literal kinds.
const (
	LitString LitKind = iota
	LitInt
	LitFloat
	LitBool
	LitHex
	LitBinary
	LitTime
)

// Literal is a constant in a comparison. Str holds the text of string
// literals; Bytes the decoded value of hex and binary ones.
type Literal struct {
	Kind  LitKind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Bytes []byte
	Time  time.Time
}

// String prints the literal in pattern syntax.
func (l Literal) String() string {
	switch l.Kind {
	case LitInt:
		return strconv.FormatInt(l.Int, 10)
	case LitFloat:
		s := strconv.FormatFloat(l.Float, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case LitBool:
		return strconv.FormatBool(l.Bool)
	case LitHex:
		return "h'" + hex.EncodeToString(l.Bytes) + "'"
	case LitBinary:
		return "b'" + base64.StdEncoding.EncodeToString(l.Bytes) + "'"
	case LitTime:
		return "t'" + l.Time.UTC().Format(time.RFC3339Nano) + "'"
	}
	return quote(l.Str)
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Pattern is a parsed STIX 2.1 pattern.
type Pattern struct {
	Root Expr
}

// String returns the canonical text of the pattern: single spaces, upper-case
// keywords and parentheses only where precedence needs them. Parsing the
// result yields an equal pattern.
func (p *Pattern) String() string {
	var b strings.Builder
	writeExpr(&b, p.Root, 0)
	return b.String()
}

func obsPrec(op ObsOp) int {
	switch op {
	case ObsAnd:
		return 3
	case ObsOr:
		return 2
	}
	return 1
}

// writeExpr prints e; outer is the binding strength of the enclosing
// operator, so that looser sub-expressions get parentheses.
func writeExpr(b *strings.Builder, e Expr, outer int) {
	switch e := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeCmp(b, e.Cmp, 0)
		b.WriteByte(']')
	case *ObsBinary:
		p := obsPrec(e.Op)
		if p < outer {
			b.WriteByte('(')
		}
		writeExpr(b, e.Left, p)
		b.WriteString(" " + string(e.Op) + " ")
		writeExpr(b, e.Right, p+1)
		if p < outer {
			b.WriteByte(')')
		}
	case *Qualified:
		// Qualifiers bind tightest, so a binary operand needs parentheses.
		writeExpr(b, e.Expr, 4)
		switch e.Q.Kind {
		case "WITHIN":
			b.WriteString(" WITHIN " + formatSeconds(e.Q.Seconds) + " SECONDS")
		case "REPEATS":
			b.WriteString(" REPEATS " + strconv.Itoa(e.Q.Times) + " TIMES")
		case "START":
			b.WriteString(" START t'" + e.Q.Start.UTC().Format(time.RFC3339Nano) + "' STOP t'" + e.Q.Stop.UTC().Format(time.RFC3339Nano) + "'")
		}
	}
}

func formatSeconds(s float64) string {
	if s == float64(int64(s)) {
		return strconv.FormatInt(int64(s), 10)
	}
	return strconv.FormatFloat(s, 'f', -1, 64)
}

func writeCmp(b *strings.Builder, c Cmp, outer int) {
	switch c := c.(type) {
	case *CmpBinary:
		p := 1
		if c.Op == "AND" {
			p = 2
		}
		if p < outer {
			b.WriteByte('(')
		}
		writeCmp(b, c.Left, p)
		b.WriteString(" " + c.Op + " ")
		writeCmp(b, c.Right, p+1)
		if p < outer {
			b.WriteByte(')')
		}
	case *Exists:
		b.WriteString("EXISTS " + c.Path.String())
	case *Test:
		b.WriteString(c.Path.String())
		if c.Negated {
			b.WriteString(" NOT")
		}
		b.WriteString(" " + c.Op + " ")
		if c.Op == "IN" {
			b.WriteByte('(')
			for i, l := range c.Set {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(l.String())
			}
			b.WriteByte(')')
		} else {
			b.WriteString(c.Value.String())
		}
	}
}
