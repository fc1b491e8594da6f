// Package match matches observables from live events against a set of
// indicators. A Snapshot is built once from indicators (Build) and is then
// immutable; a Matcher holds the current Snapshot and swaps it atomically
// when the indicator set changes, so matching never waits for a rebuild.
//
// Atomic values live in hash maps (IPs keyed by netip.Addr; domains, URLs,
// hashes, e-mail addresses, JA3/JA4, mutexes and registry keys by canonical
// string), CIDRs in a go4.org/netipx IPSet with a per-prefix-length index,
// and only true substring indicators — user-agent fragments and filename
// wildcards or regular expressions — in Aho-Corasick automata. Lookups are
// by exact token: an IP observable is parsed and looked up whole, so
// 92.168.1.1 never matches inside 192.168.1.1; domains also match their
// subdomains at label boundaries only (a.b.evil.com hits evil.com,
// notevil.com does not). Complex STIX patterns are kept parsed and evaluated
// per observation by MatchObservation.
package match

import (
	"net/netip"
	"path"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
	"go4.org/netipx"
	"hash/maphash"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/stixpattern"
)

// Kind is what an observable's value is.
type Kind uint8

// The observable kinds. KindHash takes MD5, SHA-1 and SHA-256 alike;
// KindIP takes IPv4 and IPv6.
const (
	KindIP Kind = iota + 1
	KindDomain
	KindURL
	KindHash
	KindEmail
	KindFilename
	KindUserAgent
	KindRegistryKey
	KindMutex
	KindJA3
	KindJA4
)

// Observable is one value taken from an event, such as source.ip or
// url.full, with its kind. Values are given as the log has them; the
// matcher canonicalises what it must (case, defaults) itself.
type Observable struct {
	Kind  Kind
	Value string
}

// Entry is the compact form of an indicator that a Snapshot keeps: enough
// to tell what matched and to fetch the full indicator from storage.
type Entry struct {
	ID         string
	TenantID   string // empty: global
	Type       intel.Type
	Value      string
	Confidence int8
	TLP        intel.TLP
	Tags       []string // e.g. "regex" for filename regular expressions
}

// Hit is one match of an observable against an indicator.
type Hit struct {
	Entry      *Entry
	Observable Observable
}

const none = -1

// Snapshot is an immutable, indexed set of indicators. All methods are safe
// for concurrent use.
type Snapshot struct {
	entries []Entry
	next    []int32 // entries with the same key are chained: next[i] is the following entry or none

	ips     map[netip.Addr]int32
	cidrSet *netipx.IPSet
	cidrs   map[netip.Prefix]int32
	lens4   []int // prefix lengths present, longest first
	lens6   []int
	strs    [KindJA4 + 1]map[string]int32 // exact string indexes by observable kind

	subs [KindJA4 + 1]*substrings // Aho-Corasick indexes for substring kinds
	res  map[int32]*regexp.Regexp // compiled filename regular expressions by entry

	filter filter // prefilter over every IP and exact-string key

	patterns []patternEntry // complex STIX patterns, evaluated per observation
}

type patternEntry struct {
	entry int32
	p     *stixpattern.Pattern
}

type substrings struct {
	gate  gate
	ac    ahocorasick.AhoCorasick
	heads []int32 // pattern index → entry chain
}

// BuildStats says what Build did with its input.
type BuildStats struct {
	Indexed int // entries indexed
	Skipped int // inactive, allowlisted, revoked or of a type the matcher does not index (STIX patterns)
}

