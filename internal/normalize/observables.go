package normalize

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// ObservableType names what kind of value an Observable holds.
type ObservableType string

// The observable types. Hashes are typed by algorithm, as threat
// intelligence records them.
const (
	IP      ObservableType = "ip"
	Domain  ObservableType = "domain"
	URL     ObservableType = "url"
	MD5     ObservableType = "md5"
	SHA1    ObservableType = "sha1"
	SHA256  ObservableType = "sha256"
	User    ObservableType = "user"
	Host    ObservableType = "host"
	Email   ObservableType = "email"
	Process ObservableType = "process"
)

// An Observable is one indicator an event mentions, in normal form: IP
// addresses canonical (netip's String: IPv4 dotted, IPv6 compressed lower
// case, IPv4-mapped IPv6 unmapped), domains, hosts, e-mail addresses and
// hashes lower case without a trailing dot, URLs with scheme and host lower
// case, users and processes as written.
type Observable struct {
	Type  ObservableType `json:"type"`
	Value string         `json:"value"`
}

// fieldType returns the type of observable an ECS field holds.
func fieldType(k string) (ObservableType, bool) {
	switch k {
	case "source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "observer.ip", "source.nat.ip", "destination.nat.ip", "related.ip":
		return IP, true
	case "url.domain", "source.domain", "destination.domain", "dns.question.name", "client.domain", "server.domain", "dns.answers.data":
		return Domain, true
	case "url.full", "url.original":
		return URL, true
	case "file.hash.md5", "process.hash.md5":
		return MD5, true
	case "file.hash.sha1", "process.hash.sha1":
		return SHA1, true
	case "file.hash.sha256", "process.hash.sha256":
		return SHA256, true
	case "user.name", "source.user.name", "destination.user.name":
		return User, true
	case "user.email", "source.user.email":
		return Email, true
	case "host.name", "host.hostname", "observer.hostname", "observer.name":
		return Host, true
	case "process.name", "process.executable", "source.process.name":
		return Process, true
	}
	return "", false
}

// Observables returns the observables ev mentions, without duplicates,
// sorted by type and then value: the typed ECS fields first, then every
// other string value, and the raw line of a "raw" event without fields,
// scanned as free text for addresses, URLs, e-mail addresses, hashes and
// domains. Free-text domains need a dot and an alphabetic last label that
// is not a common file extension, so "chrome.exe" is not a domain;
// "report.zip" is, as it is on the Internet.
func Observables(ev *tansa.Event) []Observable {
	c := collector{out: make([]Observable, 0, 16)}
	return c.observables(ev)
}

// Observables is the package's Observables, reusing p's working space: a
// pipeline's parser extracts every event's observables.
func (p *Parser) Observables(ev *tansa.Event) []Observable {
	return p.obs.observables(ev)
}

// observables collects every find in c.out, duplicates included (a
// FortiGate line's address is found under its vendor name and its ECS
// name), and returns a copy of the distinct ones; c.out is kept for the
// next event. Growing a fresh slice per event allocated three times what
// the result keeps.
func (c *collector) observables(ev *tansa.Event) []Observable {
	defer func() {
		clear(c.out)
		c.out = c.out[:0]
	}()
	for k, v := range ev.Fields {
		t, typed := fieldType(k)
		switch v := v.(type) {
		case string:
			if typed {
				c.typed(t, v)
			} else {
				c.text(v)
			}
		case []string:
			for _, s := range v {
				if typed {
					c.typed(t, s)
				} else {
					c.text(s)
				}
			}
		}
	}
	if ev.Format == Raw && len(ev.Raw) > 0 && ev.Fields["message"] == nil {
		c.text(string(ev.Raw))
	}
	if len(c.out) == 0 {
		return nil
	}
	// Sorting makes the result independent of map order and puts
	// duplicates side by side.
	slices.SortFunc(c.out, func(a, b Observable) int {
		if a.Type != b.Type {
			return strings.Compare(string(a.Type), string(b.Type))
		}
		return strings.Compare(a.Value, b.Value)
	})
	return slices.Clone(slices.Compact(c.out))
}

type collector struct {
	out []Observable
}

func (c *collector) add(t ObservableType, v string) {
	if v != "" {
		c.out = append(c.out, Observable{t, v})
	}
}

