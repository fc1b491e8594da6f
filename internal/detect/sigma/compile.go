package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// compileOpts carries what compiling needs beyond the rule text.
type compileOpts struct {
	mapping      map[string][]string // Sigma field name → further event field names to try
	placeholders map[string][]string // %name% → values
	unresolved   map[string]bool     // placeholders seen without values
}

// matcher evaluates one search item against an event.
type matcher interface {
	match(e Event) bool
}

// fieldMatch tests one field. groups are ORed, or ANDed with the all
// modifier; the matchers inside one group (the variants of one written value)
// are ORed.
type fieldMatch struct {
	names  []string
	groups [][]valueMatcher
	all    bool
	neq    bool
	exists int8 // +1 field must exist, -1 must not, 0 no check
	refs   []fieldRef
}

type fieldRef struct {
	names []string
	op    strOp
	cased bool
}

type nullMatcher struct{}

func (nullMatcher) matchValue(v any) bool { return v == nil || v == "" }

func lookup(e Event, names []string) (any, bool) {
	for _, n := range names {
		if v, ok := e.Get(n); ok {
			return v, true
		}
	}
	return nil, false
}

func (f *fieldMatch) match(e Event) bool {
	v, ok := lookup(e, f.names)
	r := f.eval(e, v, ok)
	if f.neq {
		return !r
	}
	return r
}

func (f *fieldMatch) eval(e Event, v any, ok bool) bool {
	if f.exists != 0 {
		return ok == (f.exists > 0)
	}
	if f.refs != nil {
		if !ok {
			return false
		}
		for _, r := range f.refs {
			rv, rok := lookup(e, r.names)
			hit := rok && refMatch(v, rv, r)
			if f.all && !hit {
				return false
			}
			if !f.all && hit {
				return true
			}
		}
		return f.all
	}
	for _, g := range f.groups {
		hit := false
		for _, m := range g {
			if groupValue(m, v, ok) {
				hit = true
				break
			}
		}
		if f.all && !hit {
			return false
		}
		if !f.all && hit {
			return true
		}
	}
	return f.all && len(f.groups) > 0
}

func groupValue(m valueMatcher, v any, ok bool) bool {
	if _, isNull := m.(nullMatcher); isNull {
		return !ok || v == nil || v == ""
	}
	if !ok {
		return false
	}
	if list, isList := v.([]string); isList {
		sm, isStr := m.(*strMatcher)
		for _, s := range list {
			// Strings go straight to the pattern: boxing each one into an
			// interface would allocate.
			if isStr && sm.pat.match(s) || !isStr && m.matchValue(s) {
				return true
			}
		}
		return false
	}
	return m.matchValue(v)
}

func refMatch(v, rv any, r fieldRef) bool {
	a, ok1 := stringOf(v)
	b, ok2 := stringOf(rv)
	if !ok1 || !ok2 {
		return v == nil && rv == nil
	}
	if !r.cased {
		a, b = strings.ToLower(a), strings.ToLower(b)
	}
	switch r.op {
	case opPrefix:
		return strings.HasPrefix(a, b)
	case opSuffix:
		return strings.HasSuffix(a, b)
	case opContains:
		return strings.Contains(a, b)
	}
	return a == b
}

// keywordMatch searches every field value of the event.
type keywordMatch struct {
	groups [][]valueMatcher
	all    bool
}

func (k *keywordMatch) match(e Event) bool {
	for _, g := range k.groups {
		hit := false
		for _, m := range g {
			if anyValue(e, m) {
				hit = true
				break
			}
		}
		if k.all && !hit {
			return false
		}
		if !k.all && hit {
			return true
		}
	}
	return k.all && len(k.groups) > 0
}

// anyValue reports whether m matches any field value of e. Plain maps are
// ranged directly, without a callback, to keep keyword searches free of
// allocations.
func anyValue(e Event, m valueMatcher) bool {
	var fields map[string]any
	switch x := e.(type) {
	case Fields:
		fields = x
	case *tansa.Event:
		fields = x.Fields
	default:
		hit := false
		walkValues(e, func(v any) bool {
			hit = groupValue(m, v, true)
			return !hit
		})
		return hit
	}
	for _, v := range fields {
		if groupValue(m, v, true) {
			return true
		}
	}
	return false
}

