package intel

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/tansa-sec/tansa/internal/intel/stixpattern"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// MinPrefixBits are the shortest CIDR prefixes Normalize accepts. Anything
// broader is almost certainly a data error and would block a continent.
const (
	MinPrefixBitsIPv4 = 8
	MinPrefixBitsIPv6 = 19
)

// refangPairs undo the usual defanging of shared indicators. Order
// matters: longer forms first so that "[.]" is not half-replaced by ".".
var refangPairs = []string{
	"[://]", "://", "[:]//", "://", "[:]", ":", "(:)", ":",
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "{dot}", ".", " [dot] ", ".", " (dot) ", ".",
	"[@]", "@", "(@)", "@", "[at]", "@", "(at)", "@", "{at}", "@", " [at] ", "@", " (at) ", "@",
	"[/]", "/",
}

// defangedSchemes maps defanged URL schemes to real ones; they are replaced
// only at the start of a value so that "homeowner.com" stays intact.
var defangedSchemes = []struct{ from, to string }{
	{"hxxps", "https"}, {"hxxp", "http"}, {"hxps", "https"}, {"hxp", "http"},
	{"fxp", "ftp"}, {"meows", "https"}, {"meow", "http"},
}

// Refang undoes common defanging ("hxxp://evil[.]com", "a(at)b[.]jp",
// "1.2.3[.]4", "http[:]//") and trims surrounding white space and quotes.
// Use it on network values only (IPs, domains, URLs, e-mail addresses).
// It is idempotent and never fails; validation is Normalize's job.
func Refang(s string) string {
	s = strings.TrimSpace(s)
	// Strip one pair of surrounding quotes or angle brackets, never a lone
	// quote that belongs to the value (a URL query may end in one).
	for len(s) >= 2 {
		f, l := s[0], s[len(s)-1]
		if (f == l && (f == '"' || f == '\'' || f == '`')) || (f == '<' && l == '>') {
			s = strings.TrimSpace(s[1 : len(s)-1])
			continue
		}
		break
	}
	for _, d := range defangedSchemes {
		if len(s) > len(d.from) && strings.EqualFold(s[:len(d.from)], d.from) &&
			(s[len(d.from)] == ':' || s[len(d.from)] == '[' || s[len(d.from)] == '(') {
			s = d.to + s[len(d.from):]
			break
		}
	}
	if !strings.ContainsAny(s, "[({ ") {
		return s
	}
	// Replacing can expose a new defanged form ("[[.].]"); repeat until
	// nothing changes so that Refang is idempotent.
	r := strings.NewReplacer(refangPairs...)
	for range 8 {
		n := r.Replace(s)
		if n == s {
			break
		}
		s = n
	}
	return s
}

