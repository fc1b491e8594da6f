// Package blocklist renders indicators as block lists that network devices
// pull: plain-text External Dynamic Lists (one IP, CIDR, domain or URL per
// line, as Palo Alto Networks and Fortinet firewalls read them) and DNS
// Response Policy Zones (RPZ) for resolvers such as Unbound and BIND.
//
// Indicators enter through Build, which keeps only what may safely be
// blocked — active, not revoked, confident enough, and never allowlisted —
// and leaves as text through WriteEDL and WriteRPZ. A List is immutable and
// safe for concurrent use.
package blocklist

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go4.org/netipx"

	"github.com/tansa-sec/tansa/internal/intel"
)

// Kind selects one EDL: firewalls take IPs, domains and URLs as separate
// lists.
type Kind string

// The EDL kinds.
const (
	KindIP     Kind = "ip"
	KindDomain Kind = "domain"
	KindURL    Kind = "url"
)

// Options select the indicators that go on the list.
type Options struct {
	Now           time.Time // validity and decay are judged at this time
	TenantID      string    // global indicators and this tenant's; empty means global only
	MinConfidence int       // drop indicators whose decayed confidence is below this (0 keeps all)
}

// Exclusion is an indicator left off the list, and why.
type Exclusion struct {
	Type   intel.Type
	Value  string
	Reason string
}

// List is a de-duplicated, sorted block list.
type List struct {
	prefixes []netip.Prefix // minimal cover of the blocked IPs and CIDRs
	domains  []string
	urls     []string
	// Excluded lists the candidate indicators that were left off.
	Excluded []Exclusion
}

// maxEDLURL is the longest URL entry PAN-OS accepts in a URL list.
const maxEDLURL = 255

// Build selects from inds the IPs, CIDRs, domains and URLs that may be
// blocked at opts.Now and returns them as a List. Indicators that are
// flagged allowlisted, or that allow (if not nil) matches now, are
// excluded with the list's reason: allowlisted values never reach a block
// list, even when the flag was not set at import.
func Build(inds []intel.Indicator, allow *intel.Allowlist, opts Options) *List {
	l := &List{}
	var ips netipx.IPSetBuilder
	doms := map[string]bool{}
	urls := map[string]bool{}
	exclude := func(ind *intel.Indicator, reason string) {
		l.Excluded = append(l.Excluded, Exclusion{Type: ind.Type, Value: ind.Value, Reason: reason})
	}
	for i := range inds {
		ind := &inds[i]
		switch ind.Type {
		case intel.TypeIPv4, intel.TypeIPv6, intel.TypeCIDR, intel.TypeDomain, intel.TypeURL:
		default:
			continue
		}
		if ind.TenantID != "" && ind.TenantID != opts.TenantID {
			continue
		}
		if ind.Allowlisted != "" {
			exclude(ind, "allowlisted: "+ind.Allowlisted)
			continue
		}
		if allow != nil {
			if r, ok := allow.Check(ind.Type, ind.Value); ok {
				exclude(ind, "allowlisted: "+r)
				continue
			}
		}
		if !ind.Active(opts.Now) {
			exclude(ind, "not active (revoked, expired or not yet valid)")
			continue
		}
		if opts.MinConfidence > 0 && ind.Confidence > 0 && ind.ConfidenceAt(opts.Now) < opts.MinConfidence {
			exclude(ind, fmt.Sprintf("confidence %d below %d", ind.ConfidenceAt(opts.Now), opts.MinConfidence))
			continue
		}
		// Values are re-normalised so a list never carries a malformed
		// line, whatever the store holds.
		v, err := intel.Normalize(ind.Type, ind.Value)
		if err != nil {
			exclude(ind, err.Error())
			continue
		}
		switch ind.Type {
		case intel.TypeIPv4, intel.TypeIPv6:
			ips.Add(netip.MustParseAddr(v))
		case intel.TypeCIDR:
			ips.AddPrefix(netip.MustParsePrefix(v))
		case intel.TypeDomain:
			doms[v] = true
		case intel.TypeURL:
			e := edlURL(v)
			if len(e) > maxEDLURL {
				exclude(ind, fmt.Sprintf("URL longer than %d bytes, which firewalls refuse", maxEDLURL))
				continue
			}
			urls[e] = true
		}
	}
	if set, err := ips.IPSet(); err == nil {
		l.prefixes = set.Prefixes()
	}
	// A domain under another listed domain is already covered by its
	// parent's wildcard.
	for d := range doms {
		if !coveredByParent(d, doms) {
			l.domains = append(l.domains, d)
		}
	}
	slices.Sort(l.domains)
	for u := range urls {
		l.urls = append(l.urls, u)
	}
	slices.Sort(l.urls)
	return l
}

func coveredByParent(d string, doms map[string]bool) bool {
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
		if doms[d] {
			return true
		}
	}
}

// edlURL strips the scheme: PAN-OS and FortiGate URL lists match host and
// path for every scheme and reject entries that carry one.
func edlURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return u
}