// modSet is the parsed modifier chain of an item.
type modSet struct {
	transforms []string // windash, base64, base64offset, utf16le, utf16be, utf16, wide — in written order
	position   string   // contains, startswith, endswith or ""
	all        bool
	cased      bool
	neq        bool
	exists     bool
	fieldref   bool
	cidr       bool
	re         bool
	reFlags    string
	cmp        string // lt lte gt gte
	timePart   string
	expand     bool
}

func parseModifiers(mods []string) (modSet, error) {
	var m modSet
	for _, x := range mods {
		switch x {
		case "contains", "startswith", "endswith":
			if m.position != "" && m.position != x {
				return m, fmt.Errorf("modifiers %s and %s conflict", m.position, x)
			}
			m.position = x
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "cidr":
			m.cidr = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return m, fmt.Errorf("modifier %s needs re before it", x)
			}
			m.reFlags += x
		case "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide":
			m.transforms = append(m.transforms, x)
		case "lt", "lte", "gt", "gte":
			m.cmp = x
		case "minute", "hour", "day", "week", "month", "year":
			m.timePart = x
		case "expand":
			m.expand = true
		default:
			return m, fmt.Errorf("unknown modifier %q", x)
		}
	}
	if m.re && (m.position != "" || len(m.transforms) > 0 || m.cidr) {
		return m, fmt.Errorf("re cannot be combined with string modifiers")
	}
	return m, nil
}

// validate compiles every item once so that rule errors surface at parse
// time with their line.
func (s *Search) validate(path string) error {
	opts := &compileOpts{}
	items := []*Item{}
	for _, m := range s.Maps {
		items = append(items, m...)
	}
	if s.Keywords != nil {
		items = append(items, s.Keywords)
	}
	for _, it := range items {
		if _, err := compileItem(it, opts, it == s.Keywords); err != nil {
			return &ParseError{Path: path, Line: it.Line, Reason: fmt.Sprintf("search %q field %q: %v", s.Name, it.Field, err)}
		}
	}
	return nil
}

func compileSearch(s *Search, opts *compileOpts) (matcher, error) {
	if s.Keywords != nil {
		return compileItem(s.Keywords, opts, true)
	}
	var ors []matcher
	for _, m := range s.Maps {
		var ands []matcher
		for _, it := range m {
			fm, err := compileItem(it, opts, false)
			if err != nil {
				return nil, fmt.Errorf("search %q field %q: %w", s.Name, it.Field, err)
			}
			ands = append(ands, fm)
		}
		if len(ands) == 1 {
			ors = append(ors, ands[0])
		} else {
			ors = append(ors, andMatch(ands))
		}
	}
	if len(ors) == 1 {
		return ors[0], nil
	}
	return orMatch(ors), nil
}

type andMatch []matcher
type orMatch []matcher

func (a andMatch) match(e Event) bool {
	for _, m := range a {
		if !m.match(e) {
			return false
		}
	}
	return true
}

func (o orMatch) match(e Event) bool {
	for _, m := range o {
		if m.match(e) {
			return true
		}
	}
	return false
}

