package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/stixpattern"
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func ind(id string, t intel.Type, v string) intel.Indicator {
	return intel.Indicator{ID: id, Type: t, Value: v, Confidence: 80}
}

func hitIDs(hits []Hit) []string {
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Entry.ID)
	}
	sort.Strings(ids)
	return ids
}

func TestMatch(t *testing.T) {
	inds := []intel.Indicator{
		ind("ip", intel.TypeIPv4, "92.168.1.1"),
		ind("ip6", intel.TypeIPv6, "2001:db8::1"),
		ind("net", intel.TypeCIDR, "45.154.0.0/16"),
		ind("net24", intel.TypeCIDR, "45.154.244.0/24"),
		ind("dom", intel.TypeDomain, "evil.com"),
		ind("url", intel.TypeURL, "http://bad.example.net/payload.exe"),
		ind("md5", intel.TypeMD5, "d41d8cd98f00b204e9800998ecf8427e"),
		ind("mail", intel.TypeEmail, "ceo@phish.jp"),
		ind("ua", intel.TypeUserAgent, "Mozilla/4.0 (compatible; MSIE 6.0; Evil"),
		ind("glob", intel.TypeFilename, "mimi*.exe"),
		ind("file", intel.TypeFilename, "psexesvc.exe"),
		{ID: "re", Type: intel.TypeFilename, Value: `(?i)\\AppData\\Local\\Temp\\svchost\.exe`, Tags: []string{"regex"}},
		ind("reg", intel.TypeRegistryKey, `HKEY_CURRENT_USER\Software\CryptoLocker`),
		ind("ja3", intel.TypeJA3, "e7d705a3286e19ea42f587b344ee6865"),
		{ID: "tenant-a", TenantID: "a", Type: intel.TypeDomain, Value: "only-a.com"},
		{ID: "expired", Type: intel.TypeDomain, Value: "old.com", ValidUntil: now.Add(-time.Hour)},
		{ID: "allowed", Type: intel.TypeDomain, Value: "google.com", Allowlisted: "well-known"},
		{ID: "pattern", Type: intel.TypeSTIXPattern, Value: "[a:b = 1] AND [c:d = 2]"},
	}
	s, st := Build(inds, now)
	if st.Indexed != 16 || st.Skipped != 2 {
		t.Fatalf("Build stats = %+v, want 16 indexed, 2 skipped", st)
	}
	obs := stixpattern.Observed{Fields: map[string]any{"a:b": int64(1), "c:d": int64(2)}}
	if got := hitIDs(s.MatchObservation(nil, "x", obs)); fmt.Sprint(got) != "[pattern]" {
		t.Errorf("MatchObservation = %v, want [pattern]", got)
	}
	obs.Fields["c:d"] = int64(3)
	if got := s.MatchObservation(nil, "x", obs); len(got) != 0 {
		t.Errorf("MatchObservation on a non-matching observation = %v", hitIDs(got))
	}
	tests := []struct {
		tenant string
		o      Observable
		want   []string
	}{
		{"x", Observable{KindIP, "92.168.1.1"}, []string{"ip"}},
		{"x", Observable{KindIP, "192.168.1.1"}, nil},
		{"x", Observable{KindIP, "92.168.1.10"}, nil},
		{"x", Observable{KindIP, "::ffff:92.168.1.1"}, []string{"ip"}},
		{"x", Observable{KindIP, "2001:db8:0::1"}, []string{"ip6"}},
		{"x", Observable{KindIP, "45.154.244.193"}, []string{"net", "net24"}},
		{"x", Observable{KindIP, "45.154.1.1"}, []string{"net"}},
		{"x", Observable{KindIP, "45.155.1.1"}, nil},
		{"x", Observable{KindDomain, "evil.com"}, []string{"dom"}},
		{"x", Observable{KindDomain, "a.b.EVIL.com."}, []string{"dom"}},
		{"x", Observable{KindDomain, "notevil.com"}, nil},
		{"x", Observable{KindDomain, "evil.com.au"}, nil},
		{"x", Observable{KindURL, "http://bad.example.net/payload.exe"}, []string{"url"}},
		{"x", Observable{KindURL, "HTTP://BAD.example.net:80/payload.exe#x"}, []string{"url"}},
		{"x", Observable{KindURL, "https://cdn.evil.com/x?y=1"}, []string{"dom"}},
		{"x", Observable{KindURL, "http://92.168.1.1:8080/gate.php"}, []string{"ip"}},
		{"x", Observable{KindURL, "http://bad.example.net/payload.exe.txt"}, nil},
		{"x", Observable{KindHash, "D41D8CD98F00B204E9800998ECF8427E"}, []string{"md5"}},
		{"x", Observable{KindEmail, "CEO@phish.jp"}, []string{"mail"}},
		{"x", Observable{KindUserAgent, "Mozilla/4.0 (compatible; MSIE 6.0; Evil Bot)"}, []string{"ua"}},
		{"x", Observable{KindUserAgent, "Mozilla/5.0"}, nil},
		{"x", Observable{KindFilename, `C:\Users\a\Downloads\Mimikatz64.exe`}, []string{"glob"}},
		{"x", Observable{KindFilename, `C:\Users\a\Downloads\mimikatz.dll`}, nil},
		{"x", Observable{KindFilename, `C:\Windows\PSEXESVC.EXE`}, []string{"file"}},
		{"x", Observable{KindFilename, `C:\Users\a\AppData\Local\Temp\svchost.exe`}, []string{"re"}},
		{"x", Observable{KindFilename, `C:\Windows\System32\svchost.exe`}, nil},
		{"x", Observable{KindRegistryKey, `hkey_current_user\software\cryptolocker`}, []string{"reg"}},
		{"x", Observable{KindJA3, "e7d705a3286e19ea42f587b344ee6865"}, []string{"ja3"}},
		{"a", Observable{KindDomain, "www.only-a.com"}, []string{"tenant-a"}},
		{"b", Observable{KindDomain, "www.only-a.com"}, nil},
		{"x", Observable{KindDomain, "old.com"}, nil},
		{"x", Observable{KindDomain, "google.com"}, nil},
	}
	for _, tt := range tests {
		got := hitIDs(s.Match(nil, tt.tenant, tt.o))
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Match(%s, %v) = %v, want %v", tt.tenant, tt.o, got, tt.want)
		}
	}
}

