// Package jsonflat turns one JSON object into the flat field map that a
// *tansa.Event holds, so that JSON log records (Zeek, Office 365, Entra ID)
// keep their vendors' field names as-is.
//
// Nested objects become dotted names ("id.orig_h" stays "id.orig_h";
// {"a":{"b":1}} becomes "a.b"). Values become the event's value types: a
// string stays a string, an integer literal becomes int64, any other number
// float64, true/false bool, null nil, and an array of scalars []string (each
// element as written). An array of objects is flattened with each element's
// index ("Folders.0.Path"), except that an array of {"Name":…, "Value":…}
// objects, Microsoft's shape for parameters and extended properties, becomes
// one field per Name ("Parameters.Identity").
//
// The scanner is written for this one job: it reads the document as a
// string and stores substrings of it wherever a value has no escapes, so a
// typical log record costs few allocations. It accepts exactly RFC 8259
// JSON, nested at most MaxDepth deep.
package jsonflat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply objects and arrays may nest; deeper documents are
// rejected rather than risk the stack on hostile input.
const MaxDepth = 64

// Flatten decodes the JSON object in doc and adds its fields to f, each
// name prefixed with prefix (which, when not empty, should end with a dot).
// Field values share memory with doc. A document that is not one JSON
// object is an error that names the byte offset; fields decoded before the
// error stay in f.
func Flatten(doc, prefix string, f map[string]any) error {
	s := scanner{s: doc}
	s.ws()
	if s.i >= len(s.s) || s.s[s.i] != '{' {
		return fmt.Errorf("json: document is not an object [offset %d]", s.i)
	}
	s.i++
	if err := s.object(prefix, f, 1); err != nil {
		return fmt.Errorf("json: %w [offset %d]", err, s.i)
	}
	s.ws()
	if s.i < len(s.s) {
		return fmt.Errorf("json: more than one value in the record [offset %d]", s.i)
	}
	return nil
}

// Member returns the raw text of the value of the top-level member name in
// the JSON object doc, and whether it was found; it checks the members it
// passes over. Wrappers such as {"integration":…,"office365":{…}} are
// opened with it.
func Member(doc, name string) (string, bool, error) {
	s := scanner{s: doc}
	s.ws()
	if s.i >= len(s.s) || s.s[s.i] != '{' {
		return "", false, fmt.Errorf("json: document is not an object [offset %d]", s.i)
	}
	s.i++
	for {
		s.ws()
		if s.i < len(s.s) && s.s[s.i] == '}' {
			return "", false, nil
		}
		key, err := s.key()
		if err != nil {
			return "", false, fmt.Errorf("json: %w [offset %d]", err, s.i)
		}
		s.ws()
		start := s.i
		if err := s.value("", nil, 1); err != nil {
			return "", false, fmt.Errorf("json: %w [offset %d]", err, s.i)
		}
		if key == name {
			return s.s[start:s.i], true, nil
		}
		if err := s.next('}'); err != nil {
			if errors.Is(err, errEnd) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("json: %w [offset %d]", err, s.i)
		}
	}
}

type scanner struct {
	s string
	i int
}

var errEnd = errors.New("end of container")

func (s *scanner) ws() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes the "," between members or elements, or the closing
// bracket, which it reports as errEnd.
func (s *scanner) next(closing byte) error {
	s.ws()
	if s.i >= len(s.s) {
		return errors.New("unexpected end of document")
	}
	switch s.s[s.i] {
	case ',':
		s.i++
		return nil
	case closing:
		s.i++
		return errEnd
	}
	return fmt.Errorf("expected %q or %q, found %q", ',', closing, s.s[s.i])
}

func (s *scanner) key() (string, error) {
	if s.i >= len(s.s) || s.s[s.i] != '"' {
		return "", errors.New("expected a member name in double quotes")
	}
	k, err := s.str()
	if err != nil {
		return "", err
	}
	s.ws()
	if s.i >= len(s.s) || s.s[s.i] != ':' {
		return "", errors.New(`expected ":" after a member name`)
	}
	s.i++
	return k, nil
}

// object reads the members of an object whose "{" was read. f nil means
// the values are only checked (Member skipping over them).
func (s *scanner) object(prefix string, f map[string]any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("nested deeper than %d", MaxDepth)
	}
	s.ws()
	if s.i < len(s.s) && s.s[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		k, err := s.key()
		if err != nil {
			return err
		}
		s.ws()
		if err := s.value(prefix+k, f, depth); err != nil {
			return err
		}
		if err := s.next('}'); err != nil {
			if errors.Is(err, errEnd) {
				return nil
			}
			return err
		}
	}
}

// value reads one value and stores it under name.
func (s *scanner) value(name string, f map[string]any, depth int) error {
	if s.i >= len(s.s) {
		return errors.New("unexpected end of document")
	}
	switch c := s.s[s.i]; {
	case c == '{':
		s.i++
		return s.object(name+".", f, depth+1)
	case c == '[':
		s.i++
		return s.array(name, f, depth+1)
	default:
		v, err := s.scalar()
		if err != nil {
			return err
		}
		if f != nil {
			f[name] = v
		}
		return nil
	}
}