func compileItem(it *Item, opts *compileOpts, keyword bool) (matcher, error) {
	mods, err := parseModifiers(it.Modifiers)
	if err != nil {
		return nil, err
	}
	if keyword || it.Field == "" {
		keyword = true
	}
	if mods.all && len(it.Values) < 2 && !keyword {
		// The spec forbids all on one value; it is harmless, so accept it.
		mods.all = false
	}
	names := []string{it.Field}
	if alt, ok := opts.mapping[it.Field]; ok {
		names = append(names, alt...)
	}
	fm := &fieldMatch{names: names, all: mods.all, neq: mods.neq}
	if mods.exists {
		if len(it.Values) != 1 || it.Values[0].kind != kindBool {
			return nil, fmt.Errorf("exists needs one boolean value")
		}
		fm.exists = -1
		if it.Values[0].b {
			fm.exists = 1
		}
		return fm, nil
	}
	if mods.fieldref {
		for _, v := range it.Values {
			if v.kind != kindString {
				return nil, fmt.Errorf("fieldref needs field names")
			}
			r := fieldRef{names: []string{v.text}, cased: mods.cased}
			if alt, ok := opts.mapping[v.text]; ok {
				r.names = append(r.names, alt...)
			}
			switch mods.position {
			case "contains":
				r.op = opContains
			case "startswith":
				r.op = opPrefix
			case "endswith":
				r.op = opSuffix
			}
			fm.refs = append(fm.refs, r)
		}
		return fm, nil
	}
	for _, v := range it.Values {
		g, err := compileValue(v, mods, opts, keyword)
		if err != nil {
			return nil, err
		}
		fm.groups = append(fm.groups, g)
	}
	if keyword {
		return &keywordMatch{groups: fm.groups, all: mods.all}, nil
	}
	return fm, nil
}

func compileValue(v rvalue, mods modSet, opts *compileOpts, keyword bool) ([]valueMatcher, error) {
	if v.kind == kindNull {
		return []valueMatcher{nullMatcher{}}, nil
	}
	switch {
	case mods.timePart != "":
		if v.kind != kindNumber {
			return nil, fmt.Errorf("%s needs a number, got %q", mods.timePart, v.text)
		}
		op := mods.cmp
		if op == "" {
			op = "eq"
		}
		return []valueMatcher{&timeMatcher{part: mods.timePart, op: op, num: v.num}}, nil
	case mods.cmp != "":
		if v.kind != kindNumber {
			return nil, fmt.Errorf("%s needs a number, got %q", mods.cmp, v.text)
		}
		return []valueMatcher{&cmpMatcher{op: mods.cmp, num: v.num}}, nil
	case mods.cidr:
		p, err := netip.ParsePrefix(strings.TrimSpace(v.text))
		if err != nil {
			return nil, fmt.Errorf("cidr %q: %w", v.text, err)
		}
		return []valueMatcher{&cidrMatcher{prefix: p.Masked()}}, nil
	case mods.re:
		expr := v.text
		if mods.reFlags != "" {
			expr = "(?" + mods.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("regular expression %q: %w", v.text, err)
		}
		return []valueMatcher{&regexMatcher{re: re, src: expr}}, nil
	case v.kind == kindBool && len(mods.transforms) == 0 && mods.position == "":
		return []valueMatcher{&boolMatcher{b: v.b}}, nil
	}
	texts := []string{v.text}
	if mods.expand {
		texts = expandPlaceholders(v.text, opts)
	}
	var strs []sstring
	for _, t := range texts {
		strs = append(strs, parseSString(t))
	}
	for _, tr := range mods.transforms {
		var next []sstring
		for _, s := range strs {
			out, err := transform(tr, s)
			if err != nil {
				return nil, err
			}
			next = append(next, out...)
		}
		strs = next
	}
	pre, post := false, false
	switch mods.position {
	case "contains":
		pre, post = true, true
	case "startswith":
		post = true
	case "endswith":
		pre = true
	}
	if keyword && mods.position == "" {
		// Unfielded keywords are full-text searches: a plain keyword matches
		// anywhere in a value.
		pre, post = true, true
	}
	out := make([]valueMatcher, 0, len(strs))
	for _, s := range strs {
		out = append(out, newStrMatcher(s.wrap(pre, post), mods.cased))
	}
	return out, nil
}

// expandPlaceholders replaces every %name% with each of its values. An
// unknown placeholder yields no values, so the value never matches; the
// compile reports it in the rule's unresolved list.
func expandPlaceholders(text string, opts *compileOpts) []string {
	out := []string{""}
	rest := text
	for {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+1:], '%')
		if j < 0 {
			break
		}
		name := rest[i+1 : i+1+j]
		vals, ok := opts.placeholders[name]
		if !ok {
			if opts.unresolved != nil {
				opts.unresolved[name] = true
			}
			return nil
		}
		if len(out)*len(vals) > maxVariants {
			return nil
		}
		var next []string
		for _, o := range out {
			for _, v := range vals {
				next = append(next, o+rest[:i]+v)
			}
		}
		out = next
		rest = rest[i+2+j:]
	}
	for k := range out {
		out[k] += rest
	}
	return out
}