// Build indexes the indicators that are active at now and not allowlisted.
// STIX patterns are parsed and kept for MatchObservation, since they need
// evaluation rather than a lookup; patterns that do not parse are skipped.
// The indicators are copied into compact entries; the caller may reuse its
// slice afterwards.
func Build(inds []intel.Indicator, now time.Time) (*Snapshot, BuildStats) {
	s := &Snapshot{
		ips:   make(map[netip.Addr]int32),
		cidrs: make(map[netip.Prefix]int32),
		res:   make(map[int32]*regexp.Regexp),
	}
	for k := range s.strs {
		s.strs[k] = make(map[string]int32)
	}
	var st BuildStats
	s.entries = make([]Entry, 0, len(inds))
	s.next = make([]int32, 0, len(inds))
	var cidrB netipx.IPSetBuilder
	lens := map[int]bool{}
	type subPat struct {
		pat  string
		kind Kind
	}
	subPats := map[subPat]int32{} // pattern → head, so identical patterns share an automaton slot
	var subOrder [KindJA4 + 1][]subPat

	add := func(ind *intel.Indicator) int32 {
		conf := ind.Confidence
		if conf > 100 {
			conf = 100
		}
		s.entries = append(s.entries, Entry{ID: ind.ID, TenantID: ind.TenantID, Type: ind.Type, Value: ind.Value,
			Confidence: int8(conf), TLP: ind.TLP, Tags: ind.Tags})
		s.next = append(s.next, none)
		return int32(len(s.entries) - 1)
	}
	chain := func(head int32, ok bool, i int32) int32 {
		if ok {
			s.next[i] = head
		}
		return i
	}
	for k := range inds {
		ind := &inds[k]
		if ind.Allowlisted != "" || !ind.Active(now) {
			st.Skipped++
			continue
		}
		switch ind.Type {
		case intel.TypeIPv4, intel.TypeIPv6:
			a, err := netip.ParseAddr(ind.Value)
			if err != nil {
				st.Skipped++
				continue
			}
			a = a.Unmap()
			h, ok := s.ips[a]
			s.ips[a] = chain(h, ok, add(ind))
		case intel.TypeCIDR:
			p, err := netip.ParsePrefix(ind.Value)
			if err != nil {
				st.Skipped++
				continue
			}
			p = p.Masked()
			cidrB.AddPrefix(p)
			if p.Addr().Is4() {
				lens[p.Bits()] = true
			} else {
				lens[p.Bits()+1000] = true
			}
			h, ok := s.cidrs[p]
			s.cidrs[p] = chain(h, ok, add(ind))
		case intel.TypeSTIXPattern:
			p, err := stixpattern.Parse(ind.Value)
			if err != nil {
				st.Skipped++
				continue
			}
			s.patterns = append(s.patterns, patternEntry{entry: add(ind), p: p})
		case intel.TypeUserAgent, intel.TypeFilename:
			kind := KindUserAgent
			if ind.Type == intel.TypeFilename {
				kind = KindFilename
				if !isRegex(ind) && !strings.ContainsAny(ind.Value, "*?") {
					key := strings.ToLower(ind.Value)
					h, ok := s.strs[kind][key]
					s.strs[kind][key] = chain(h, ok, add(ind))
					st.Indexed++
					continue
				}
			}
			lit, ok := requiredLiteral(ind)
			var re *regexp.Regexp
			if ok && isRegex(ind) {
				var err error
				re, err = regexp.Compile(ind.Value)
				ok = err == nil
			}
			if !ok {
				st.Skipped++
				continue
			}
			sp := subPat{strings.ToLower(lit), kind}
			i := add(ind)
			if re != nil {
				s.res[i] = re
			}
			if h, ok := subPats[sp]; ok {
				s.next[i] = h
			} else {
				subOrder[kind] = append(subOrder[kind], sp)
			}
			subPats[sp] = i
		default:
			kind, key, ok := stringKey(ind.Type, ind.Value)
			if !ok {
				st.Skipped++
				continue
			}
			h, found := s.strs[kind][key]
			s.strs[kind][key] = chain(h, found, add(ind))
		}
		st.Indexed++
	}
	set, err := cidrB.IPSet()
	if err != nil {
		set = &netipx.IPSet{}
	}
	s.cidrSet = set
	for l := 128 + 1000; l >= 0; l-- {
		switch {
		case l >= 1000 && lens[l]:
			s.lens6 = append(s.lens6, l-1000)
		case l <= 32 && lens[l]:
			s.lens4 = append(s.lens4, l)
		}
	}
	keys := len(s.ips) + len(s.cidrs)
	for _, m := range s.strs {
		keys += len(m)
	}
	s.filter = newFilter(keys, maphash.MakeSeed())
	for a := range s.ips {
		s.filter.add(addrHash(a, 0))
	}
	for p := range s.cidrs {
		s.filter.add(addrHash(p.Addr(), p.Bits()+1))
	}
	for k, m := range s.strs {
		for key := range m {
			s.filter.add(s.filter.strHash(Kind(k), key))
		}
	}
	for kind, pats := range subOrder {
		if len(pats) == 0 {
			continue
		}
		b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{AsciiCaseInsensitive: true, MatchKind: ahocorasick.StandardMatch, DFA: len(pats) < 20000})
		strs := make([]string, len(pats))
		heads := make([]int32, len(pats))
		for i, p := range pats {
			strs[i] = p.pat
			heads[i] = subPats[p]
		}
		s.subs[kind] = &substrings{gate: newGate(strs), ac: b.Build(strs), heads: heads}
	}
	return s, st
}