func (s *scanner) scalar() (any, error) {
	switch c := s.s[s.i]; {
	case c == '"':
		return s.str()
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return nil, s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return nil, fmt.Errorf("unexpected %q", c)
	}
}

func (s *scanner) literal(lit string) error {
	if !strings.HasPrefix(s.s[s.i:], lit) {
		return fmt.Errorf("invalid literal, expected %s", lit)
	}
	s.i += len(lit)
	return nil
}

// number reads an RFC 8259 number: int64 when it is an integer that fits,
// float64 otherwise.
func (s *scanner) number() (any, error) {
	start := s.i
	if s.s[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.s) && s.s[s.i] >= '0' && s.s[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	intStart := s.i
	if digits() == 0 {
		return nil, errors.New("invalid number")
	}
	if s.s[intStart] == '0' && s.i-intStart > 1 {
		return nil, errors.New("invalid number: leading zero")
	}
	integer := true
	if s.i < len(s.s) && s.s[s.i] == '.' {
		s.i++
		integer = false
		if digits() == 0 {
			return nil, errors.New("invalid number: no digits after the decimal point")
		}
	}
	if s.i < len(s.s) && (s.s[s.i] == 'e' || s.s[s.i] == 'E') {
		s.i++
		integer = false
		if s.i < len(s.s) && (s.s[s.i] == '+' || s.s[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, errors.New("invalid number: no digits in the exponent")
		}
	}
	text := s.s[start:s.i]
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("invalid number %q", text)
	}
	return v, nil
}

// str reads a string whose opening quote is at s.i. Without escapes it
// returns a substring of the document.
func (s *scanner) str() (string, error) {
	s.i++
	start := s.i
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == '"':
			v := s.s[start:s.i]
			s.i++
			return v, nil
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", errors.New("control character in a string")
		}
		s.i++
	}
	return "", errors.New("unterminated string")
}

// escaped finishes a string that has escapes, from start.
func (s *scanner) escaped(start int) (string, error) {
	var b strings.Builder
	b.Grow(s.i - start + 16)
	b.WriteString(s.s[start:s.i])
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == '"':
			s.i++
			return b.String(), nil
		case c < 0x20:
			return "", errors.New("control character in a string")
		case c != '\\':
			b.WriteByte(c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.s) {
			return "", errors.New("unterminated string")
		}
		s.i += 2
		switch e := s.s[s.i-1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if strings.HasPrefix(s.s[s.i:], `\u`) {
					s.i += 2
					lo, err := s.hex4()
					if err != nil {
						return "", err
					}
					r2 = utf16.DecodeRune(r, lo)
				}
				r = r2
			}
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("invalid escape \\%c", e)
		}
	}
	return "", errors.New("unterminated string")
}

func (s *scanner) hex4() (rune, error) {
	if s.i+4 > len(s.s) {
		return 0, errors.New(`truncated \u escape`)
	}
	n, err := strconv.ParseUint(s.s[s.i:s.i+4], 16, 32)
	if err != nil {
		return 0, errors.New(`invalid \u escape`)
	}
	s.i += 4
	return rune(n), nil
}

// array reads an array whose "[" was read.
func (s *scanner) array(name string, f map[string]any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("nested deeper than %d", MaxDepth)
	}
	var list []string
	nested := false // elements were objects or arrays, flattened by index
	s.ws()
	if s.i < len(s.s) && s.s[s.i] == ']' {
		s.i++
		if f != nil {
			f[name] = []string{}
		}
		return nil
	}
	for i := 0; ; i++ {
		s.ws()
		if s.i >= len(s.s) {
			return errors.New("unexpected end of document")
		}
		switch s.s[s.i] {
		case '{':
			nested = true
			s.i++
			var elem map[string]any
			if f != nil {
				elem = make(map[string]any, 4)
			}
			if err := s.object("", elem, depth+1); err != nil {
				return err
			}
			if f == nil {
				break
			}
			if n, ok := elem["Name"].(string); ok && len(elem) <= 2 {
				if v, ok := elem["Value"]; ok || len(elem) == 1 {
					f[name+"."+n] = v
					break
				}
			}
			for k, v := range elem {
				f[name+"."+strconv.Itoa(i)+"."+k] = v
			}
		case '[':
			nested = true
			s.i++
			if err := s.array(name+"."+strconv.Itoa(i), f, depth+1); err != nil {
				return err
			}
		default:
			start := s.i
			v, err := s.scalar()
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case string:
				list = append(list, v)
			case nil:
				list = append(list, "")
			default:
				// Numbers and booleans as written.
				list = append(list, s.s[start:s.i])
			}
		}
		if err := s.next(']'); err != nil {
			if !errors.Is(err, errEnd) {
				return err
			}
			if f != nil && (list != nil || !nested) {
				f[name] = list
			}
			return nil
		}
	}
}
