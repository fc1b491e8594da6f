package sigma

import (
	"encoding/binary"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// The prefilter skips rules that cannot match an event without evaluating
// them. From each rule's condition Compile derives a necessary condition in
// conjunctive form: clauses of literals, each clause satisfied when one of
// its literals occurs (ASCII case folded) in the field it was written for
// (under any of the field's mapped names), or in any field for keyword
// searches. Per event, each value is folded once and scanned once for the
// literals of its field and of keyword searches (anchored on a rare 3- or
// 4-byte window of each literal, then verified); a rule is evaluated only
// when all its clauses hold. Tying a literal to its field matters: the
// image names that process_creation rules look for in Image also occur in
// CommandLine and ParentCommandLine, where they selected hundreds of rules
// whose conditions could not hold.
// Rules without a usable condition (negations, regular expressions,
// numbers, short literals) are always evaluated, so results never change.

// minLiteral is the shortest literal worth indexing; shorter ones occur in
// almost every event.
const minLiteral = 3

// clause is a set of literal indexes, one of which must occur.
type clause []int32

// literalTable collects the distinct literals of a rule set, each with the
// field it must occur in.
type literalTable struct {
	index map[litKey]int32
	lits  []string
	// owner[i] is literal i's field key: its field's names joined by a
	// zero byte, or "" for keyword searches, which may be in any field.
	owner []string
	// names maps a field key to the event field names it is looked up by.
	names map[string][]string
}

type litKey struct{ field, lit string }

func (t *literalTable) id(field, s string) int32 {
	if i, ok := t.index[litKey{field, s}]; ok {
		return i
	}
	i := int32(len(t.lits))
	t.index[litKey{field, s}] = i
	t.lits = append(t.lits, s)
	t.owner = append(t.owner, field)
	return i
}

// required returns the necessary condition of m as clauses (all must hold);
// nil means none is known.
func (t *literalTable) required(m matcher) []clause {
	switch x := m.(type) {
	case *fieldMatch:
		if x.neq || x.exists != 0 || x.refs != nil || len(x.groups) == 0 {
			return nil
		}
		key := strings.Join(x.names, "\x00")
		if key == "" {
			return nil
		}
		t.names[key] = x.names
		return t.groups(x.groups, x.all, key)
	case *keywordMatch:
		if len(x.groups) == 0 {
			return nil
		}
		return t.groups(x.groups, x.all, "")
	case andMatch:
		var out []clause
		for _, c := range x {
			out = append(out, t.required(c)...)
		}
		return out
	case orMatch:
		return t.union(x)
	case countMatch:
		if x.n < 1 {
			return nil
		}
		return t.union(x.ms)
	}
	return nil // notMatch and anything new: no condition
}

// union is one clause holding the best clause of every alternative; an
// alternative without a condition leaves the union without one.
func (t *literalTable) union(ms []matcher) []clause {
	var u clause
	for _, m := range ms {
		cs := t.required(m)
		if len(cs) == 0 {
			return nil
		}
		u = append(u, t.best(cs)...)
	}
	return []clause{u}
}

// groups handles a field's written values: any value (one clause of all
// their literals) or, with all, every value (a clause per value). field is
// the field key the literals must occur in ("": any).
func (t *literalTable) groups(gs [][]valueMatcher, all bool, field string) []clause {
	var out []clause
	var any clause
	for _, g := range gs {
		var c clause
		ok := len(g) > 0
		for _, vm := range g {
			lits := literalsOf(vm)
			if lits == nil {
				ok = false
				break
			}
			for _, l := range lits {
				c = append(c, t.id(field, l))
			}
		}
		switch {
		case all && ok:
			out = append(out, c)
		case !all && !ok:
			return nil
		case !all:
			any = append(any, c...)
		}
	}
	if !all {
		return []clause{any}
	}
	return out
}

// best picks the clause most likely to fail on an ordinary event: the one
// whose shortest literal is longest, then the one with fewest literals.
func (t *literalTable) best(cs []clause) clause {
	var b clause
	bestMin, bestLen := -1, 0
	for _, c := range cs {
		m := 1 << 30
		for _, i := range c {
			m = min(m, len(t.lits[i]))
		}
		if m > bestMin || m == bestMin && len(c) < bestLen {
			b, bestMin, bestLen = c, m, len(c)
		}
	}
	return b
}

// literalsOf returns folded texts one of which must occur in any value
// that vm matches, or nil when there are none: matchers other than string
// patterns and regular expressions, patterns that match integers by value
// or fold non-ASCII letters, and short texts.
func literalsOf(vm valueMatcher) []string {
	if r, ok := vm.(*regexMatcher); ok {
		return regexLiterals(r.src)
	}
	if lit, ok := literalOf(vm); ok {
		return []string{lit}
	}
	return nil
}

// regexLiterals returns folded texts one of which every match of the
// regular expression contains, or nil.
func regexLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return reRequired(re.Simplify())
}