// stringKey maps an atomic indicator to the observable kind and key it is
// looked up by.
func stringKey(t intel.Type, v string) (Kind, string, bool) {
	switch t {
	case intel.TypeDomain:
		return KindDomain, v, true
	case intel.TypeURL:
		return KindURL, v, true
	case intel.TypeMD5, intel.TypeSHA1, intel.TypeSHA256:
		return KindHash, v, true
	case intel.TypeEmail:
		return KindEmail, v, true
	case intel.TypeRegistryKey:
		return KindRegistryKey, strings.ToLower(v), true
	case intel.TypeMutex:
		return KindMutex, v, true
	case intel.TypeJA3:
		return KindJA3, v, true
	case intel.TypeJA4:
		return KindJA4, v, true
	}
	return 0, "", false
}

func isRegex(ind *intel.Indicator) bool {
	for _, t := range ind.Tags {
		if t == "regex" {
			return true
		}
	}
	return false
}

// requiredLiteral returns a string that every value matching the indicator
// must contain: the indicator itself for user agents, the longest run
// between wildcards for globs, and the longest literal of a top-level
// concatenation for regular expressions (LOKI filename IOCs).
func requiredLiteral(ind *intel.Indicator) (string, bool) {
	if ind.Type == intel.TypeUserAgent {
		return ind.Value, ind.Value != ""
	}
	if isRegex(ind) {
		re, err := syntax.Parse(ind.Value, syntax.Perl)
		if err != nil {
			return "", false
		}
		lit := longestLiteral(re.Simplify())
		return lit, len(lit) >= 3
	}
	best := ""
	for _, part := range strings.FieldsFunc(ind.Value, func(r rune) bool { return r == '*' || r == '?' }) {
		if len(part) > len(best) {
			best = part
		}
	}
	return best, best != ""
}

func longestLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return longestLiteral(re.Sub[0])
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := longestLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// MatchObservation evaluates the complex STIX-pattern indicators visible to
// tenant against one observation (a field map keyed by STIX object path,
// see stixpattern.Observed) and appends a hit, with a zero Observable, for
// each pattern it satisfies. Its cost grows with the number of patterns, so
// callers give it only events that carry STIX-addressable fields.
func (s *Snapshot) MatchObservation(dst []Hit, tenant string, obs stixpattern.Observed) []Hit {
	for _, pe := range s.patterns {
		e := &s.entries[pe.entry]
		if (e.TenantID == "" || e.TenantID == tenant) && pe.p.Match([]stixpattern.Observed{obs}) {
			dst = append(dst, Hit{Entry: e})
		}
	}
	return dst
}

// Len returns the number of indexed entries.
func (s *Snapshot) Len() int { return len(s.entries) }

// urlHost returns the host of a URL without scheme, user info or port,
// without allocating.
func urlHost(v string) string {
	if i := strings.Index(v, "://"); i >= 0 {
		v = v[i+3:]
	}
	if i := authorityEnd(v); i >= 0 {
		v = v[:i]
	}
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		v = v[i+1:]
	}
	if strings.HasPrefix(v, "[") {
		if i := strings.IndexByte(v, ']'); i >= 0 {
			return v[:i+1]
		}
		return ""
	}
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[:i]
	}
	return v
}