// maxVariants bounds how many strings one written value may expand into
// (windash permutations, placeholder products), so a hostile rule cannot
// exhaust memory.
const maxVariants = 4096

func intPow(b, e int) int {
	n := 1
	for i := 0; i < e; i++ {
		n *= b
		if n > maxVariants {
			return maxVariants + 1
		}
	}
	return n
}

// windashSites counts the dashes windash would replace in lit.
func windashSites(lit string) int {
	n := 0
	prevWord := false
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if (c == '-' || c == '/') && !prevWord && i+1 < len(lit) && isWordByte(lit[i+1]) {
			n++
		}
		prevWord = isWordByte(c)
	}
	return n
}

var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80
}

func transform(name string, s sstring) ([]sstring, error) {
	switch name {
	case "windash":
		n := 1
		for _, p := range s {
			n *= intPow(len(windashChars), windashSites(p.lit))
			if n > maxVariants || n <= 0 {
				return nil, fmt.Errorf("windash expands to more than %d variants", maxVariants)
			}
		}
		return windash(s), nil
	}
	if s.hasWildcards() {
		// Encodings cannot carry wildcards through; encode them as text.
		s = literal(s.plain())
	}
	text := s.plain()
	switch name {
	case "base64":
		return []sstring{literal(base64.StdEncoding.EncodeToString([]byte(text)))}, nil
	case "base64offset":
		return base64Offsets(text), nil
	case "utf16le", "wide":
		return []sstring{literal(encodeUTF16(text, false, false))}, nil
	case "utf16be":
		return []sstring{literal(encodeUTF16(text, true, false))}, nil
	case "utf16":
		return []sstring{literal(encodeUTF16(text, false, true))}, nil
	}
	return nil, fmt.Errorf("unknown transformation %q", name)
}

// windash replaces every '-' or '/' that starts a word (pySigma's
// \B[-/]\b) by each of the dash characters, producing all permutations.
func windash(s sstring) []sstring {
	out := []sstring{{}}
	prevWord := false
	for _, p := range s {
		if p.wild != 0 {
			for i := range out {
				out[i] = append(out[i], p)
			}
			prevWord = false
			continue
		}
		lit := p.lit
		start := 0
		var segs [][]string // alternatives per segment
		for i := 0; i < len(lit); i++ {
			c := lit[i]
			if (c == '-' || c == '/') && !prevWord && i+1 < len(lit) && isWordByte(lit[i+1]) {
				segs = append(segs, []string{lit[start:i]}, windashChars)
				start = i + 1
			}
			prevWord = isWordByte(c)
		}
		segs = append(segs, []string{lit[start:]})
		texts := []string{""}
		for _, alts := range segs {
			var next []string
			for _, t := range texts {
				for _, a := range alts {
					next = append(next, t+a)
				}
			}
			texts = next
		}
		var next []sstring
		for _, o := range out {
			for _, t := range texts {
				c := append(append(sstring(nil), o...), part{lit: t})
				next = append(next, c)
			}
		}
		out = next
	}
	return out
}

// base64Offsets encodes text at the three byte alignments and keeps the
// parts of each encoding that do not depend on surrounding bytes, exactly as
// pySigma does.
func base64Offsets(text string) []sstring {
	starts := []int{0, 2, 3}
	ends := []int{0, -3, -2}
	var out []sstring
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + text))
		end := len(enc)
		if e := ends[(len(text)+i)%3]; e != 0 {
			end += e
		}
		if starts[i] > end {
			continue
		}
		out = append(out, literal(enc[starts[i]:end]))
	}
	return out
}

func encodeUTF16(text string, be, bom bool) string {
	u := utf16.Encode([]rune(text))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range u {
		if be {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}
