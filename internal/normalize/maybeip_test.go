package normalize

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// TestMaybeIPKeepsEveryAddress checks that maybeIP, canonicalIP's cheap
// filter, passes every string netip reads as an address or an address and
// port: random strings of the characters it allows, and the shapes of
// addresses.
func TestMaybeIPKeepsEveryAddress(t *testing.T) {
	const alphabet = "0123456789abcdefABCDEF.:[]%"
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80", "1:2:3:4:5:6:7:8", "[1:2:3:4:5:6:7:8]:443",
		"1:2:3:4:5:6:1.2.3.4", "::ffff:1.2.3.4", "fe80::1%1", "1:2:3:4:5:6:7:8%1:2", "1:2:3:4:5:6:7:8%a.b.c"}
	for range 200000 {
		b := make([]byte, 2+rng.IntN(20))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for range 20000 {
		// Address-shaped: groups of digits or hex joined by dots and colons.
		var b []byte
		for g := range 2 + rng.IntN(8) {
			if g > 0 {
				b = append(b, ".:"[rng.IntN(2)])
				if rng.IntN(8) == 0 {
					b = append(b, ':')
				}
			}
			b = strconv.AppendInt(b, int64(rng.IntN(300)), 16-6*rng.IntN(2))
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		_, err1 := netip.ParseAddr(s)
		_, err2 := netip.ParseAddrPort(s)
		if (err1 == nil || err2 == nil) && !maybeIP(s) {
			t.Errorf("maybeIP(%q) = false, but netip reads it", s)
		}
	}
	for _, s := range []string{"13:45:01", "1.2", "2026-11-22", "10:00", "1.2.3.4.5"} {
		if maybeIP(s) {
			t.Errorf("maybeIP(%q) = true, want false", s)
		}
	}
}
