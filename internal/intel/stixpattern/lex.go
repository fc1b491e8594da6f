package stixpattern

import (
	"fmt"
	"strings"
)

// SyntaxError reports a malformed pattern. Column is the 1-based byte
// offset in the pattern text where the problem was found.
type SyntaxError struct {
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Column, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tOp      // = == != <> < > <= >=
	tIdent   // identifiers and keywords
	tString  // '…' (value unescaped)
	tInt     // integer
	tFloat   // float
	tHex     // h'…'
	tBinary  // b'…'
	tTime    // t'…'
	tBadChar // never produced: errors are returned directly
)

type token struct {
	kind tokKind
	text string // raw text for idents, ops and numbers; unescaped text for strings
	pos  int    // 0-based byte offset
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return fmt.Sprintf("string '%s'", t.text)
	case tHex, tBinary, tTime:
		return fmt.Sprintf("literal %s", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || '0' <= c && c <= '9' || c == '-' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }

// lex splits src into tokens. It fails on the first character that cannot
// start a token and on unterminated or badly escaped strings.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '[':
			toks = append(toks, token{tLBrack, "[", i})
		case c == ']':
			toks = append(toks, token{tRBrack, "]", i})
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
		case c == ':':
			toks = append(toks, token{tColon, ":", i})
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
		case c == '*':
			toks = append(toks, token{tStar, "*", i})
		case c == '.' && !(i+1 < len(src) && isDigit(src[i+1]) && prevIsValueStart(toks)):
			toks = append(toks, token{tDot, ".", i})
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(src) {
				two := src[i : i+2]
				if two == "==" || two == "!=" || two == "<>" || two == "<=" || two == ">=" {
					op = two
				}
			}
			if op == "!" {
				return nil, &SyntaxError{i + 1, "'!' must be followed by '='"}
			}
			toks = append(toks, token{tOp, op, i})
			i += len(op)
			continue
		case c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, s, i})
			i += n
			continue
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(src) && src[i+1] == '\'':
			s, n, err := lexString(src, i+1)
			if err != nil {
				return nil, err
			}
			k := map[byte]tokKind{'t': tTime, 'h': tHex, 'b': tBinary}[c]
			toks = append(toks, token{k, s, i})
			i += 1 + n
			continue
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{tIdent, src[i:j], i})
			i = j
			continue
		case isDigit(c) || c == '-' || c == '+' || c == '.':
			j := i
			if c == '-' || c == '+' {
				j++
			}
			start := j
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			kind := tInt
			if j < len(src) && src[j] == '.' && j+1 < len(src) && isDigit(src[j+1]) {
				kind = tFloat
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j == start {
				return nil, &SyntaxError{i + 1, fmt.Sprintf("unexpected character %q", c)}
			}
			if j < len(src) && isIdentStart(src[j]) {
				return nil, &SyntaxError{j + 1, fmt.Sprintf("unexpected character %q after number", src[j])}
			}
			toks = append(toks, token{kind, src[i:j], i})
			i = j
			continue
		default:
			return nil, &SyntaxError{i + 1, fmt.Sprintf("unexpected character %q", rune(c))}
		}
		i++
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

// prevIsValueStart reports whether a number may start here: after an
// operator, a comma or an opening parenthesis, ".5" is a float, elsewhere a
// dot is a path separator.
func prevIsValueStart(toks []token) bool {
	if len(toks) == 0 {
		return false
	}
	k := toks[len(toks)-1].kind
	return k == tOp || k == tComma || k == tLParen
}

// lexString reads a quoted string starting at src[i] == '\” and returns its
// unescaped value and the number of bytes consumed. Only \' and \\ are
// escapes in STIX patterns; any other backslash is an error.
func lexString(src string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		switch c {
		case '\'':
			return b.String(), j + 1 - i, nil
		case '\\':
			if j+1 >= len(src) {
				return "", 0, &SyntaxError{j + 1, "unterminated escape at end of pattern"}
			}
			n := src[j+1]
			if n != '\'' && n != '\\' {
				return "", 0, &SyntaxError{j + 1, fmt.Sprintf("invalid escape \\%c in string (only \\' and \\\\ are allowed)", n)}
			}
			b.WriteByte(n)
			j += 2
			continue
		}
		b.WriteByte(c)
		j++
	}
	return "", 0, &SyntaxError{i + 1, "unterminated string"}
}
