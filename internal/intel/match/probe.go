package match

import (
	"net/netip"
	"strings"

	"github.com/tansa-sec/tansa/internal/intel"
)

// With a million indicators the filter is a few megabytes, larger than a
// core's cache, so nearly every probe is a cache miss; an event has a dozen
// of them (each IP and its CIDR prefixes, each domain and its parents, the
// URL, the hash). Probing them one at a time, each behind its own hashing and
// parsing, makes the misses wait for each other. MatchAll therefore works in
// three passes over an event: it first turns every observable into steps
// (hashing each key once), then loads the filter word of every step in one
// tight loop whose loads are independent, so the CPU overlaps their misses,
// and only then looks up, in the original order, the few steps the filter
// let through.

// step is one lookup MatchAll makes for an event.
type step struct {
	h    uint64     // filter hash of the key (opStr, opURL, opIP, opCIDR)
	key  string     // opStr, opURL: the canonical string key
	addr netip.Addr // opIP: the address; opCIDR: the masked prefix address; opCIDRSet: the address
	obs  int32      // index of the observable in the event
	bits int16      // opCIDR: the prefix length
	kind Kind       // opStr: which exact-string index
	op   uint8
	pos  bool // the filter may hold h
}

const (
	opStr     = iota // exact string in strs[kind]
	opURL            // URL as given, then canonicalised when that found nothing
	opIP             // exact IP
	opCIDR           // one CIDR prefix length
	opCIDRSet        // many prefix lengths: the IPSet first, then each length
	opSubs           // substring automaton of the observable's kind
)

// batch holds an event's steps. It lives on MatchAll's stack; an event with
// more steps than fit is run in several batches, in order.
type batch struct {
	steps [48]step
	n     int
}

// hostSet remembers the first few hosts of an event so that a host seen
// twice (url.domain and url.full) is matched against domain indicators
// once.
type hostSet struct {
	hosts [4]string
	n     int
}

// seen reports whether h was added before, and adds it.
func (hs *hostSet) seen(h string) bool {
	for _, x := range hs.hosts[:hs.n] {
		if x == h {
			return true
		}
	}
	if hs.n < len(hs.hosts) {
		hs.hosts[hs.n] = h
		hs.n++
	}
	return false
}

// Match appends to dst the hits of observable o for tenant (global
// indicators and the tenant's own) and returns the extended slice. It
// allocates only for hits and for the few values that need
// canonicalisation.
func (s *Snapshot) Match(dst []Hit, tenant string, o Observable) []Hit {
	return s.MatchAll(dst, tenant, []Observable{o})
}

// MatchAll matches every observable of one event and appends the hits, in
// the order of the observables. A host that appears twice in one event
// (url.domain and url.full, or a DNS query and its URL) is matched against
// domain indicators once, which saves the lookups and reports each domain
// hit once. It allocates only for hits and for the few values that need
// canonicalisation.
func (s *Snapshot) MatchAll(dst []Hit, tenant string, obs []Observable) []Hit {
	var b batch
	var hs hostSet
	for i := range obs {
		o := &obs[i]
		oi := int32(i)
		v := o.Value
		switch o.Kind {
		case KindIP:
			if !mayBeIP(v) {
				continue
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				continue
			}
			dst = s.addrSteps(dst, tenant, obs, &b, oi, a.Unmap())
		case KindDomain:
			d := lowerASCII(strings.TrimSuffix(v, "."))
			if !hs.seen(d) {
				dst = s.domainSteps(dst, tenant, obs, &b, oi, d)
			}
		case KindURL:
			host := urlHost(v)
			if host == "" {
				continue
			}
			if len(s.strs[KindURL]) > 0 {
				dst = s.push(dst, tenant, obs, &b, step{op: opURL, obs: oi, key: v, h: s.filter.strHash(KindURL, v)})
			}
			if t := strings.Trim(host, "[]"); mayBeIP(t) {
				if a, err := netip.ParseAddr(t); err == nil {
					dst = s.addrSteps(dst, tenant, obs, &b, oi, a.Unmap())
					continue
				}
			}
			if h := lowerASCII(host); !hs.seen(h) {
				dst = s.domainSteps(dst, tenant, obs, &b, oi, h)
			}
		case KindHash, KindJA3, KindEmail, KindRegistryKey:
			dst = s.strStep(dst, tenant, obs, &b, oi, o.Kind, lowerASCII(v))
		case KindJA4, KindMutex:
			dst = s.strStep(dst, tenant, obs, &b, oi, o.Kind, v)
		case KindFilename:
			base := v
			if i := strings.LastIndexAny(base, `\/`); i >= 0 {
				base = base[i+1:]
			}
			dst = s.strStep(dst, tenant, obs, &b, oi, KindFilename, lowerASCII(base))
			if s.subs[KindFilename] != nil {
				dst = s.push(dst, tenant, obs, &b, step{op: opSubs, obs: oi})
			}
		case KindUserAgent:
			if s.subs[KindUserAgent] != nil {
				dst = s.push(dst, tenant, obs, &b, step{op: opSubs, obs: oi})
			}
		}
	}
	return s.run(dst, tenant, obs, &b)
}

// mayBeIP reports whether netip.ParseAddr could accept v: an IPv4 address
// starts with a digit and an IPv6 address has a colon. Asking first spares
// the error ParseAddr allocates for every host name.
func mayBeIP(v string) bool {
	return v != "" && ('0' <= v[0] && v[0] <= '9' || strings.IndexByte(v, ':') >= 0)
}

