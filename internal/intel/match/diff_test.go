package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

// hitsString renders hits in order with what matched, so that two matchers
// agree only if they report the same indicators for the same observables
// in the same order.
func hitsString(hits []Hit) string {
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "%s<-%d:%s;", h.Entry.ID, h.Observable.Kind, h.Observable.Value)
	}
	return b.String()
}

// diffWorld is a small random world in which indicator values and event
// values are drawn from the same few pieces, so that events hit indicators
// often, in every way the matcher knows: exact, case-folded, parent
// domains, CIDRs of several lengths, canonicalised URLs, tenants.
type diffWorld struct {
	r *rand.Rand
}

func (w diffWorld) pick(xs ...string) string { return xs[w.r.IntN(len(xs))] }

func (w diffWorld) ip() string {
	switch w.r.IntN(4) {
	case 0:
		return fmt.Sprintf("10.0.%d.%d", w.r.IntN(3), w.r.IntN(4))
	case 1:
		return fmt.Sprintf("2001:db8::%x", w.r.IntN(4))
	case 2:
		return fmt.Sprintf("::ffff:10.0.%d.%d", w.r.IntN(3), w.r.IntN(4))
	}
	return w.pick("", "x", "1.2.3", "10.0.0.1%eth0", "fe80::1%eth0", "[10.0.0.1]", ":::")
}

func (w diffWorld) domain() string {
	d := w.pick("evil.com", "a.evil.com", "b.a.evil.com", "notevil.com", "evil.com.au", "x.y", "z")
	if w.r.IntN(4) == 0 {
		d = strings.ToUpper(d)
	}
	if w.r.IntN(6) == 0 {
		d += "."
	}
	return d
}

func (w diffWorld) url() string {
	host := w.pick(w.domain(), "10.0.0.1", "[2001:db8::1]", "]10.0.1.2", "")
	u := w.pick("http://", "HTTP://", "https://", "") + w.pick("", "user@") + host + w.pick("", ":80", ":8080") + w.pick("", "/", "/p", "/p?q=1", "/p#f")
	return u
}

func (w diffWorld) indicators(n int) []intel.Indicator {
	var out []intel.Indicator
	for i := range n {
		ind := intel.Indicator{ID: fmt.Sprintf("i%d", i), Confidence: 50}
		switch w.r.IntN(10) {
		case 0:
			ind.Type, ind.Value = intel.TypeIPv4, fmt.Sprintf("10.0.%d.%d", w.r.IntN(3), w.r.IntN(4))
		case 1:
			ind.Type, ind.Value = intel.TypeIPv6, fmt.Sprintf("2001:db8::%x", w.r.IntN(4))
		case 2:
			ind.Type, ind.Value = intel.TypeCIDR, w.pick("10.0.0.0/8", "10.0.1.0/24", "10.0.0.0/30", "2001:db8::/64", "10.0.2.0/23", "10.0.0.2/31")
		case 3:
			ind.Type, ind.Value = intel.TypeDomain, w.pick("evil.com", "a.evil.com", "x.y", "evil.com.au")
		case 4:
			ind.Type, ind.Value = intel.TypeURL, w.pick("http://evil.com/", "http://evil.com/p", "http://10.0.0.1/p", "https://a.evil.com/p?q=1")
		case 5:
			ind.Type, ind.Value = intel.TypeMD5, w.pick("d41d8cd98f00b204e9800998ecf8427e", "00000000000000000000000000000000")
		case 6:
			ind.Type, ind.Value = intel.TypeEmail, w.pick("ceo@phish.jp", "a@b.c")
		case 7:
			ind.Type, ind.Value = intel.TypeUserAgent, w.pick("EvilBot", "curl/")
		case 8:
			ind.Type, ind.Value = intel.TypeFilename, w.pick("mimi*.exe", "psexesvc.exe", "a.dll")
		default:
			ind.Type = intel.Type(w.pick(string(intel.TypeMutex), string(intel.TypeJA3), string(intel.TypeRegistryKey)))
			ind.Value = w.pick("Global\\M", "e7d705a3286e19ea42f587b344ee6865", `HKLM\Software\X`)
		}
		if w.r.IntN(5) == 0 {
			ind.TenantID = w.pick("a", "b")
		}
		if w.r.IntN(20) == 0 {
			ind.Allowlisted = "test"
		}
		if w.r.IntN(20) == 0 {
			ind.ValidUntil = now.Add(-time.Hour)
		}
		out = append(out, ind)
	}
	return out
}