func TestMatchAllOncePerHost(t *testing.T) {
	s, _ := Build([]intel.Indicator{ind("dom", intel.TypeDomain, "evil.com"), ind("ip", intel.TypeIPv4, "1.2.3.4")}, now)
	ev := []Observable{{KindDomain, "www.evil.com"}, {KindURL, "http://www.evil.com/x"}, {KindURL, "http://1.2.3.4/"}, {KindURL, "http://cdn.evil.com/y"}}
	if got := hitIDs(s.MatchAll(nil, "t", ev)); fmt.Sprint(got) != "[dom dom ip]" {
		t.Errorf("MatchAll = %v, want one domain hit per distinct host and the IP", got)
	}
}

func TestMatcherSwap(t *testing.T) {
	var m Matcher
	o := []Observable{{KindDomain, "evil.com"}}
	if hits := m.Match(nil, "t", o); len(hits) != 0 {
		t.Fatalf("zero Matcher matched %v", hits)
	}
	s1, _ := Build([]intel.Indicator{ind("one", intel.TypeDomain, "evil.com")}, now)
	m.Store(s1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			if hits := m.Match(nil, "t", o); len(hits) != 1 {
				t.Errorf("concurrent Match during swap = %d hits, want 1", len(hits))
				return
			}
		}
	}()
	s2, _ := Build([]intel.Indicator{ind("two", intel.TypeDomain, "evil.com")}, now)
	m.Store(s2)
	<-done
	if hits := m.Match(nil, "t", o); len(hits) != 1 || hits[0].Entry.ID != "two" {
		t.Fatalf("after swap got %v", hitIDs(hits))
	}
}

// corpus returns n synthetic indicators in the proportions a large feed
// has: mostly IPs, domains and hashes, some URLs and CIDRs, a few
// substring indicators.
func corpus(n int) []intel.Indicator {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]intel.Indicator, 0, n)
	for i := range n {
		var v string
		var t intel.Type
		switch k := i % 100; {
		case k < 40:
			t, v = intel.TypeIPv4, netip.AddrFrom4([4]byte{byte(1 + r.IntN(220)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}).String()
		case k < 45:
			t, v = intel.TypeCIDR, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(220)), byte(r.IntN(256)), byte(r.IntN(256)), 0}), 24).String()
		case k < 75:
			t, v = intel.TypeDomain, fmt.Sprintf("x%08x.example%d.com", r.Uint32(), i%97)
		case k < 90:
			t, v = intel.TypeSHA256, fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		case k < 98:
			t, v = intel.TypeURL, fmt.Sprintf("http://u%08x.example.net/gate%d.php", r.Uint32(), i)
		default:
			if i%1000 < 990 {
				t, v = intel.TypeEmail, fmt.Sprintf("a%08x@phish.example.org", r.Uint32())
			} else {
				t, v = intel.TypeUserAgent, fmt.Sprintf("EvilBot/%d.%d", i, r.IntN(100))
			}
		}
		out = append(out, intel.Indicator{ID: fmt.Sprintf("indicator--%08d", i), Type: t, Value: v, Confidence: 70})
	}
	return out
}