// authorityEnd returns the index of the first '/', '?' or '#' in v, or -1:
// strings.IndexAny would build its byte set on every call.
func authorityEnd(v string) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '/' || c == '?' || c == '#' {
			return i
		}
	}
	return -1
}

// needsCanonical reports whether v may differ from its canonical form: an
// upper-case letter in scheme or host, an explicit port, a fragment, a
// missing path or a defanged spelling.
func needsCanonical(v string) bool {
	i := strings.Index(v, "://")
	if i < 0 {
		return true
	}
	rest := v[i+3:]
	end := authorityEnd(rest)
	if end < 0 {
		return true
	}
	for j := 0; j < i+3+end; j++ {
		c := v[j]
		if 'A' <= c && c <= 'Z' || c == ':' && j > i || c == '[' {
			return true
		}
	}
	return rest[end] != '/' || strings.IndexByte(rest, '#') >= 0
}

func (s *Snapshot) matchSubstrings(dst []Hit, tenant string, o Observable) []Hit {
	sub := s.subs[o.Kind]
	if sub == nil || !sub.gate.mayContain(o.Value) {
		return dst
	}
	// The automaton only reads the bytes; converting without a copy keeps
	// the hot path free of allocations.
	hay := unsafe.Slice(unsafe.StringData(o.Value), len(o.Value))
	it := sub.ac.IterOverlappingByte(hay)
	for m := it.Next(); m != nil; m = it.Next() {
		for i := sub.heads[m.Pattern()]; i != none; i = s.next[i] {
			e := &s.entries[i]
			if (e.TenantID == "" || e.TenantID == tenant) && s.confirm(i, o) {
				dst = append(dst, Hit{Entry: e, Observable: o})
			}
		}
	}
	return dst
}

// confirm checks the whole indicator after its literal was found: user
// agents match on the substring alone; filename globs are matched against
// the base name, case-insensitively; regular expressions against the full
// path as LOKI does.
func (s *Snapshot) confirm(i int32, o Observable) bool {
	e := &s.entries[i]
	if e.Type == intel.TypeUserAgent {
		return true
	}
	if re, ok := s.res[i]; ok {
		return re.MatchString(o.Value)
	}
	base := o.Value
	if i := strings.LastIndexAny(base, `\/`); i >= 0 && !strings.ContainsAny(e.Value, `\/`) {
		base = base[i+1:]
	}
	ok, err := path.Match(strings.ToLower(e.Value), strings.ToLower(base))
	return err == nil && ok
}

// lowerASCII returns s in lower case, allocating only when s has an
// upper-case ASCII letter.
func lowerASCII(s string) string {
	if hasUpperASCII(s) {
		return strings.ToLower(s)
	}
	return s
}

// hasUpperASCII reports whether s has a byte in 'A'..'Z'. It tests eight
// bytes at a time (the "hasbetween" bit trick: a byte's high bit is set in
// t exactly when 'A'-1 < byte < 'Z'+1), since hashes and domains, the
// common observables, are long and already lower case.
func hasUpperASCII(s string) bool {
	const (
		ones  = 0x0101010101010101
		low7  = ones * 127
		highs = ones * 128
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		x7 := x & low7
		if (ones*(127+'Z'+1)-x7)&^x&(x7+ones*(127-('A'-1)))&highs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// Matcher holds the current Snapshot. Readers call Load (or Match) without
// locks; a writer builds a new Snapshot and Stores it. The zero value is
// ready and matches nothing.
type Matcher struct {
	cur atomic.Pointer[Snapshot]
}

// Load returns the current snapshot, never nil.
func (m *Matcher) Load() *Snapshot {
	if s := m.cur.Load(); s != nil {
		return s
	}
	return emptySnapshot()
}

// Store makes s the current snapshot; matches already running finish on the
// old one.
func (m *Matcher) Store(s *Snapshot) { m.cur.Store(s) }

// Match matches one event's observables against the current snapshot.
func (m *Matcher) Match(dst []Hit, tenant string, obs []Observable) []Hit {
	return m.Load().MatchAll(dst, tenant, obs)
}

func emptySnapshot() *Snapshot {
	s, _ := Build(nil, time.Time{})
	return s
}
