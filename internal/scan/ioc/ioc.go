// Package ioc matches a sweep's results against indicators of compromise.
//
// Indicators enter as a JSON document (the format is documented on
// Package and in docs/scan-result.md) through Parse; matches leave as
// result.Findings from (*Set).Match. Atomic indicators (hashes, names,
// addresses, domains) are kept in hash sets, so matching costs one lookup
// per observed value whatever the number of indicators.
package ioc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// Package is the JSON document that carries indicators:
//
//	{
//	  "name": "group intel 2026-11-20",
//	  "indicators": [
//	    {"type": "sha256", "value": "e3b0c442…", "description": "loader", "score": 95},
//	    {"type": "path",   "value": "C:\\Users\\*\\AppData\\Roaming\\*\\svch0st.exe"},
//	    {"type": "name",   "value": "mimikatz.exe"},
//	    {"type": "ip",     "value": "203.0.113.0/24", "attack": ["T1071"]},
//	    {"type": "domain", "value": "c2.example.net"}
//	  ]
//	}
//
// Types: sha256 (hex, any case); path (case-insensitive, / and \ are the
// same, * matches any run of characters, ? one character); name (a file
// or process name, case-insensitive); ip (an address or CIDR prefix,
// matched against remote addresses and resolved addresses); domain
// (matches the name and its subdomains, in DNS entries and command lines).
// Score defaults to 90.
type Package struct {
	Name       string      `json:"name"`
	Indicators []Indicator `json:"indicators"`
}

// Indicator is one indicator of compromise.
type Indicator struct {
	Type        string   `json:"type"`
	Value       string   `json:"value"`
	Description string   `json:"description,omitempty"`
	Score       int      `json:"score,omitempty"`
	ATTACK      []string `json:"attack,omitempty"`
}

// defaultScore is the score of a match when the indicator gives none: a
// known-bad artifact on a host is serious whatever it is.
const defaultScore = 90

// Set is a compiled set of indicators. A Set is safe for concurrent use
// once built; the zero value matches nothing.
type Set struct {
	hashes   map[string]Indicator
	names    map[string]Indicator
	addrs    map[netip.Addr]Indicator
	prefixes []prefixIOC
	domains  map[string]Indicator
	paths    []pathIOC
}

type prefixIOC struct {
	prefix netip.Prefix
	ind    Indicator
}

type pathIOC struct {
	re  *regexp.Regexp
	ind Indicator
}

// Parse reads an IOC package and compiles it. The error names the first
// invalid indicator by index and says what is wrong with it.
func Parse(data []byte) (*Set, error) {
	var p Package
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("ioc package: %w", err)
	}
	s := &Set{}
	if err := s.Add(p.Indicators...); err != nil {
		return nil, err
	}
	return s, nil
}

// Add compiles more indicators into s. It is not safe to call
// concurrently with Match.
func (s *Set) Add(inds ...Indicator) error {
	if s.hashes == nil {
		s.hashes, s.names, s.addrs, s.domains = map[string]Indicator{}, map[string]Indicator{}, map[netip.Addr]Indicator{}, map[string]Indicator{}
	}
	for i, ind := range inds {
		ind.Type = strings.ToLower(strings.TrimSpace(ind.Type))
		v := strings.TrimSpace(ind.Value)
		if v == "" {
			return fmt.Errorf("ioc indicator %d: empty value", i)
		}
		if ind.Score == 0 {
			ind.Score = defaultScore
		}
		if ind.Score < 0 || ind.Score > 100 {
			return fmt.Errorf("ioc indicator %d (%s): score %d is outside 0–100", i, v, ind.Score)
		}
		switch ind.Type {
		case "sha256":
			v = strings.ToLower(v)
			if len(v) != 64 || strings.Trim(v, "0123456789abcdef") != "" {
				return fmt.Errorf("ioc indicator %d: sha256 %q is not 64 hexadecimal digits", i, v)
			}
			s.hashes[v] = ind
		case "name":
			s.names[strings.ToLower(v)] = ind
		case "ip":
			if strings.Contains(v, "/") {
				pfx, err := netip.ParsePrefix(v)
				if err != nil {
					return fmt.Errorf("ioc indicator %d: %w", i, err)
				}
				s.prefixes = append(s.prefixes, prefixIOC{pfx.Masked(), ind})
				continue
			}
			a, err := netip.ParseAddr(v)
			if err != nil {
				return fmt.Errorf("ioc indicator %d: %w", i, err)
			}
			s.addrs[a.Unmap()] = ind
		case "domain":
			d := strings.Trim(strings.ToLower(refang(v)), ".")
			if d == "" || strings.ContainsAny(d, " /:") {
				return fmt.Errorf("ioc indicator %d: %q is not a domain name", i, v)
			}
			s.domains[d] = ind
		case "path":
			re, err := globRegexp(v)
			if err != nil {
				return fmt.Errorf("ioc indicator %d: path %q: %w", i, v, err)
			}
			s.paths = append(s.paths, pathIOC{re, ind})
		default:
			return fmt.Errorf("ioc indicator %d: unknown type %q (want sha256, path, name, ip or domain)", i, ind.Type)
		}
	}
	return nil
}