func reRequired(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			if !isASCII(s) {
				return nil // folding beyond ASCII: the scan folds ASCII only
			}
			// Go folds k to the Kelvin sign and s to the long s; keep the
			// longest piece without them, which is required as well.
			piece := ""
			for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == 'k' || r == 'K' || r == 's' || r == 'S' }) {
				if len(p) > len(piece) {
					piece = p
				}
			}
			s = piece
		}
		if s = lowerASCII(s); len(s) < minLiteral {
			return nil
		}
		return []string{s}
	case syntax.OpCapture, syntax.OpPlus:
		return reRequired(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reRequired(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part is required; keep the part whose shortest text is
		// longest.
		var best []string
		bestMin := 0
		for _, sub := range re.Sub {
			ls := reRequired(sub)
			if ls == nil {
				continue
			}
			m := 1 << 30
			for _, l := range ls {
				m = min(m, len(l))
			}
			if m > bestMin {
				best, bestMin = ls, m
			}
		}
		return best
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			ls := reRequired(sub)
			if ls == nil {
				return nil
			}
			out = append(out, ls...)
		}
		return out
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// literalOf returns the folded text that must occur in the value a string
// pattern matches, or false when there is none: patterns that match
// integers by value, that fold non-ASCII letters, or whose text is short.
func literalOf(vm valueMatcher) (string, bool) {
	m, ok := vm.(*strMatcher)
	if !ok || m.isInt || m.hex {
		return "", false
	}
	p := &m.pat
	if !p.cased && !p.ascii {
		return "", false
	}
	var lit string
	switch p.op {
	case opEq, opPrefix, opSuffix, opContains:
		lit = p.lit
	case opGlob:
		for _, x := range p.glob {
			if x.wild == 0 && len(x.lit) > len(lit) {
				lit = x.lit
			}
		}
	default:
		return "", false
	}
	lit = lowerASCII(lit)
	return lit, len(lit) >= minLiteral
}

// prefilter is the compiled literal index of a Ruleset.
type prefilter struct {
	lits []string
	// byField holds, per event field name some rule reads literals from,
	// the anchors of that field's literals and of keyword searches'; other
	// fields can hold only keyword literals, scanned with kwAnchors.
	byField   map[string]*[2]anchorTable
	kwAnchors [2]anchorTable
	// primary lists, per literal, the rules whose primary clause holds it.
	primary [][]int32
	nrules  int
	pool    sync.Pool // *scratch
}

// anchorTable finds candidate literals by one window of k bytes each.
type anchorTable struct {
	k     int
	shift uint32   // 32 - the bloom filter's bits
	bloom []uint64 // a power of two of bits over the windows' hashes
	cands map[uint32][]anchor
}

type anchor struct {
	lit int32
	off int32 // where the window starts in the literal
}

// newAnchorTable returns an empty table of k-byte windows whose bloom
// filter has about 32 bits per literal it will hold (at least 1,024).
func newAnchorTable(k, lits int) anchorTable {
	bits := uint32(10)
	for 1<<bits < 32*lits && bits < 20 {
		bits++
	}
	return anchorTable{k: k, shift: 32 - bits, bloom: make([]uint64, 1<<bits/64), cands: map[uint32][]anchor{}}
}

func (at *anchorTable) hash(w uint32) uint32 { return (w * 0x9E3779B1) >> at.shift }

func (at *anchorTable) add(w uint32, a anchor) {
	h := at.hash(w)
	at.bloom[h>>6] |= 1 << (h & 63)
	at.cands[w] = append(at.cands[w], a)
}

func window(b []byte, i, k int) uint32 {
	if k == 4 {
		return binary.LittleEndian.Uint32(b[i:])
	}
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16
}

// scratch is one goroutine's per-event state.
type scratch struct {
	gen      uint32
	litSeen  []uint32 // == gen: the literal occurs in this event
	ruleSeen []uint32 // == gen: the rule's primary clause holds
	buf      []byte
	num      []byte
}

// buildPrefilter indexes the literals of every rule's necessary condition.
// It sets each rule's clauses; rules without any keep none and are always
// evaluated.
func buildPrefilter(rules []*CompiledRule) *prefilter {
	t := &literalTable{index: map[litKey]int32{}, names: map[string][]string{}}
	for i, cr := range rules {
		cr.idx = i
		cs := t.required(cr.cond)
		if len(cs) == 0 {
			continue
		}
		// Empty clauses cannot occur; dropping one would only weaken the
		// condition, never change a result.
		cs = slices.DeleteFunc(cs, func(c clause) bool { return len(c) == 0 })
		if len(cs) == 0 {
			continue
		}
		// The best clause goes first: it selects the rule by index.
		bi := 0
		b := t.best(cs)
		for j, c := range cs {
			if &c[0] == &b[0] {
				bi = j
				break
			}
		}
		cr.clauses = append([]clause{dedupe(b)}, append(cs[:bi:bi], cs[bi+1:]...)...)
	}
	pf := &prefilter{lits: t.lits, primary: make([][]int32, len(t.lits)), nrules: len(rules), byField: map[string]*[2]anchorTable{}}
	for _, cr := range rules {
		if cr.clauses != nil {
			for _, l := range cr.clauses[0] {
				pf.primary[l] = append(pf.primary[l], int32(cr.idx))
			}
		}
	}
	// Anchor each literal on its rarest window among all literals'.
	freq := [2]map[uint32]int{{}, {}}
	for _, l := range t.lits {
		k := min(len(l), 4)
		b := []byte(l)
		for i := 0; i+k <= len(b); i++ {
			freq[k-3][window(b, i, k)]++
		}
	}
	// Only the fields that literals come from can hold them; events carry
	// many more (ECS copies, GUIDs, times) not worth scanning for all. A
	// field name shared by several field keys (user.name is where ECS keeps
	// User, TargetUserName and SubjectUserName) gets all of their literals.
	var kw []int32
	perName := map[string][]int32{}
	for li, owner := range t.owner {
		if owner == "" {
			kw = append(kw, int32(li))
			continue
		}
		for _, n := range t.names[owner] {
			perName[n] = append(perName[n], int32(li))
		}
	}
	build := func(lits []int32) [2]anchorTable {
		at := [2]anchorTable{newAnchorTable(3, len(lits)), newAnchorTable(4, len(lits))}
		for _, li := range lits {
			l := t.lits[li]
			k := min(len(l), 4)
			b := []byte(l)
			bestOff, bestN := 0, 1<<30
			for i := 0; i+k <= len(b); i++ {
				if n := freq[k-3][window(b, i, k)]; n < bestN {
					bestOff, bestN = i, n
				}
			}
			at[k-3].add(window(b, bestOff, k), anchor{lit: li, off: int32(bestOff)})
		}
		return at
	}
	pf.kwAnchors = build(kw)
	for n, lits := range perName {
		at := build(append(lits, kw...))
		pf.byField[n] = &at
	}
	pf.pool.New = func() any {
		return &scratch{litSeen: make([]uint32, len(pf.lits)), ruleSeen: make([]uint32, pf.nrules)}
	}
	return pf
}

func dedupe(c clause) clause {
	s := append(clause(nil), c...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// get returns a scratch for one event, its generation advanced.
func (pf *prefilter) get() *scratch {
	sc := pf.pool.Get().(*scratch)
	sc.gen++
	if sc.gen == 0 {
		// Wrapped: stale marks could read as current.
		clear(sc.litSeen)
		clear(sc.ruleSeen)
		sc.gen = 1
	}
	return sc
}

// scan marks the literals that occur in e's values and the rules whose
// primary clause they satisfy. It returns false when e cannot list its
// values; every rule must then be evaluated.
func (pf *prefilter) scan(e Event, sc *scratch) bool {
	switch x := e.(type) {
	case *tansa.Event:
		pf.scanMap(x.Fields, sc)
	case Fields:
		pf.scanMap(x, sc)
	case FieldWalker:
		x.WalkFields(func(k string, v any) bool {
			pf.scanValue(pf.tables(k), v, sc)
			return true
		})
	default:
		return false
	}
	return true
}

func (pf *prefilter) scanMap(m map[string]any, sc *scratch) {
	for k, v := range m {
		pf.scanValue(pf.tables(k), v, sc)
	}
}

// tables returns the anchors to scan field k's value with: its own
// literals' and keyword searches' when some rule reads k, else only keyword
// searches' (none when the rule set has no keyword literals).
func (pf *prefilter) tables(k string) *[2]anchorTable {
	if at := pf.byField[k]; at != nil {
		return at
	}
	return &pf.kwAnchors
}

// scanValue scans the text forms a string pattern can compare a value by:
// strings as they are, lists element by element, integers in decimal and
// as 0x-hex, other values as stringOf renders them.
func (pf *prefilter) scanValue(ts *[2]anchorTable, v any, sc *scratch) {
	if len(ts[0].cands) == 0 && len(ts[1].cands) == 0 {
		return
	}
	switch x := v.(type) {
	case string:
		pf.scanText(ts, x, sc)
	case []string:
		for _, s := range x {
			pf.scanText(ts, s, sc)
		}
	case int64:
		sc.num = strconv.AppendInt(sc.num[:0], x, 10)
		pf.scanBytes(ts, sc.num, sc)
		sc.num = strconv.AppendInt(append(sc.num[:0], "0x"...), x, 16)
		pf.scanBytes(ts, sc.num, sc)
	case nil:
	default:
		if s, ok := stringOf(x); ok {
			pf.scanText(ts, s, sc)
		}
	}
}

func (pf *prefilter) scanText(ts *[2]anchorTable, s string, sc *scratch) {
	if len(s) < minLiteral {
		return
	}
	b := sc.buf[:0]
	for i := 0; i < len(s); i++ {
		b = append(b, lowerByte(s[i]))
	}
	sc.buf = b
	pf.scanBytes(ts, b, sc)
}

// scanBytes finds the literals of tables ts in folded text b.
func (pf *prefilter) scanBytes(ts *[2]anchorTable, b []byte, sc *scratch) {
	for ai := range ts {
		at := &ts[ai]
		if len(at.cands) == 0 {
			continue
		}
		k := at.k
		for i := 0; i+k <= len(b); i++ {
			w := window(b, i, k)
			h := at.hash(w)
			if at.bloom[h>>6]&(1<<(h&63)) == 0 {
				continue
			}
			for _, a := range at.cands[w] {
				if sc.litSeen[a.lit] == sc.gen {
					continue
				}
				lit := pf.lits[a.lit]
				start := i - int(a.off)
				if start < 0 || start+len(lit) > len(b) || string(b[start:start+len(lit)]) != lit {
					continue
				}
				sc.litSeen[a.lit] = sc.gen
				for _, r := range pf.primary[a.lit] {
					sc.ruleSeen[r] = sc.gen
				}
			}
		}
	}
}

// candidate reports whether rule cr can match the scanned event.
func (sc *scratch) candidate(cr *CompiledRule) bool {
	if cr.clauses == nil {
		return true
	}
	if sc.ruleSeen[cr.idx] != sc.gen {
		return false
	}
	for _, c := range cr.clauses[1:] {
		hit := false
		for _, l := range c {
			if sc.litSeen[l] == sc.gen {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}
