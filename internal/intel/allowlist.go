package intel

import (
	"bufio"
	_ "embed"
	"net/netip"
	"net/url"
	"sort"
	"strings"

	"github.com/tansa-sec/tansa/internal/tansa"
)

//go:embed data/domains.txt
var embeddedDomains string

//go:embed data/networks.txt
var embeddedNetworks string

// Allowlist (a MISP-style warninglist) recognises values that are benign or
// too shared to block: well-known domains, CDN and cloud ranges, special-use
// networks, and a tenant's own domains. Indicators that hit it are flagged on
// import, never dropped, and never rendered into a block list.
//
// An Allowlist is immutable once built and safe for concurrent use; With
// returns an extended copy.
type Allowlist struct {
	suffix map[string]string // domain → reason; matches the domain and its subdomains
	exact  map[string]string // domain → reason; matches only the domain itself
	nets   []allowNet        // sorted by prefix length, longest first
}

type allowNet struct {
	p      netip.Prefix
	reason string
}

// DefaultAllowlist returns the built-in allowlist from the embedded data
// files. It fails only if those files are malformed, which a test guards.
func DefaultAllowlist() (*Allowlist, error) {
	a := &Allowlist{suffix: map[string]string{}, exact: map[string]string{}}
	if err := a.load(embeddedDomains, false); err != nil {
		return nil, err
	}
	if err := a.load(embeddedNetworks, true); err != nil {
		return nil, err
	}
	a.sortNets()
	return a, nil
}

// EmptyAllowlist returns an allowlist that matches nothing.
func EmptyAllowlist() *Allowlist {
	return &Allowlist{suffix: map[string]string{}, exact: map[string]string{}}
}

func (a *Allowlist) load(text string, networks bool) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		value, reason, _ := strings.Cut(line, "\t")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			reason = "allowlisted"
		}
		var err error
		if networks {
			err = a.addNet(value, reason)
		} else {
			err = a.addDomain(value, reason)
		}
		if err != nil {
			return tansa.Errorf(tansa.Invalid, "allowlist line %d: %w", n, err)
		}
	}
	return nil
}

func (a *Allowlist) addDomain(value, reason string) error {
	exact := strings.HasPrefix(value, "=")
	value = strings.TrimPrefix(value, "=")
	d := strings.ToLower(strings.TrimSuffix(value, "."))
	if d != "localhost" {
		var err error
		if d, err = normalizeDomain(d); err != nil {
			return err
		}
	}
	if exact {
		a.exact[d] = reason
	} else {
		a.suffix[d] = reason
	}
	return nil
}

func (a *Allowlist) addNet(value, reason string) error {
	p, err := netip.ParsePrefix(value)
	if err != nil {
		return tansa.Errorf(tansa.Invalid, "network %q: %v", value, err)
	}
	a.nets = append(a.nets, allowNet{p.Masked(), reason})
	return nil
}

func (a *Allowlist) sortNets() {
	sort.SliceStable(a.nets, func(i, j int) bool { return a.nets[i].p.Bits() > a.nets[j].p.Bits() })
}

// With returns a copy of a extended by the given domains (each matching
// itself and its subdomains, for a tenant's own names) and networks (CIDR or
// single IPs), all carrying reason. Invalid entries are reported, and no
// copy is returned, so a typo in tenant configuration is noticed.
func (a *Allowlist) With(reason string, domains, networks []string) (*Allowlist, error) {
	b := &Allowlist{suffix: make(map[string]string, len(a.suffix)+len(domains)), exact: make(map[string]string, len(a.exact)),
		nets: append([]allowNet(nil), a.nets...)}
	for k, v := range a.suffix {
		b.suffix[k] = v
	}
	for k, v := range a.exact {
		b.exact[k] = v
	}
	for _, d := range domains {
		if err := b.addDomain(d, reason); err != nil {
			return nil, err
		}
	}
	for _, n := range networks {
		if !strings.Contains(n, "/") {
			if ip, err := netip.ParseAddr(n); err == nil {
				n = netip.PrefixFrom(ip, ip.BitLen()).String()
			}
		}
		if err := b.addNet(n, reason); err != nil {
			return nil, err
		}
	}
	b.sortNets()
	return b, nil
}

// Check reports whether the normalised value of type t is allowlisted and,
// if so, why. Domains match by suffix (a.b.google.com hits google.com);
// URLs and e-mail addresses are checked by their host or domain; IPs and
// CIDRs hit when they fall inside (or, for CIDRs, overlap) an allowlisted
// network, since blocking such a range would block the benign part too.
func (a *Allowlist) Check(t Type, value string) (string, bool) {
	switch t {
	case TypeDomain:
		return a.checkDomain(value)
	case TypeEmail:
		if at := strings.LastIndexByte(value, '@'); at >= 0 {
			return a.checkDomain(value[at+1:])
		}
	case TypeURL:
		u, err := url.Parse(value)
		if err != nil {
			return "", false
		}
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); err == nil {
			return a.checkAddr(ip)
		}
		return a.checkDomain(h)
	case TypeIPv4, TypeIPv6:
		ip, err := netip.ParseAddr(value)
		if err != nil {
			return "", false
		}
		return a.checkAddr(ip)
	case TypeCIDR:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "", false
		}
		for _, n := range a.nets {
			if n.p.Overlaps(p) {
				return n.reason, true
			}
		}
	}
	return "", false
}

func (a *Allowlist) checkAddr(ip netip.Addr) (string, bool) {
	ip = ip.Unmap()
	for _, n := range a.nets {
		if n.p.Contains(ip) {
			return n.reason, true
		}
	}
	return "", false
}

func (a *Allowlist) checkDomain(d string) (string, bool) {
	if r, ok := a.exact[d]; ok {
		return r, true
	}
	for {
		if r, ok := a.suffix[d]; ok {
			return r, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		d = d[i+1:]
	}
}

// Flag sets ind.Allowlisted when the indicator's value hits a and reports
// whether it did. It never clears an existing flag.
func (a *Allowlist) Flag(ind *Indicator) bool {
	if r, ok := a.Check(ind.Type, ind.Value); ok {
		ind.Allowlisted = r
		return true
	}
	return ind.Allowlisted != ""
}