// Len returns the number of indicators in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.hashes) + len(s.names) + len(s.addrs) + len(s.prefixes) + len(s.domains) + len(s.paths)
}

// Paths returns the absolute paths without wildcards among the path
// indicators, so that the collectors can look at those files directly.
func (s *Set) Paths() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range s.paths {
		v := p.ind.Value
		if !strings.ContainsAny(v, "*?") {
			out = append(out, v)
		}
	}
	return out
}

// refang undoes the usual defanging of shared indicators ("evil[.]com").
func refang(s string) string {
	return strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".").Replace(s)
}

// normPath makes Windows and Unix paths comparable.
func normPath(p string) string {
	return strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
}

func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range normPath(glob) {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Match returns a Finding for every observation in r that an indicator
// names: executable and file hashes, process and file names and paths,
// remote addresses of connections, hosts-file and DNS-cache entries, and
// domains inside command lines and persistence commands.
func (s *Set) Match(r *result.Result) []result.Finding {
	if s.Len() == 0 {
		return nil
	}
	var out []result.Finding
	hit := func(ind Indicator, what, value string, subj result.Subject) {
		args := map[string]string{"type": ind.Type, "indicator": ind.Value, "what": what, "value": value, "description": ind.Description}
		tmpl := "{what} {value} matches the {type} indicator {indicator}"
		key := "ioc.match"
		if ind.Description != "" {
			tmpl += " ({description})"
			key = "ioc.match.described"
		}
		out = append(out, result.NewFinding("ioc."+ind.Type, ind.Score, key, tmpl+".", args, subj, ind.ATTACK...))
	}
	for _, p := range r.Processes {
		subj := result.Subject{Kind: "process", PID: p.PID, Path: p.Path}
		if ind, ok := s.hashes[p.SHA256]; ok && p.SHA256 != "" {
			hit(ind, "the executable of process "+p.Name, p.SHA256, subj)
		}
		if ind, ok := s.matchName(p.Name, p.Path); ok {
			hit(ind, "process", p.Name, subj)
		}
		if ind, ok := s.matchPath(p.Path); ok {
			hit(ind, "process executable", p.Path, subj)
		}
		for _, m := range p.Modules {
			if ind, ok := s.matchPath(m); ok {
				hit(ind, "module loaded by process "+p.Name, m, subj)
			}
		}
		if ind, d, ok := s.matchDomainIn(p.CommandLine); ok {
			hit(ind, "the command line of process "+p.Name+" contains", d, subj)
		}
	}
	for _, f := range r.Files {
		subj := result.Subject{Kind: "file", Path: f.Path}
		if ind, ok := s.hashes[f.SHA256]; ok && f.SHA256 != "" {
			hit(ind, "file "+f.Path, f.SHA256, subj)
		}
		if ind, ok := s.matchName("", f.Path); ok {
			hit(ind, "file", f.Path, subj)
		} else if ind, ok := s.matchPath(f.Path); ok {
			hit(ind, "file", f.Path, subj)
		}
	}
	for _, c := range r.Connections {
		a, err := netip.ParseAddr(c.RemoteAddr)
		if err != nil {
			continue
		}
		if ind, ok := s.matchAddr(a); ok {
			hit(ind, fmt.Sprintf("connection of process %s (pid %d) to", c.Process, c.PID), c.RemoteAddr, result.Subject{Kind: "connection", PID: c.PID, Ref: fmt.Sprintf("%s:%d", c.RemoteAddr, c.RemotePort)})
		}
	}
	for _, d := range r.DNS {
		subj := result.Subject{Kind: "dns", Ref: d.Name}
		if ind, ok := s.matchDomain(d.Name); ok {
			hit(ind, "name resolution ("+d.Source+") of", d.Name, subj)
		}
		if a, err := netip.ParseAddr(d.Address); err == nil {
			if ind, ok := s.matchAddr(a); ok {
				hit(ind, "name resolution ("+d.Source+") of "+d.Name+" to", d.Address, subj)
			}
		}
	}
	for _, p := range r.Persistence {
		subj := result.Subject{Kind: "persistence", Path: p.Location, Ref: p.Name}
		if ind, ok := s.matchPath(firstToken(p.Command)); ok {
			hit(ind, p.Kind+" entry runs", p.Command, subj)
		} else if ind, ok := s.matchName("", firstToken(p.Command)); ok {
			hit(ind, p.Kind+" entry runs", p.Command, subj)
		}
		if ind, d, ok := s.matchDomainIn(p.Command); ok {
			hit(ind, p.Kind+" entry "+p.Location+" contains", d, subj)
		}
	}
	return out
}

func (s *Set) matchName(name, p string) (Indicator, bool) {
	if ind, ok := s.names[strings.ToLower(name)]; ok && name != "" {
		return ind, true
	}
	if p == "" {
		return Indicator{}, false
	}
	ind, ok := s.names[path.Base(normPath(p))]
	return ind, ok
}

func (s *Set) matchPath(p string) (Indicator, bool) {
	if p == "" {
		return Indicator{}, false
	}
	n := normPath(p)
	for _, pi := range s.paths {
		if pi.re.MatchString(n) {
			return pi.ind, true
		}
	}
	return Indicator{}, false
}

func (s *Set) matchAddr(a netip.Addr) (Indicator, bool) {
	a = a.Unmap()
	if ind, ok := s.addrs[a]; ok {
		return ind, true
	}
	for _, p := range s.prefixes {
		if p.prefix.Contains(a) {
			return p.ind, true
		}
	}
	return Indicator{}, false
}

// matchDomain looks d and each of its parent domains up.
func (s *Set) matchDomain(d string) (Indicator, bool) {
	d = strings.Trim(strings.ToLower(d), ".")
	for d != "" {
		if ind, ok := s.domains[d]; ok {
			return ind, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return Indicator{}, false
}

// matchDomainIn finds a host name inside free text (a command line) that
// an indicator names.
func (s *Set) matchDomainIn(text string) (Indicator, string, bool) {
	if len(s.domains) == 0 || text == "" {
		return Indicator{}, "", false
	}
	for _, tok := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		if !strings.Contains(tok, ".") {
			continue
		}
		if ind, ok := s.matchDomain(tok); ok {
			return ind, tok, true
		}
	}
	return Indicator{}, "", false
}

// firstToken returns the program of a command line: the first
// whitespace-separated word, or the quoted prefix.
func firstToken(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if strings.HasPrefix(cmd, `"`) {
		if i := strings.IndexByte(cmd[1:], '"'); i >= 0 {
			return cmd[1 : i+1]
		}
	}
	if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		return cmd[:i]
	}
	return cmd
}

// Merge adds the indicators of o to s. It is not safe to call
// concurrently with Match.
func (s *Set) Merge(o *Set) error {
	if o == nil {
		return nil
	}
	var inds []Indicator
	for _, m := range []map[string]Indicator{o.hashes, o.names, o.domains} {
		for _, ind := range m {
			inds = append(inds, ind)
		}
	}
	for _, ind := range o.addrs {
		inds = append(inds, ind)
	}
	for _, p := range o.prefixes {
		inds = append(inds, p.ind)
	}
	for _, p := range o.paths {
		inds = append(inds, p.ind)
	}
	return s.Add(inds...)
}