func (w diffWorld) event() []Observable {
	n := w.r.IntN(40) // sometimes more steps than one batch holds
	ev := make([]Observable, 0, n)
	for range n {
		var o Observable
		switch w.r.IntN(10) {
		case 0, 1:
			o = Observable{KindIP, w.ip()}
		case 2, 3:
			o = Observable{KindDomain, w.domain()}
		case 4, 5:
			o = Observable{KindURL, w.url()}
		case 6:
			o = Observable{KindHash, w.pick("D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", "ff")}
		case 7:
			o = Observable{w.pick2(KindEmail, KindUserAgent), w.pick("CEO@phish.jp", "Mozilla EvilBot/1", "curl/8", "a@b.c")}
		case 8:
			o = Observable{KindFilename, w.pick(`C:\x\Mimikatz.exe`, `/tmp/a.dll`, `psexesvc.exe`, `C:\b`)}
		default:
			o = Observable{w.pick2(KindMutex, KindJA3, KindJA4, KindRegistryKey, Kind(0), Kind(200)), w.pick("Global\\M", "E7D705A3286E19EA42F587B344EE6865", `hklm\software\x`)}
		}
		ev = append(ev, o)
	}
	return ev
}

func (w diffWorld) pick2(ks ...Kind) Kind { return ks[w.r.IntN(len(ks))] }

// TestMatchAllSameAsReference checks that the batched MatchAll and Match
// report exactly what the matcher before batching did (ref_test.go), hit
// for hit and in the same order, on random indicator sets and events.
func TestMatchAllSameAsReference(t *testing.T) {
	hits := 0
	for seed := range uint64(200) {
		w := diffWorld{rand.New(rand.NewPCG(seed, 7))}
		s, _ := Build(w.indicators(1+w.r.IntN(30)), now)
		for range 50 {
			ev := w.event()
			tenant := w.pick("a", "b", "")
			got, want := s.MatchAll(nil, tenant, ev), s.refMatchAll(nil, tenant, ev)
			if g, w := hitsString(got), hitsString(want); g != w {
				t.Fatalf("seed %d: MatchAll(%q, %v)\n got %s\nwant %s", seed, tenant, ev, g, w)
			}
			hits += len(got)
			for _, o := range ev {
				if g, w := hitsString(s.Match(nil, tenant, o)), hitsString(s.refMatch(nil, tenant, o)); g != w {
					t.Fatalf("seed %d: Match(%q, %v)\n got %s\nwant %s", seed, tenant, o, g, w)
				}
			}
		}
	}
	if hits < 1000 {
		t.Fatalf("only %d hits over all seeds: the random world rarely matches, so the comparison proves little", hits)
	}
}

// TestMatchAllSameAsReferenceLarge does the same with many CIDR lengths
// (the IPSet path) and with the benchmark's corpus and events.
func TestMatchAllSameAsReferenceLarge(t *testing.T) {
	inds := corpus(20_000)
	for l := 8; l <= 32; l++ {
		inds = append(inds, intel.Indicator{ID: fmt.Sprintf("len%d", l), Type: intel.TypeCIDR,
			Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, 2, 3}), l).Masked().String()})
	}
	s, _ := Build(inds, now)
	evs := events(5_000, inds)
	evs = append(evs, []Observable{{KindIP, "10.1.2.3"}, {KindURL, "http://10.1.2.200/"}, {KindIP, "10.200.0.1"}})
	hits := 0
	for _, ev := range evs {
		got, want := s.MatchAll(nil, "tenant", ev), s.refMatchAll(nil, "tenant", ev)
		if g, w := hitsString(got), hitsString(want); g != w {
			t.Fatalf("MatchAll(%v)\n got %s\nwant %s", ev, g, w)
		}
		hits += len(got)
	}
	if hits < 50 {
		t.Fatalf("only %d hits", hits)
	}
}

// FuzzMatchAll compares the batched matcher with the reference on events
// the fuzzer makes up, against a fixed indicator set.
func FuzzMatchAll(f *testing.F) {
	w := diffWorld{rand.New(rand.NewPCG(1, 1))}
	s, _ := Build(w.indicators(60), now)
	f.Add(uint8(KindURL), "HTTP://A.EVIL.COM:80/p#f", uint8(KindIP), "10.0.1.2")
	f.Add(uint8(KindDomain), "b.a.evil.com.", uint8(KindFilename), `C:\x\Mimikatz.exe`)
	f.Add(uint8(KindURL), "http://[2001:db8::1]/", uint8(KindURL), "]10.0.1.2")
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string) {
		ev := []Observable{{Kind(k1 % 13), v1}, {Kind(k2 % 13), v2}, {Kind(k1 % 13), v2}}
		got, want := s.MatchAll(nil, "a", ev), s.refMatchAll(nil, "a", ev)
		if g, w := hitsString(got), hitsString(want); g != w {
			t.Fatalf("MatchAll(%q)\n got %s\nwant %s", ev, g, w)
		}
	})
}
