package stixpattern

import "strings"

// Atom is one atomic indicator value found in a pattern: the object path it
// tests (canonical, e.g. "ipv4-addr:value" or "file:hashes.'SHA-256'") and
// the literal it must equal.
type Atom struct {
	Path  string
	Value string
}

// atomicPaths are the object paths whose equality tests map one-to-one onto
// Tansa's atomic indicator types.
var atomicPaths = []string{
	"ipv4-addr:value", "ipv6-addr:value", "domain-name:value", "url:value", "email-addr:value",
	"file:name", "mutex:name", "windows-registry-key:key",
	"network-traffic:dst_ref.value", "network-traffic:src_ref.value",
	"email-message:from_ref.value", "email-message:sender_ref.value",
	// Paths Tansa's exporter uses for user agents and TLS fingerprints.
	"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
	"x-tls-fingerprint:ja3", "x-tls-fingerprint:ja4",
}

// IsAtomicPath reports whether an equality test on path can become an
// atomic indicator. Hash paths (file:hashes.<algorithm>) are atomic for MD5,
// SHA-1 and SHA-256 in any of their spellings.
func IsAtomicPath(path string) bool {
	for _, p := range atomicPaths {
		if p == path {
			return true
		}
	}
	return HashAlgorithm(path) != ""
}

// HashAlgorithm returns "md5", "sha1" or "sha256" for a file hash path such
// as file:hashes.'SHA-256' or artifact:hashes.MD5, and "" otherwise.
func HashAlgorithm(path string) string {
	_, rest, ok := strings.Cut(path, ":hashes.")
	if !ok {
		return ""
	}
	k := strings.ToUpper(strings.Trim(rest, "'"))
	switch strings.ReplaceAll(k, "-", "") {
	case "MD5":
		return "md5"
	case "SHA1":
		return "sha1"
	case "SHA256":
		return "sha256"
	}
	return ""
}

// Atoms returns the atomic values of a pattern that is only a disjunction of
// equality (or IN) tests on atomic paths — "[ipv4-addr:value = '1.2.3.4' OR
// domain-name:value = 'evil.com']" or "[url:value = 'a'] OR [url:value =
// 'b']" — and true. For any other pattern (AND, NOT, qualifiers,
// FOLLOWEDBY, other operators or paths) it returns nil and false: the
// pattern must then be evaluated as a whole.
func (p *Pattern) Atoms() ([]Atom, bool) {
	var out []Atom
	if !atomsExpr(p.Root, &out) {
		return nil, false
	}
	return out, true
}

func atomsExpr(e Expr, out *[]Atom) bool {
	switch e := e.(type) {
	case *Observation:
		return atomsCmp(e.Cmp, out)
	case *ObsBinary:
		return e.Op == ObsOr && atomsExpr(e.Left, out) && atomsExpr(e.Right, out)
	}
	return false
}

func atomsCmp(c Cmp, out *[]Atom) bool {
	switch c := c.(type) {
	case *CmpBinary:
		return c.Op == "OR" && atomsCmp(c.Left, out) && atomsCmp(c.Right, out)
	case *Test:
		path := c.Path.String()
		if c.Negated || !IsAtomicPath(path) {
			return false
		}
		switch c.Op {
		case "=":
			if c.Value.Kind != LitString {
				return false
			}
			*out = append(*out, Atom{Path: path, Value: c.Value.Str})
			return true
		case "IN":
			for _, l := range c.Set {
				if l.Kind != LitString {
					return false
				}
				*out = append(*out, Atom{Path: path, Value: l.Str})
			}
			return true
		}
	}
	return false
}