// push appends st to the batch, running the batch first when it is full.
func (s *Snapshot) push(dst []Hit, tenant string, obs []Observable, b *batch, st step) []Hit {
	if b.n == len(b.steps) {
		dst = s.run(dst, tenant, obs, b)
	}
	b.steps[b.n] = st
	b.n++
	return dst
}

func (s *Snapshot) strStep(dst []Hit, tenant string, obs []Observable, b *batch, oi int32, k Kind, key string) []Hit {
	if len(s.strs[k]) == 0 {
		return dst
	}
	return s.push(dst, tenant, obs, b, step{op: opStr, obs: oi, kind: k, key: key, h: s.filter.strHash(k, key)})
}

// domainSteps looks d up and then each parent at a label boundary, so
// a.b.evil.com hits evil.com but never notevil.com. The top-level label
// alone is not looked up.
func (s *Snapshot) domainSteps(dst []Hit, tenant string, obs []Observable, b *batch, oi int32, d string) []Hit {
	if len(s.strs[KindDomain]) == 0 {
		return dst
	}
	for {
		dst = s.push(dst, tenant, obs, b, step{op: opStr, obs: oi, kind: KindDomain, key: d, h: s.filter.strHash(KindDomain, d)})
		i := strings.IndexByte(d, '.')
		if i < 0 || strings.IndexByte(d[i+1:], '.') < 0 {
			return dst
		}
		d = d[i+1:]
	}
}

// addrSteps looks a up as an exact IP and in every CIDR length present.
func (s *Snapshot) addrSteps(dst []Hit, tenant string, obs []Observable, b *batch, oi int32, a netip.Addr) []Hit {
	if len(s.ips) > 0 {
		dst = s.push(dst, tenant, obs, b, step{op: opIP, obs: oi, addr: a, h: addrHash(a, 0)})
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
	if len(lens) > 8 {
		return s.push(dst, tenant, obs, b, step{op: opCIDRSet, obs: oi, addr: a})
	}
	for _, l := range lens {
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		dst = s.push(dst, tenant, obs, b, step{op: opCIDR, obs: oi, addr: p.Addr(), bits: int16(l), h: addrHash(p.Addr(), l+1)})
	}
	return dst
}

// run probes the filter for every step of b, then carries the steps out in
// order, and empties b.
func (s *Snapshot) run(dst []Hit, tenant string, obs []Observable, b *batch) []Hit {
	steps := b.steps[:b.n]
	b.n = 0
	// The loads of this loop do not depend on each other, so their cache
	// misses overlap.
	f := &s.filter
	for i := range steps {
		if st := &steps[i]; st.op <= opCIDR {
			st.pos = f.has(st.h)
		}
	}
	for i := range steps {
		st := &steps[i]
		switch st.op {
		case opStr:
			if st.pos {
				if h, ok := s.strs[st.kind][st.key]; ok {
					dst = s.appendChain(dst, tenant, obs[st.obs], h)
				}
			}
		case opURL:
			n := len(dst)
			if st.pos {
				if h, ok := s.strs[KindURL][st.key]; ok {
					dst = s.appendChain(dst, tenant, obs[st.obs], h)
				}
			}
			if len(dst) == n && needsCanonical(st.key) {
				if c, err := intel.Normalize(intel.TypeURL, st.key); err == nil && c != st.key && s.filter.has(s.filter.strHash(KindURL, c)) {
					if h, ok := s.strs[KindURL][c]; ok {
						dst = s.appendChain(dst, tenant, obs[st.obs], h)
					}
				}
			}
		case opIP:
			if st.pos {
				if h, ok := s.ips[st.addr]; ok {
					dst = s.appendChain(dst, tenant, obs[st.obs], h)
				}
			}
		case opCIDR:
			if st.pos {
				if h, ok := s.cidrs[netip.PrefixFrom(st.addr, int(st.bits))]; ok {
					dst = s.appendChain(dst, tenant, obs[st.obs], h)
				}
			}
		case opCIDRSet:
			dst = s.matchCIDRSet(dst, tenant, obs[st.obs], st.addr)
		case opSubs:
			dst = s.matchSubstrings(dst, tenant, obs[st.obs])
		}
	}
	return dst
}

// matchCIDRSet matches a against the CIDRs when there are too many prefix
// lengths to probe each: the IPSet rules out most addresses at once.
func (s *Snapshot) matchCIDRSet(dst []Hit, tenant string, o Observable, a netip.Addr) []Hit {
	if !s.cidrSet.Contains(a) {
		return dst
	}
	lens := s.lens4
	if a.Is6() {
		lens = s.lens6
	}
	for _, l := range lens {
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		if h, ok := s.cidrs[p]; ok {
			dst = s.appendChain(dst, tenant, o, h)
		}
	}
	return dst
}

// appendChain appends a hit for every entry of the chain starting at i
// that tenant may see.
func (s *Snapshot) appendChain(dst []Hit, tenant string, o Observable, i int32) []Hit {
	for ; i != none; i = s.next[i] {
		if e := &s.entries[i]; e.TenantID == "" || e.TenantID == tenant {
			dst = append(dst, Hit{Entry: e, Observable: o})
		}
	}
	return dst
}
