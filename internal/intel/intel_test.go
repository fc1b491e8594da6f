package intel

import (
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		typ  Type
		in   string
		want string // "" means rejected
	}{
		{TypeIPv4, "1.2.3[.]4", "1.2.3.4"},
		{TypeIPv4, " 8.8.4.4 ", "8.8.4.4"},
		{TypeIPv4, "::ffff:1.2.3.4", "1.2.3.4"},
		{TypeIPv4, "0.0.0.0", ""},
		{TypeIPv4, "127.0.0.1", ""},
		{TypeIPv4, "255.255.255.255", ""},
		{TypeIPv4, "1.2.3.256", ""},
		{TypeIPv4, "2001:db8::1", ""},
		{TypeIPv6, "2001:DB8:0:0::1", "2001:db8::1"},
		{TypeIPv6, "fe80::1%eth0", ""},
		{TypeCIDR, "10.1.2.3/8", "10.0.0.0/8"},
		{TypeCIDR, "1.0.0.0/4", ""},
		{TypeCIDR, "198.51.100.1", "198.51.100.1/32"},
		{TypeDomain, "Evil[.]Example(.)COM.", "evil.example.com"},
		{TypeDomain, "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{TypeDomain, "bücher.example", "xn--bcher-kva.example"},
		{TypeDomain, "例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{TypeDomain, "localhost", ""},
		{TypeDomain, "1.2.3", ""},
		{TypeDomain, "-bad.com", ""},
		{TypeDomain, "a..com", ""},
		{TypeDomain, "homeowner.com", "homeowner.com"},
		{TypeDomain, "co.jp", ""},
		{TypeDomain, "github.io", ""},
		{TypeDomain, "evil.github.io", "evil.github.io"},
		{TypeURL, "hxxps://Evil[.]COM:443/a?b=c#frag", "https://evil.com/a?b=c"},
		{TypeURL, "hxxp[:]//evil[.]com:8080", "http://evil.com:8080/"},
		{TypeURL, "evil.com/path", "http://evil.com/path"},
		{TypeURL, "http://[2001:db8::1]/x", "http://[2001:db8::1]/x"},
		{TypeURL, "http://127.0.0.1/x", ""},
		{TypeURL, "http:///nohost", ""},
		{TypeURL, "http://evil.example/a?b='c'", "http://evil.example/a?b='c'"},
		{TypeURL, "\"http://evil.example/x\"", "http://evil.example/x"},
		{TypeDomain, "<evil.example>", "evil.example"},
		{TypeMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{TypeMD5, "d41d8cd98f00b204e9800998ecf8427", ""},
		{TypeSHA256, "zz1d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427e", ""},
		{TypeSHA1, "0000000000000000000000000000000000000000", ""},
		{TypeEmail, "Bad.Guy[at]Evil[.]com", "bad.guy@evil.com"},
		{TypeEmail, "nobody", ""},
		{TypeRegistryKey, `hklm\Software\\Run\`, `HKEY_LOCAL_MACHINE\Software\Run`},
		{TypeRegistryKey, `Software\Run`, ""},
		{TypeJA4, "t13d1516h2_8daaf6152771_b186095e22b6", "t13d1516h2_8daaf6152771_b186095e22b6"},
		{TypeJA4, "t13d1516h2_8daaf615277", ""},
		{TypeFilename, `\\tmp\.exe`, `\\tmp\.exe`},
		{TypeSTIXPattern, "[ipv4-addr:value == '1.2.3.4']", "[ipv4-addr:value = '1.2.3.4']"},
		{TypeSTIXPattern, "[ipv4-addr:value = ]", ""},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.typ, tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Normalize(%s, %q) = %q, want rejection", tt.typ, tt.in, got)
			} else if tansa.KindOf(err) != tansa.Invalid {
				t.Errorf("Normalize(%s, %q) error kind = %v, want invalid", tt.typ, tt.in, tansa.KindOf(err))
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%s, %q) = %q, %v; want %q", tt.typ, tt.in, got, err, tt.want)
		}
	}
}

func TestGuess(t *testing.T) {
	tests := []struct {
		in   string
		typ  Type
		want string
	}{
		{"1.2.3.4", TypeIPv4, "1.2.3.4"},
		{"1.2.3.0/24", TypeCIDR, "1.2.3.0/24"},
		{"1.2.3.4/32", TypeIPv4, "1.2.3.4"},
		{"2001:db8::/48", TypeCIDR, "2001:db8::/48"},
		{"evil[.]com", TypeDomain, "evil.com"},
		{"hxxp://evil.com/x", TypeURL, "http://evil.com/x"},
		{"evil.com/x.php", TypeURL, "http://evil.com/x.php"},
		{"a@b.com", TypeEmail, "a@b.com"},
		{"D41D8CD98F00B204E9800998ECF8427E", TypeMD5, "d41d8cd98f00b204e9800998ecf8427e"},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", TypeSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{`HKCU\Software\Evil`, TypeRegistryKey, `HKEY_CURRENT_USER\Software\Evil`},
	}
	for _, tt := range tests {
		typ, got, err := Guess(tt.in)
		if err != nil || typ != tt.typ || got != tt.want {
			t.Errorf("Guess(%q) = %s %q %v; want %s %q", tt.in, typ, got, err, tt.typ, tt.want)
		}
	}
	for _, bad := range []string{"", "not a value", "abcdef0123", "0.0.0.0"} {
		if typ, got, err := Guess(bad); err == nil {
			t.Errorf("Guess(%q) = %s %q, want rejection", bad, typ, got)
		}
	}
}

func TestDecay(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := Indicator{Confidence: 80, ValidFrom: t0, Decay: Decay{Model: DecayExponential, HalfLife: 24 * time.Hour}}
	lin := Indicator{Confidence: 80, ValidFrom: t0, ValidUntil: t0.Add(10 * 24 * time.Hour), Decay: Decay{Model: DecayLinear}}
	none := Indicator{Confidence: 80, ValidFrom: t0, ValidUntil: t0.Add(24 * time.Hour)}
	tests := []struct {
		name string
		ind  Indicator
		at   time.Time
		want int
	}{
		{"exp at start", exp, t0, 80},
		{"exp one half-life", exp, t0.Add(24 * time.Hour), 40},
		{"exp two half-lives", exp, t0.Add(48 * time.Hour), 20},
		{"before valid", exp, t0.Add(-time.Hour), 0},
		{"linear half way", lin, t0.Add(5 * 24 * time.Hour), 40},
		{"linear at end", lin, t0.Add(10 * 24 * time.Hour), 0},
		{"none inside", none, t0.Add(time.Hour), 80},
		{"none after", none, t0.Add(25 * time.Hour), 0},
	}
	for _, tt := range tests {
		if got := tt.ind.ConfidenceAt(tt.at); got != tt.want {
			t.Errorf("%s: ConfidenceAt = %d, want %d", tt.name, got, tt.want)
		}
	}
	seen := exp
	seen.LastSeen = t0.Add(48 * time.Hour)
	if got := seen.ConfidenceAt(t0.Add(48 * time.Hour)); got != 80 {
		t.Errorf("a fresh sighting should reset decay: got %d, want 80", got)
	}
	if !none.Active(t0) || none.Active(t0.Add(24*time.Hour)) {
		t.Error("Active does not honour the validity window")
	}
}

func TestValidateAndMerge(t *testing.T) {
	bad := []Indicator{
		{Type: "nope", Value: "x"},
		{Type: TypeIPv4},
		{Type: TypeIPv4, Value: "1.2.3.4", Confidence: 101},
		{Type: TypeIPv4, Value: "1.2.3.4", TLP: "purple"},
		{Type: TypeIPv4, Value: "1.2.3.4", ValidFrom: time.Unix(10, 0), ValidUntil: time.Unix(5, 0)},
		{Type: TypeIPv4, Value: "1.2.3.4", Decay: Decay{Model: DecayExponential}},
	}
	for _, ind := range bad {
		if err := ind.Validate(); tansa.KindOf(err) != tansa.Invalid {
			t.Errorf("Validate(%+v) = %v, want an invalid error", ind, err)
		}
	}
	a := Indicator{Type: TypeDomain, Value: "evil.com", Confidence: 50, TLP: TLPGreen, Tags: []string{"a"},
		Context: Context{ThreatActors: []string{"APT1"}}}
	b := Indicator{Type: TypeDomain, Value: "evil.com", Confidence: 70, TLP: TLPAmber, Tags: []string{"a", "b"},
		Techniques: []string{"T1071"}, Context: Context{ThreatActors: []string{"APT1", "Comment Crew"}, Handling: "block"}}
	a.Merge(&b)
	if a.Confidence != 70 || a.TLP != TLPAmber || len(a.Tags) != 2 || len(a.Context.ThreatActors) != 2 ||
		a.Context.Handling != "block" || len(a.Techniques) != 1 {
		t.Errorf("Merge gave %+v", a)
	}
	if a.Key() != b.Key() {
		t.Error("same tenant, type and value must give the same key")
	}
}

func TestParseTLP(t *testing.T) {
	for in, want := range map[string]TLP{"TLP:WHITE": TLPClear, "tlp:clear": TLPClear, "AMBER+STRICT": TLPAmberStrict, "Red": TLPRed, "": ""} {
		if got, err := ParseTLP(in); err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTLP("tlp:pink"); err == nil {
		t.Error("ParseTLP accepted an unknown label")
	}
}

func TestAllowlist(t *testing.T) {
	a, err := DefaultAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	a, err = a.With("tenant's own domain", []string{"corp.example.jp"}, []string{"203.0.114.7"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ   Type
		value string
		hit   bool
	}{
		{TypeDomain, "update.microsoft.com", true},
		{TypeDomain, "microsoft.com.evil.ru", false},
		{TypeDomain, "amazonaws.com", true},
		{TypeDomain, "evil-bucket.s3.amazonaws.com", false},
		{TypeDomain, "mail.corp.example.jp", true},
		{TypeURL, "https://docs.google.com/x", true},
		{TypeURL, "http://8.8.8.8/", true},
		{TypeEmail, "ceo@corp.example.jp", true},
		{TypeIPv4, "104.16.1.1", true},
		{TypeIPv4, "203.0.114.7", true},
		{TypeIPv4, "45.154.244.193", false},
		{TypeIPv6, "2606:4700:4700::1111", true},
		{TypeCIDR, "10.1.0.0/16", true},
		{TypeCIDR, "0.0.0.0/1", true},
		{TypeCIDR, "45.0.0.0/8", false},
		{TypeMD5, "d41d8cd98f00b204e9800998ecf8427e", false},
	}
	for _, tt := range tests {
		if _, hit := a.Check(tt.typ, tt.value); hit != tt.hit {
			t.Errorf("Check(%s, %q) = %v, want %v", tt.typ, tt.value, hit, tt.hit)
		}
	}
	ind := Indicator{Type: TypeDomain, Value: "login.live.com"}
	if !a.Flag(&ind) || ind.Allowlisted == "" {
		t.Error("Flag did not mark an allowlisted indicator")
	}
	if _, err := a.With("x", []string{"not a domain"}, nil); err == nil {
		t.Error("With accepted an invalid domain")
	}
}

// FuzzNormalize checks that Normalize never panics, that what it accepts
// is a fixed point, and that Guess agrees with it.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"hxxp://evil[.]com:80/a#b", "1.2.3[.]4", "bücher.example", "a(at)b[.]jp", `hklm\x`, "2001:db8::/48", "t13d1516h2_8daaf6152771_b186095e22b6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range Types() {
			n, err := Normalize(typ, s)
			if err != nil {
				continue
			}
			again, err := Normalize(typ, n)
			if err != nil || again != n {
				t.Fatalf("Normalize(%s, %q) = %q, but normalising that gives %q, %v", typ, s, n, again, err)
			}
		}
		if typ, n, err := Guess(s); err == nil {
			if again, err := Normalize(typ, n); err != nil || again != n {
				t.Fatalf("Guess(%q) = %s %q, which Normalize turns into %q, %v", s, typ, n, again, err)
			}
		}
	})
}
