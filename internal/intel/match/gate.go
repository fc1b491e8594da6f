package match

import "strings"

// gate is a cheap necessary condition in front of an Aho-Corasick automaton.
// For every pattern it remembers one 4-byte window (case-folded), chosen to
// be as rare as possible in ordinary text; a haystack in which none of the
// remembered windows occurs cannot contain any pattern, and that is the
// answer for nearly every benign user agent or path, for a few nanoseconds
// per byte instead of the automaton's walk. Patterns shorter than four bytes
// disable the gate.
type gate struct {
	bits []uint64 // 1<<gateBits bits, one per hashed 4-byte window
	bi   []uint64 // 1<<16 bits, one per first two bytes of a window: a cheaper first test
	off  bool     // a pattern is too short to gate: always run the automaton
}

const gateBits = 20

func newGate(patterns []string) gate {
	g := gate{bits: make([]uint64, 1<<gateBits/64), bi: make([]uint64, 1<<16/64)}
	for _, p := range patterns {
		p = strings.ToLower(p)
		if len(p) < 4 {
			g.off = true
			continue
		}
		best, bestScore := 0, 1<<30
		for i := 0; i+4 <= len(p); i++ {
			s := 0
			for j := i; j < i+4; j++ {
				s += commonness(p[j])
			}
			if s < bestScore {
				best, bestScore = i, s
			}
		}
		h := gramHash((uint32(p[best]) | uint32(p[best+1])<<8 | uint32(p[best+2])<<16 | uint32(p[best+3])<<24) | fold4)
		g.bits[h/64] |= 1 << (h % 64)
		// mayContain looks at every other position only, so a window
		// starting at an odd position is found by its second bigram.
		for _, b := range [2]uint16{uint16(p[best]) | uint16(p[best+1])<<8, uint16(p[best+1]) | uint16(p[best+2])<<8} {
			b |= fold2
			g.bi[b/64] |= 1 << (b % 64)
		}
	}
	return g
}

// commonness ranks a byte by how often it appears in user agents, paths
// and URLs: letters and common punctuation high, digits and rare symbols
// low, so windows with digits and unusual characters are preferred.
func commonness(c byte) int {
	switch {
	case c == ' ' || c == '/' || c == '.' || c == '\\' || c == ';' || c == '(' || c == ')':
		return 9
	case strings.IndexByte("etaoinsrhlcdmuw", c) >= 0:
		return 8
	case 'a' <= c && c <= 'z':
		return 5
	case '0' <= c && c <= '9':
		return 4
	}
	return 1
}

func gramHash(g uint32) uint32 { return (g * 0x9e3779b1) >> (32 - gateBits) }

// fold maps upper-case ASCII letters to lower case by setting bit 5 of
// every byte, which also folds a few punctuation pairs ('@' and '`', '['
// and '{'): harmless in a necessary condition, and branch-free.
const fold2, fold4 = 0x2020, 0x20202020

// mayContain reports whether s can contain one of the gate's patterns. It
// tests the bigram at every even position p: a remembered window starting
// at p has its first bigram there, one starting at p-1 its second; only
// then does it test the two 4-byte windows.
func (g *gate) mayContain(s string) bool {
	if g.off {
		return true
	}
	for p := 0; p+3 <= len(s); p += 2 {
		b := (uint16(s[p]) | uint16(s[p+1])<<8) | fold2
		if g.bi[b/64]&(1<<(b%64)) == 0 {
			continue
		}
		if p+4 <= len(s) && g.has(s[p:p+4]) || p >= 1 && g.has(s[p-1:p+3]) {
			return true
		}
	}
	return false
}

// has reports whether the 4-byte window w is remembered.
func (g *gate) has(w string) bool {
	h := gramHash((uint32(w[0]) | uint32(w[1])<<8 | uint32(w[2])<<16 | uint32(w[3])<<24) | fold4)
	return g.bits[h/64]&(1<<(h%64)) != 0
}