// typed adds a value from a field whose type is known, normalised; a value
// that does not parse as its type (an "ip" field holding "N/A") is skipped.
func (c *collector) typed(t ObservableType, v string) {
	v = strings.TrimSpace(v)
	if v == "" || v == "-" || v == "?" || strings.EqualFold(v, "n/a") {
		return
	}
	switch t {
	case IP:
		if a, ok := canonicalIP(v); ok {
			c.add(IP, a)
		}
	case Domain, Host:
		if a, ok := canonicalIP(v); ok {
			c.add(IP, a)
			return
		}
		c.add(t, strings.TrimSuffix(strings.ToLower(v), "."))
	case URL:
		if !strings.Contains(v, "://") {
			// "www.example.com/login.php" (Palo Alto) names a domain;
			// "/index.php" names nothing outside the server.
			host, _, _ := strings.Cut(v, "/")
			if d, ok := domain(strings.ToLower(host)); ok {
				c.add(Domain, d)
			}
			return
		}
		u, host := canonicalURL(v)
		c.add(URL, u)
		if host != "" {
			if a, ok := canonicalIP(host); ok {
				c.add(IP, a)
			} else {
				c.add(Domain, host)
			}
		}
	case MD5, SHA1, SHA256, Email:
		c.add(t, strings.ToLower(v))
	case User:
		c.add(User, v)
		if isEmail(v) {
			c.add(Email, strings.ToLower(v))
		}
	default:
		c.add(t, v)
	}
}

// text scans free text: it splits on separators and classifies each token
// that may be an observable.
func (c *collector) text(s string) {
	for i := 0; i < len(s); {
		for i < len(s) && byteClass[s[i]] == classSep {
			i++
		}
		start, mark := i, false
		for i < len(s) && byteClass[s[i]] != classSep {
			mark = mark || byteClass[s[i]] == classMark
			i++
		}
		// Without a mark token's trims and checks would find nothing
		// but a hash's length; most words of a log line are skipped
		// here, before any call.
		if n := i - start; n > 0 && (mark || n == 32 || n == 40 || n == 64) {
			c.token(s[start:i])
		}
	}
}

// The classes of bytes in free text: separators, the marks that token
// trims or looks for, and the rest.
const (
	classOther = iota
	classSep
	classMark
)

var byteClass = func() (t [256]uint8) {
	for _, b := range []byte(" \t\n\r\"'<>(){},;|=`\\") {
		t[b] = classSep
	}
	for _, b := range []byte(".:@/#[]!?") {
		t[b] = classMark
	}
	return t
}()

// token classifies one free-text token.
func (c *collector) token(t string) {
	if strings.HasPrefix(t, "[") {
		// "[2001:db8::1]:443"
		if a, ok := canonicalIP(strings.TrimRight(t, ".")); ok {
			c.add(IP, a)
			return
		}
	}
	t = strings.TrimRight(t, ".:!?]")
	t = strings.TrimLeft(t, "[")
	if len(t) < 3 {
		return
	}
	// Every observable but a hash has one of these (an address's dot or
	// colon, a URL's "://", an e-mail's @, a defanged "[dot]"); most words
	// of a log line have none, and classifying them was most of the cost.
	if len(t) != 32 && len(t) != 40 && len(t) != 64 && !strings.ContainsAny(t, ".:@/#[") {
		return
	}
	lower := strings.ToLower(t)
	if i := strings.Index(lower, "://"); i > 0 {
		scheme := lower[:i]
		if scheme == "http" || scheme == "https" || scheme == "ftp" || scheme == "hxxp" || scheme == "hxxps" {
			c.typed(URL, refang(t))
			return
		}
	}
	if isEmail(t) {
		c.add(Email, strings.ToLower(refang(t)))
		return
	}
	if h, ok := hashType(t); ok {
		c.add(h, lower)
		return
	}
	if a, ok := canonicalIP(t); ok {
		c.add(IP, a)
		return
	}
	// "1.2.3.4/80", "outside:1.2.3.4/80", "1.2.3.4#53"
	if k := strings.IndexAny(t, "/#"); k > 0 {
		head := t[:k]
		if m := strings.LastIndexByte(head, ':'); m >= 0 && strings.Count(head, ":") == 1 {
			head = head[m+1:]
		}
		if a, ok := canonicalIP(head); ok {
			c.add(IP, a)
			return
		}
	}
	if d, ok := domain(refang(lower)); ok {
		c.add(Domain, d)
	}
}

