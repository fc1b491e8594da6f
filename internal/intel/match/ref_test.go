package match

import (
	"net/netip"
	"strings"

	"github.com/tansa-sec/tansa/internal/intel"
)

// This file keeps the matcher as it was before MatchAll batched its filter
// probes (session 5), unchanged but for the names, as the reference that
// the differential test compares the batched matcher with.

// Match appends to dst the hits of observable o for tenant (global
// indicators and the tenant's own) and returns the extended slice. It
// allocates only for hits and for the few values that need
// canonicalisation.
func (s *Snapshot) refMatch(dst []Hit, tenant string, o Observable) []Hit {
	v := o.Value
	switch o.Kind {
	case KindIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return dst
		}
		return s.refMatchAddr(dst, tenant, o, a.Unmap())
	case KindDomain:
		return s.refMatchDomain(dst, tenant, o, lowerASCII(strings.TrimSuffix(v, ".")))
	case KindURL:
		return s.refMatchURL(dst, tenant, o, nil)
	case KindHash, KindJA3, KindEmail:
		return s.refChain(dst, tenant, o, o.Kind, lowerASCII(v))
	case KindJA4, KindMutex:
		return s.refChain(dst, tenant, o, o.Kind, v)
	case KindRegistryKey:
		return s.refChain(dst, tenant, o, o.Kind, lowerASCII(v))
	case KindFilename:
		base := v
		if i := strings.LastIndexAny(base, `\/`); i >= 0 {
			base = base[i+1:]
		}
		dst = s.refChain(dst, tenant, o, KindFilename, lowerASCII(base))
		return s.matchSubstrings(dst, tenant, o)
	case KindUserAgent:
		return s.matchSubstrings(dst, tenant, o)
	}
	return dst
}

// MatchAll matches every observable of one event and appends the hits.
// A host that appears twice in one event (url.domain and url.full, or a DNS
// query and its URL) is matched against domain indicators once, which saves
// the lookups and reports each domain hit once.
func (s *Snapshot) refMatchAll(dst []Hit, tenant string, obs []Observable) []Hit {
	var hosts [4]string
	n := 0
	seen := func(h string) bool {
		for _, x := range hosts[:n] {
			if x == h {
				return true
			}
		}
		if n < len(hosts) {
			hosts[n] = h
			n++
		}
		return false
	}
	for _, o := range obs {
		switch o.Kind {
		case KindDomain:
			d := lowerASCII(strings.TrimSuffix(o.Value, "."))
			if !seen(d) {
				dst = s.refMatchDomain(dst, tenant, o, d)
			}
		case KindURL:
			dst = s.refMatchURL(dst, tenant, o, seen)
		default:
			dst = s.refMatch(dst, tenant, o)
		}
	}
	return dst
}

// chain appends the hits for key in the exact-string index of kind k.
func (s *Snapshot) refChain(dst []Hit, tenant string, o Observable, k Kind, key string) []Hit {
	m := s.strs[k]
	if len(m) == 0 || !s.filter.has(s.filter.strHash(k, key)) {
		return dst
	}
	i, ok := m[key]
	if !ok {
		return dst
	}
	for ; i != none; i = s.next[i] {
		if e := &s.entries[i]; e.TenantID == "" || e.TenantID == tenant {
			dst = append(dst, Hit{Entry: e, Observable: o})
		}
	}
	return dst
}

func (s *Snapshot) refMatchAddr(dst []Hit, tenant string, o Observable, a netip.Addr) []Hit {
	if !s.filter.has(addrHash(a, 0)) {
		// Not an exact IP indicator; CIDRs are checked below.
	} else if i, ok := s.ips[a]; ok {
		for ; i != none; i = s.next[i] {
			if e := &s.entries[i]; e.TenantID == "" || e.TenantID == tenant {
				dst = append(dst, Hit{Entry: e, Observable: o})
			}
		}
	}
	if len(s.cidrs) == 0 {
		return dst
	}
	lens := s.lens4
	if a.Is6() {
		lens = s.lens6
	}
	// With few distinct prefix lengths, one filter probe per length beats
	// the IPSet's binary search over every range; with many, the IPSet
	// answers "in no CIDR at all" first.
	probe := len(lens) <= 8
	if !probe && !s.cidrSet.Contains(a) {
		return dst
	}
	for _, l := range lens {
		p, err := a.Prefix(l)
		if err != nil || probe && !s.filter.has(addrHash(p.Addr(), l+1)) {
			continue
		}
		for i, ok := s.cidrs[p]; ok && i != none; i = s.next[i] {
			if e := &s.entries[i]; e.TenantID == "" || e.TenantID == tenant {
				dst = append(dst, Hit{Entry: e, Observable: o})
			}
		}
	}
	return dst
}

// matchDomain looks d up and then each parent at a label boundary, so
// a.b.evil.com hits evil.com but never notevil.com. The top-level label
// alone is not looked up.
func (s *Snapshot) refMatchDomain(dst []Hit, tenant string, o Observable, d string) []Hit {
	if len(s.strs[KindDomain]) == 0 {
		return dst
	}
	for {
		dst = s.refChain(dst, tenant, o, KindDomain, d)
		i := strings.IndexByte(d, '.')
		if i < 0 || strings.IndexByte(d[i+1:], '.') < 0 {
			return dst
		}
		d = d[i+1:]
	}
}

// matchURL looks the URL up as given, then canonicalised when it differs
// (case, default port, fragment, defanging), and matches its host against
// domain and IP indicators unless seen reports the host as already matched.
func (s *Snapshot) refMatchURL(dst []Hit, tenant string, o Observable, seen func(host string) bool) []Hit {
	v := o.Value
	host := urlHost(v)
	if host == "" {
		return dst
	}
	if len(s.strs[KindURL]) > 0 {
		n := len(dst)
		dst = s.refChain(dst, tenant, o, KindURL, v)
		if len(dst) == n && needsCanonical(v) {
			if c, err := intel.Normalize(intel.TypeURL, v); err == nil && c != v {
				dst = s.refChain(dst, tenant, o, KindURL, c)
			}
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return s.refMatchAddr(dst, tenant, o, a.Unmap())
	}
	h := lowerASCII(host)
	if seen != nil && seen(h) {
		return dst
	}
	return s.refMatchDomain(dst, tenant, o, h)
}