// Len returns the number of entries of kind k.
func (l *List) Len(k Kind) int {
	switch k {
	case KindIP:
		return len(l.prefixes)
	case KindDomain:
		return len(l.domains)
	case KindURL:
		return len(l.urls)
	}
	return 0
}

// WriteEDL writes the entries of kind k, one per line with "\n" endings:
// IPs bare and networks in CIDR notation; domains twice, as "evil.example"
// and "*.evil.example", because an indicator domain covers its subdomains;
// URLs without their scheme.
func (l *List) WriteEDL(w io.Writer, k Kind) error {
	bw := bufio.NewWriter(w)
	switch k {
	case KindIP:
		for _, p := range l.prefixes {
			if p.IsSingleIP() {
				bw.WriteString(p.Addr().String())
			} else {
				bw.WriteString(p.String())
			}
			bw.WriteByte('\n')
		}
	case KindDomain:
		for _, d := range l.domains {
			bw.WriteString(d + "\n*." + d + "\n")
		}
	case KindURL:
		for _, u := range l.urls {
			bw.WriteString(u + "\n")
		}
	default:
		return fmt.Errorf("write edl: unknown kind %q", k)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write edl %s: %w", k, err)
	}
	return nil
}

// RPZ describes the response policy zone WriteRPZ renders.
type RPZ struct {
	Zone   string // the zone's origin, e.g. "rpz.tansa.local"
	Serial uint32 // SOA serial; increase it on every change so secondaries transfer
	TTL    uint32 // TTL of every record; 0 means 300 seconds
}

// WriteRPZ writes the list as an RFC 1035 master file for a response policy
// zone: SOA and NS at the apex, then for every domain a QNAME trigger on the
// name and a wildcard for its subdomains, and for every IP or network a
// Response IP Address trigger (rpz-ip), all with the "CNAME ." action that
// answers NXDOMAIN. URLs cannot be expressed in DNS and are left out. Names
// too long for the zone are skipped and reported in the returned
// exclusions.
func (l *List) WriteRPZ(w io.Writer, z RPZ) ([]Exclusion, error) {
	zone := strings.TrimSuffix(strings.ToLower(z.Zone), ".")
	if _, err := intel.Normalize(intel.TypeDomain, zone); err != nil {
		return nil, fmt.Errorf("write rpz: zone name: %w", err)
	}
	ttl := z.TTL
	if ttl == 0 {
		ttl = 300
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "$TTL %d\n$ORIGIN %s.\n", ttl, zone)
	fmt.Fprintf(bw, "@ IN SOA localhost. hostmaster.localhost. ( %d 3600 600 604800 %d )\n", z.Serial, ttl)
	bw.WriteString("@ IN NS localhost.\n")
	var skipped []Exclusion
	// An owner name is at most 255 octets in wire form: the name's text
	// length plus two, plus the zone suffix.
	fits := func(name string) bool { return len(name)+1+len(zone)+2 <= 255 }
	for _, d := range l.domains {
		if !fits("*." + d) {
			skipped = append(skipped, Exclusion{Type: intel.TypeDomain, Value: d, Reason: "name too long for the zone " + zone})
			continue
		}
		fmt.Fprintf(bw, "%s CNAME .\n*.%s CNAME .\n", d, d)
	}
	for _, p := range l.prefixes {
		fmt.Fprintf(bw, "%s CNAME .\n", rpzIP(p))
	}
	if err := bw.Flush(); err != nil {
		return skipped, fmt.Errorf("write rpz: %w", err)
	}
	return skipped, nil
}

// rpzIP returns the RPZ owner name of a Response IP Address trigger:
// prefix length, then the address's labels in reverse order — decimal
// octets for IPv4, 16-bit hex groups for IPv6 with the longest zero run as
// "zz" — then "rpz-ip".
func rpzIP(p netip.Prefix) string {
	a := p.Addr()
	var labels []string
	if a.Is4() {
		b := a.As4()
		labels = []string{fmt.Sprint(b[3]), fmt.Sprint(b[2]), fmt.Sprint(b[1]), fmt.Sprint(b[0])}
	} else {
		b := a.As16()
		groups := make([]string, 8)
		for i := range groups {
			groups[i] = fmt.Sprintf("%x", uint16(b[2*i])<<8|uint16(b[2*i+1]))
		}
		// Replace the longest run (≥ 2) of zero groups with "zz".
		bestStart, bestLen := -1, 1
		for i := 0; i < 8; {
			if groups[i] != "0" {
				i++
				continue
			}
			j := i
			for j < 8 && groups[j] == "0" {
				j++
			}
			if j-i > bestLen {
				bestStart, bestLen = i, j-i
			}
			i = j
		}
		if bestStart >= 0 {
			groups = slices.Concat(groups[:bestStart], []string{"zz"}, groups[bestStart+bestLen:])
		}
		slices.Reverse(groups)
		labels = groups
	}
	return fmt.Sprintf("%d.%s.rpz-ip", p.Bits(), strings.Join(labels, "."))
}