// canonicalIP parses an address, also "1.2.3.4:80" and "[::1]:80".
func canonicalIP(s string) (string, bool) {
	if !maybeIP(s) {
		// netip allocates an error for every miss; most tokens are words.
		return "", false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Is4() {
			// netip reads IPv4 only in its canonical dotted form
			// (no leading zeros): s is already the answer, and
			// formatting a copy was an allocation per address.
			return s, true
		}
		return a.Unmap().WithZone("").String(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("").String(), true
	}
	return "", false
}

// maybeIP reports whether s has only the characters of an address with an
// optional port and zone, and the dots and colons of one: three dots (IPv4,
// with a port, or at the end of an IPv6 address), or a "::", seven colons
// or brackets (IPv6), counted before a zone. Times ("13:45:01") and
// versions ("1.2") have the characters but not the shape; netip allocated
// an error for each of them, twice.
func maybeIP(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	dots, colons, double, bracket, zone := 0, 0, false, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case zone:
			if c != '.' && c != ':' && c != '[' && c != ']' && c != '%' {
				return false
			}
		case c == '.':
			dots++
		case c == ':':
			colons++
			double = double || i > 0 && s[i-1] == ':'
		case c == '[' || c == ']':
			bracket = true
		case c == '%':
			zone = true
		default:
			return false
		}
	}
	return dots == 3 || double || colons == 7 || bracket
}

// canonicalURL lower-cases a URL's scheme and host and returns the host.
func canonicalURL(u string) (string, string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u, ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	userinfo := ""
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, authority = authority[:at+1], authority[at+1:]
	}
	authority = strings.ToLower(authority)
	host := authority
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[1:i]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(scheme) + "://" + userinfo + authority + rest[end:], host
}

// refang undoes the usual defanging: hxxp, [.], (.), [dot], [@].
func refang(s string) string {
	if !strings.ContainsAny(s, "[(") && !strings.HasPrefix(strings.ToLower(s), "hxxp") {
		return s
	}
	r := strings.NewReplacer("[.]", ".", "(.)", ".", "[dot]", ".", "[@]", "@", "[:]", ":")
	s = r.Replace(s)
	if strings.HasPrefix(strings.ToLower(s), "hxxp") {
		s = "http" + s[4:]
	}
	return s
}

func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return false
	}
	_, ok := domain(strings.ToLower(s[at+1:]))
	return ok
}

func hashType(s string) (ObservableType, bool) {
	var t ObservableType
	switch len(s) {
	case 32:
		t = MD5
	case 40:
		t = SHA1
	case 64:
		t = SHA256
	default:
		return "", false
	}
	letters, digits := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters = true
		default:
			return "", false
		}
	}
	// All-digit or all-letter runs are counters and padding, not hashes.
	return t, letters && digits
}

// isFileExtension reports whether a last label makes a dotted token a file
// name in logs far more often than a domain.
func isFileExtension(k string) bool {
	switch k {
	case "exe", "dll", "sys", "bat", "cmd", "ps1", "vbs", "js", "log", "txt", "tmp", "dat", "ini", "cfg", "conf", "xml", "json", "html", "htm", "php", "asp", "aspx", "jsp", "py", "sh", "so", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "jpg", "jpeg", "png", "gif", "gz", "tar", "rar", "csv", "lnk", "msi", "jar", "class", "go", "c", "h", "pid", "sock", "service", "socket", "target", "mount", "d":
		return true
	}
	return false
}

// domain reports whether s (lower case) is a domain name: two or more
// labels of letters, digits and hyphens, the last alphabetic and not a file
// extension.
func domain(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	if len(s) < 4 || len(s) > 253 {
		return "", false
	}
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 {
		return "", false
	}
	tld := s[dot+1:]
	if len(tld) < 2 || len(tld) > 24 || isFileExtension(tld) {
		return "", false
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return "", false
		}
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			label++
			if label > 63 {
				return "", false
			}
		default:
			return "", false
		}
	}
	return s, true
}
