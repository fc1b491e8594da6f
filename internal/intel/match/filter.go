package match

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"
)

// filter is a blocked Bloom filter with four bits per key inside one 64-bit
// word. Almost every observable misses every indicator; the filter answers
// those misses from a few megabytes that stay in cache instead of probing
// maps of a million keys, whose cache misses dominate the cost otherwise.
// With 16 bits per key the false-positive rate is about 0.5 % (it was
// 1.5 % with two bits per key; four cost nothing more, as they sit in the
// same word, and spare two thirds of the map lookups of false positives).
type filter struct {
	words []uint64
	shift uint
	seed  maphash.Seed
}

func newFilter(keys int, seed maphash.Seed) filter {
	n := max(keys*16/64, 1)
	n = 1 << bits.Len(uint(n-1)) // a power of two, so the word index is a shift
	return filter{words: make([]uint64, n), shift: uint(64 - bits.TrailingZeros(uint(n))), seed: seed}
}

func (f *filter) index(h uint64) uint64 {
	if f.shift >= 64 {
		return 0
	}
	return h >> f.shift
}

func (f *filter) add(h uint64) {
	f.words[f.index(h)] |= mask(h)
}

func (f *filter) has(h uint64) bool {
	m := mask(h)
	return f.words[f.index(h)]&m == m
}

// mask returns the bits of h's key in its word, taken from the low bits of
// h; the word index comes from the high bits.
func mask(h uint64) uint64 {
	return 1<<(h&63) | 1<<((h>>6)&63) | 1<<((h>>12)&63) | 1<<((h>>18)&63)
}

// strHash hashes a string key of kind k; different kinds get different
// hashes for the same text.
func (f *filter) strHash(k Kind, s string) uint64 {
	return mix(maphash.String(f.seed, s) ^ uint64(k)*0x9e3779b97f4a7c15)
}

// addrHash hashes an IP address (or a masked prefix with its length).
func addrHash(a netip.Addr, bitsLen int) uint64 {
	if a.Is4() {
		// The common case, without As16's copy and byte swaps.
		b := a.As4()
		return mix(uint64(binary.BigEndian.Uint32(b[:])) | uint64(bitsLen)<<32 | 1<<40)
	}
	b := a.As16()
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	return mix(hi ^ mix(lo^uint64(bitsLen)<<1))
}

// mix is the splitmix64 finaliser: it spreads every input bit over the
// word index and the two bit positions.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