// events returns n events of 6 observables each; about 1 in 100 carries a
// value from inds so the hit path is exercised too.
func events(n int, inds []intel.Indicator) [][]Observable {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([][]Observable, n)
	for i := range out {
		ev := []Observable{
			{KindIP, netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()},
			{KindIP, netip.AddrFrom4([4]byte{byte(1 + r.IntN(220)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()},
			{KindDomain, fmt.Sprintf("www.site%d.example.com", r.IntN(100000))},
			{KindURL, fmt.Sprintf("https://www.site%d.example.com/index.html?q=%d", r.IntN(100000), r.IntN(1000))},
			{KindHash, fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())},
			{KindUserAgent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		}
		if i%100 == 0 {
			x := inds[r.IntN(len(inds))]
			switch x.Type {
			case intel.TypeIPv4:
				ev[1].Value = x.Value
			case intel.TypeDomain:
				ev[2].Value = "sub." + x.Value
			case intel.TypeSHA256:
				ev[4].Value = x.Value
			}
		}
		out[i] = ev
	}
	return out
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMatch1M measures matching with 1,000,000 indicators loaded. One
// op is one event of six observables; events/s is per core (the benchmark
// runs on one goroutine). snapshot-MB is the runtime.MemStats heap delta of
// the built snapshot alone, after the input slice is released.
func BenchmarkMatch1M(b *testing.B) { benchMatch(b, 1_000_000) }

// BenchmarkMatch10K is the same with 10,000 indicators, whose indexes fit
// in cache: the difference to BenchmarkMatch1M is the cost of memory.
func BenchmarkMatch10K(b *testing.B) { benchMatch(b, 10_000) }

func benchMatch(b *testing.B, n int) {
	inds := corpus(n)
	evs := events(100_000, inds)
	before := heapInUse()
	s, st := Build(inds, now)
	after := heapInUse()
	runtime.KeepAlive(inds)
	inds = nil
	if st.Indexed != n {
		b.Fatalf("indexed %d of %d", st.Indexed, n)
	}
	var hits []Hit
	total := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		hits = s.MatchAll(hits[:0], "tenant", evs[i%len(evs)])
		total += len(hits)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		// The loop runs on one goroutine; GC work on the other core is
		// included, so this is a conservative per-core figure.
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(float64(after-before)/(1<<20), "snapshot-MB")
	if total == 0 {
		b.Fatal("no hits at all: the event generator is broken")
	}
	runtime.KeepAlive(s)
}

// BenchmarkBuild1M measures building a snapshot of 1,000,000 indicators.
func BenchmarkBuild1M(b *testing.B) {
	inds := corpus(1_000_000)
	b.ResetTimer()
	for range b.N {
		Build(inds, now)
	}
	b.ReportMetric(float64(b.N*len(inds))/b.Elapsed().Seconds(), "indicators/s")
}

func TestHasUpperASCII(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := range 17 {
			b := []byte("0123456789abcdef\xff")
			b[pos] = byte(c)
			want := 'A' <= c && c <= 'Z'
			if got := hasUpperASCII(string(b)); got != want {
				t.Fatalf("hasUpperASCII(%q) = %v, want %v", b, got, want)
			}
		}
	}
}

// TestGateNeverMissesAPattern checks the substring gate's promise: a text
// that contains a pattern, in any case and at any offset, always passes.
func TestGateNeverMissesAPattern(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const alpha = "abcXYZ019 /.;-\x80\xff"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 2000 {
		var pats []string
		for range 1 + r.IntN(5) {
			pats = append(pats, strings.ToLower(word(4+r.IntN(8))))
		}
		g := newGate(pats)
		p := pats[r.IntN(len(pats))]
		if r.IntN(2) == 0 {
			b := []byte(p)
			for i, c := range b {
				if 'a' <= c && c <= 'z' {
					b[i] = c - 'a' + 'A'
				}
			}
			p = string(b)
		}
		text := word(r.IntN(9)) + p + word(r.IntN(9))
		if !g.mayContain(text) {
			t.Fatalf("gate of %q refused %q", pats, text)
		}
	}
}