var (
	hexRE = regexp.MustCompile(`^[0-9a-f]+$`)
	ja4RE = regexp.MustCompile(`^[tqd][0-9a-z]{2}[di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
)

// Normalize validates raw as a value of type t and returns its canonical
// form: refanged; domains lower-case, without a trailing dot and in
// punycode; IPs in netip's canonical text (IPv4-mapped IPv6 becomes IPv4
// only when t allows it); CIDRs masked; URLs with lower-case scheme and
// host, no default port and no fragment; hashes lower-case hex of the right
// length; STIX patterns re-printed by the parser. Bogus values are rejected
// with an Invalid error whose message gives the reason.
func Normalize(t Type, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	switch t {
	case TypeIPv4, TypeIPv6, TypeCIDR, TypeDomain, TypeURL, TypeEmail:
		// Only network values are shared defanged; filenames, registry
		// keys and patterns contain brackets and dots that mean themselves.
		v = Refang(v)
	}
	if v == "" {
		return "", tansa.Errorf(tansa.Invalid, "%s: empty value", t)
	}
	if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
		return "", tansa.Errorf(tansa.Invalid, "%s %q: not valid UTF-8 text", t, raw)
	}
	switch t {
	case TypeIPv4, TypeIPv6:
		a, err := normalizeIP(v)
		if err != nil {
			return "", err
		}
		if (t == TypeIPv4) != a.Is4() {
			return "", tansa.Errorf(tansa.Invalid, "%s %q: address is of the other IP family", t, raw)
		}
		return a.String(), nil
	case TypeCIDR:
		p, err := normalizePrefix(v)
		if err != nil {
			return "", err
		}
		return p.String(), nil
	case TypeDomain:
		d, err := normalizeDomain(v)
		if err != nil {
			return "", err
		}
		// A suffix such as "co.jp" or "github.io" would match every
		// domain registered under it.
		if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
			return "", tansa.Errorf(tansa.Invalid, "domain %q: is a public suffix and would match every domain under it", raw)
		}
		return d, nil
	case TypeURL:
		return normalizeURL(v)
	case TypeMD5, TypeSHA1, TypeSHA256, TypeJA3:
		h := strings.ToLower(v)
		want := map[Type]int{TypeMD5: 32, TypeSHA1: 40, TypeSHA256: 64, TypeJA3: 32}[t]
		if len(h) != want || !hexRE.MatchString(h) {
			return "", tansa.Errorf(tansa.Invalid, "%s %q: want %d hex digits", t, raw, want)
		}
		if strings.Trim(h, "0") == "" {
			return "", tansa.Errorf(tansa.Invalid, "%s %q: all-zero hash", t, raw)
		}
		return h, nil
	case TypeJA4:
		h := strings.ToLower(v)
		if !ja4RE.MatchString(h) {
			return "", tansa.Errorf(tansa.Invalid, "ja4 %q: not of the form t13d1516h2_8daaf6152771_b186095e22b6", raw)
		}
		return h, nil
	case TypeEmail:
		return normalizeEmail(v)
	case TypeRegistryKey:
		return normalizeRegistryKey(v)
	case TypeFilename, TypeMutex, TypeUserAgent:
		if len(v) > 4096 {
			return "", tansa.Errorf(tansa.Invalid, "%s: value longer than 4096 bytes", t)
		}
		return v, nil
	case TypeSTIXPattern:
		p, err := stixpattern.Parse(strings.TrimSpace(raw))
		if err != nil {
			return "", tansa.Errorf(tansa.Invalid, "stix pattern: %w", err)
		}
		return p.String(), nil
	}
	return "", tansa.Errorf(tansa.Invalid, "unknown indicator type %q", t)
}

func normalizeIP(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, tansa.Errorf(tansa.Invalid, "ip %q: not an IP address", v)
	}
	if a.Zone() != "" {
		return netip.Addr{}, tansa.Errorf(tansa.Invalid, "ip %q: zoned addresses are local to one host", v)
	}
	a = a.Unmap()
	if reason := bogusAddr(a); reason != "" {
		return netip.Addr{}, tansa.Errorf(tansa.Invalid, "ip %q: %s", v, reason)
	}
	return a, nil
}

// bogusAddr explains why a cannot be a useful network indicator, or returns
// "". Private ranges are allowed: intranet C2 and lateral-movement hosts are
// real indicators for a tenant; the allowlist flags them for block lists.
func bogusAddr(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLoopback():
		return "loopback address"
	case a.IsMulticast():
		return "multicast address"
	case a.IsLinkLocalUnicast():
		return "link-local address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast address"
	}
	return ""
}

func normalizePrefix(v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		a, err := normalizeIP(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, tansa.Errorf(tansa.Invalid, "cidr %q: not an address prefix", v)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		if p.Bits() < 0 {
			return netip.Prefix{}, tansa.Errorf(tansa.Invalid, "cidr %q: mapped prefix shorter than 96 bits", v)
		}
	}
	p = p.Masked()
	minBits := MinPrefixBitsIPv4
	if p.Addr().Is6() {
		minBits = MinPrefixBitsIPv6
	}
	if p.Bits() < minBits {
		return netip.Prefix{}, tansa.Errorf(tansa.Invalid, "cidr %q: broader than /%d", v, minBits)
	}
	if reason := bogusAddr(p.Addr()); reason != "" && p.Bits() == p.Addr().BitLen() {
		return netip.Prefix{}, tansa.Errorf(tansa.Invalid, "cidr %q: %s", v, reason)
	}
	return p, nil
}

// idnaProfile converts Unicode names to punycode with the lookup rules of
// UTS #46, but allows underscores, which real malware domains use.
func idnaProfile() *idna.Profile {
	return idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false), idna.BidiRule())
}

func normalizeDomain(v string) (string, error) {
	d := strings.TrimSuffix(v, ".")
	d = strings.TrimPrefix(d, "*.")
	if isASCIILowerHost(d) {
		return d, checkDomain(v, d)
	}
	a, err := idnaProfile().ToASCII(d)
	if err != nil {
		return "", tansa.Errorf(tansa.Invalid, "domain %q: %v", v, err)
	}
	a = strings.ToLower(a)
	return a, checkDomain(v, a)
}

// isASCIILowerHost reports whether d is already in the canonical alphabet, so
// the IDNA conversion (which allocates) can be skipped.
func isASCIILowerHost(d string) bool {
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func checkDomain(raw, d string) error {
	if len(d) > 253 {
		return tansa.Errorf(tansa.Invalid, "domain %q: longer than 253 bytes", raw)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return tansa.Errorf(tansa.Invalid, "domain %q: not a fully qualified name", raw)
	}
	for _, l := range labels {
		if l == "" {
			return tansa.Errorf(tansa.Invalid, "domain %q: empty label", raw)
		}
		if len(l) > 63 {
			return tansa.Errorf(tansa.Invalid, "domain %q: label longer than 63 bytes", raw)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return tansa.Errorf(tansa.Invalid, "domain %q: label %q starts or ends with a hyphen", raw, l)
		}
		if !isASCIILowerHost(l) {
			return tansa.Errorf(tansa.Invalid, "domain %q: label %q has characters outside a-z 0-9 - _", raw, l)
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return tansa.Errorf(tansa.Invalid, "domain %q: numeric top-level label (an IP address?)", raw)
	}
	return nil
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

func normalizeURL(v string) (string, error) {
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", tansa.Errorf(tansa.Invalid, "url %q: %v", v, unwrapURLError(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Opaque != "" || u.Host == "" {
		return "", tansa.Errorf(tansa.Invalid, "url %q: no host", v)
	}
	host, port := u.Hostname(), u.Port()
	if a, err := netip.ParseAddr(host); err == nil {
		if reason := bogusAddr(a.Unmap()); reason != "" {
			return "", tansa.Errorf(tansa.Invalid, "url %q: %s", v, reason)
		}
		host = a.Unmap().String()
		if a.Unmap().Is6() {
			host = "[" + host + "]"
		}
	} else {
		h, err := normalizeDomain(host)
		if err != nil {
			// Single-label hosts are legal in intranet URLs.
			h = strings.ToLower(host)
			if strings.Contains(host, ".") || !isASCIILowerHost(h) || strings.Trim(h, "-_") == "" {
				return "", tansa.Errorf(tansa.Invalid, "url %q: host: %w", v, err)
			}
		}
		host = h
	}
	if port != "" && defaultPorts[u.Scheme] != port {
		host += ":" + port
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func normalizeEmail(v string) (string, error) {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "mailto:"), "MAILTO:")
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return "", tansa.Errorf(tansa.Invalid, "email %q: want local@domain", v)
	}
	local := v[:at]
	if strings.ContainsAny(local, " \t<>()[],;:\"") {
		return "", tansa.Errorf(tansa.Invalid, "email %q: local part has forbidden characters", v)
	}
	d, err := normalizeDomain(v[at+1:])
	if err != nil {
		return "", tansa.Errorf(tansa.Invalid, "email %q: %w", v, err)
	}
	return strings.ToLower(local) + "@" + d, nil
}

var hives = []struct{ short, long string }{
	{"HKLM", "HKEY_LOCAL_MACHINE"}, {"HKCU", "HKEY_CURRENT_USER"}, {"HKCR", "HKEY_CLASSES_ROOT"},
	{"HKU", "HKEY_USERS"}, {"HKCC", "HKEY_CURRENT_CONFIG"},
}

func normalizeRegistryKey(v string) (string, error) {
	k := strings.ReplaceAll(v, "/", `\`)
	for strings.Contains(k, `\\`) {
		k = strings.ReplaceAll(k, `\\`, `\`)
	}
	k = strings.TrimSuffix(k, `\`)
	head, rest, _ := strings.Cut(k, `\`)
	up := strings.ToUpper(head)
	for _, h := range hives {
		if up == h.short || up == h.long {
			if rest == "" {
				return h.long, nil
			}
			return h.long + `\` + rest, nil
		}
	}
	return "", tansa.Errorf(tansa.Invalid, "registry key %q: does not start with a hive (HKLM, HKEY_CURRENT_USER, …)", v)
}

// Guess infers the type of a bare value, as found in a plain list or an
// untyped CSV column, and returns it normalised. It recognises IPs, CIDRs,
// URLs (with a scheme, or a path after a host), e-mail addresses, hashes by
// length, JA4 fingerprints, registry keys and domains, in that order. It
// returns an Invalid error when nothing fits.
func Guess(raw string) (Type, string, error) {
	v := Refang(raw)
	if v == "" {
		return "", "", tansa.Errorf(tansa.Invalid, "empty value")
	}
	if a, err := netip.ParseAddr(v); err == nil {
		t := TypeIPv4
		if a.Unmap().Is6() {
			t = TypeIPv6
		}
		n, err := Normalize(t, v)
		return t, n, err
	}
	if strings.Contains(v, "/") && !strings.Contains(v, "://") {
		if p, err := netip.ParsePrefix(v); err == nil {
			if p.IsSingleIP() {
				t := TypeIPv4
				if p.Addr().Unmap().Is6() {
					t = TypeIPv6
				}
				n, err := Normalize(t, p.Addr().String())
				return t, n, err
			}
			n, err := Normalize(TypeCIDR, v)
			return TypeCIDR, n, err
		}
	}
	lower := strings.ToLower(v)
	switch {
	case strings.Contains(v, "://"):
		n, err := Normalize(TypeURL, v)
		return TypeURL, n, err
	case strings.Contains(v, "@") && !strings.ContainsAny(v, " /"):
		n, err := Normalize(TypeEmail, v)
		return TypeEmail, n, err
	case hexRE.MatchString(lower) && (len(v) == 32 || len(v) == 40 || len(v) == 64):
		t := map[int]Type{32: TypeMD5, 40: TypeSHA1, 64: TypeSHA256}[len(v)]
		n, err := Normalize(t, v)
		return t, n, err
	case ja4RE.MatchString(lower):
		return TypeJA4, lower, nil
	case strings.HasPrefix(strings.ToUpper(v), "HK") && strings.Contains(v, `\`):
		n, err := Normalize(TypeRegistryKey, v)
		return TypeRegistryKey, n, err
	case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && strings.Contains(v, ":"):
		n, err := Normalize(TypeSTIXPattern, v)
		return TypeSTIXPattern, n, err
	case strings.Contains(v, "/") && !strings.ContainsAny(v, ` \`):
		n, err := Normalize(TypeURL, v)
		return TypeURL, n, err
	case hexRE.MatchString(lower):
		return "", "", tansa.Errorf(tansa.Invalid, "%q: hex string of %d digits is no known hash length", raw, len(v))
	}
	n, err := Normalize(TypeDomain, v)
	if err != nil {
		return "", "", tansa.Errorf(tansa.Invalid, "%q: not an IP, CIDR, URL, e-mail, hash or domain", raw)
	}
	return TypeDomain, n, nil
}
