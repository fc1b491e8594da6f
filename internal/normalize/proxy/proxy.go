// Package proxy parses web proxy logs: Squid's native access.log format and
// Proxifier's connection log.
//
// A line enters as a string and leaves as fields added to a *tansa.Event:
// ECS names for the client, the URL and the HTTP exchange ("source.ip",
// "url.full", "url.domain", "http.request.method",
// "http.response.status_code"…) beside the proxy's own fields ("squid.*",
// "proxifier.*"). These are the fields the phishing desk asks "who opened
// this URL?" of.
package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats this package stores in Event.Format.
const (
	Squid     = "squid"
	Proxifier = "proxifier"
)

// Detect returns Squid or Proxifier when line looks like one of their
// records, or "".
func Detect(line string) string {
	switch {
	case isSquid(line):
		return Squid
	case isProxifier(line):
		return Proxifier
	}
	return ""
}

// Parse parses a Squid or Proxifier line, as Detect classifies it, adds its
// fields to ev.Fields and sets ev.Format and ev.Time. received decides the
// year of Proxifier's year-less timestamps (see ParseProxifier).
func Parse(line string, received time.Time, ev *tansa.Event) error {
	switch Detect(line) {
	case Squid:
		return ParseSquid(line, ev)
	case Proxifier:
		return ParseProxifier(line, received, ev)
	}
	ev.Format = Squid
	return fmt.Errorf("proxy: neither a Squid nor a Proxifier record [col 0]")
}

// isSquid reports whether s starts with "seconds.millis" and spaces.
func isSquid(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < 9 || i >= len(s) || s[i] != '.' {
		return false
	}
	i++
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i < len(s) && s[i] == ' '
}

// ParseSquid parses one line of Squid's native access.log format:
//
//	time elapsed client action/code size method URL user hierarchy/peer type
//
// A line with fewer than the first seven fields is an error naming the
// missing field; fields present before it are kept.
func ParseSquid(line string, ev *tansa.Event) error {
	ev.Format = Squid
	f := ev.Fields
	f["observer.product"] = "Squid"
	var fld [10]string
	n := 0
	rest := line
	for n < len(fld) {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		fld[n] = rest[:end]
		rest = rest[end:]
		n++
	}
	names := [...]string{"time", "elapsed", "client address", "result code", "size", "method", "URL"}
	if n < len(names) {
		return fmt.Errorf("squid: line ends before the %s field (field %d of 10) [col %d]", names[n], n+1, len(line))
	}
	secs, frac, _ := strings.Cut(fld[0], ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return fmt.Errorf("squid: time %q is not seconds.millis [col 0]", clip(fld[0]))
	}
	ms, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	ev.Time = time.Unix(s, ms*int64(time.Millisecond)).UTC()
	if v, err := strconv.ParseInt(fld[1], 10, 64); err == nil {
		f["squid.elapsed_ms"] = v
		f["event.duration"] = v * int64(time.Millisecond)
	}
	if a, err := netip.ParseAddr(fld[2]); err == nil {
		f["source.ip"] = a.String()
	} else {
		f["source.domain"] = strings.ToLower(fld[2])
	}
	action, code, _ := strings.Cut(fld[3], "/")
	f["squid.result_code"] = action
	f["event.action"] = strings.ToLower(action)
	if c, err := strconv.ParseInt(code, 10, 64); err == nil {
		f["http.response.status_code"] = c
		switch {
		case strings.Contains(action, "DENIED"):
			f["event.outcome"] = "failure"
		case c >= 100 && c < 400:
			f["event.outcome"] = "success"
		case c >= 400:
			f["event.outcome"] = "failure"
		}
	}
	if v, err := strconv.ParseInt(fld[4], 10, 64); err == nil {
		f["http.response.bytes"] = v
	}
	f["http.request.method"] = fld[5]
	setURL(f, fld[6], fld[5])
	if n > 7 && fld[7] != "-" {
		f["user.name"] = fld[7]
	}
	if n > 8 {
		h, peer, _ := strings.Cut(fld[8], "/")
		f["squid.hierarchy_code"] = h
		if a, err := netip.ParseAddr(peer); err == nil {
			f["destination.ip"] = a.String()
		} else if peer != "-" && peer != "" {
			f["destination.domain"] = strings.ToLower(peer)
		}
	}
	if n > 9 && fld[9] != "-" {
		f["http.response.mime_type"] = fld[9]
	}
	return nil
}

// setURL stores the URL Squid logged. CONNECT requests log "host:port";
// others a full URL, or a bare path when the request was refused early.
func setURL(f map[string]any, u, method string) {
	f["url.original"] = u
	if method == "CONNECT" || !strings.Contains(u, "://") && !strings.HasPrefix(u, "/") {
		host, port := splitHostPort(u)
		if host != "" && host != "-" {
			f["url.domain"] = strings.ToLower(host)
			if p, err := strconv.ParseInt(port, 10, 64); err == nil {
				f["destination.port"] = p
			}
		}
		return
	}
	if !strings.Contains(u, "://") {
		f["url.path"] = u
		return
	}
	f["url.full"] = u
	scheme, rest, _ := strings.Cut(u, "://")
	f["url.scheme"] = strings.ToLower(scheme)
	hostport := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostport = rest[:i]
		path := rest[i:]
		if q := strings.IndexByte(path, '?'); q >= 0 {
			f["url.query"] = path[q+1:]
			path = path[:q]
		}
		if path != "" && path[0] == '/' {
			f["url.path"] = path
		}
	}
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	host, port := splitHostPort(hostport)
	f["url.domain"] = strings.ToLower(host)
	if p, err := strconv.ParseInt(port, 10, 64); err == nil {
		f["url.port"] = p
	}
}

func splitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i > 0 {
			return hp[1:i], strings.TrimPrefix(hp[i+1:], ":")
		}
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && strings.Count(hp, ":") == 1 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// isProxifier reports whether s starts with "[MM.DD hh:mm:ss] ".
func isProxifier(s string) bool {
	return len(s) > 17 && s[0] == '[' && s[3] == '.' && s[6] == ' ' && s[9] == ':' && s[12] == ':' && s[15] == ']'
}

// ParseProxifier parses one line of Proxifier's log:
//
//	[10.30 16:49:06] chrome.exe - host:port open through proxy p:5070 HTTPS
//	[10.30 16:49:07] chrome.exe *64 - host:port close, 403 bytes sent, 426 bytes received, lifetime <1 sec
//	[10.30 16:49:08] app.exe - host:port error : Could not connect …
//
// Proxifier writes month and day without a year: the year is received's,
// or the one before when that would put the record more than seven days
// after received (the same rule as for RFC 3164 syslog). Times are read in
// received's location.
func ParseProxifier(line string, received time.Time, ev *tansa.Event) error {
	ev.Format = Proxifier
	f := ev.Fields
	f["observer.product"] = "Proxifier"
	if !isProxifier(line) {
		return fmt.Errorf("proxifier: line does not start with \"[MM.DD hh:mm:ss]\" [col 0]")
	}
	if received.IsZero() {
		received = time.Now()
	}
	if t, err := time.ParseInLocation("01.02 15:04:05", line[1:15], received.Location()); err == nil {
		y := time.Date(received.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, received.Location())
		if y.After(received.Add(7 * 24 * time.Hour)) {
			y = y.AddDate(-1, 0, 0)
		}
		ev.Time = y
	}
	rest := line[17:]
	dash := strings.Index(rest, " - ")
	if dash < 0 {
		return fmt.Errorf("proxifier: no \" - \" after the program name [col 17]")
	}
	prog := rest[:dash]
	if p, ok := strings.CutSuffix(prog, " *64"); ok {
		prog = p
		f["proxifier.64bit"] = true
	}
	f["process.name"] = prog
	rest = rest[dash+3:]
	target, text, _ := strings.Cut(rest, " ")
	host, port := splitHostPort(target)
	if a, err := netip.ParseAddr(host); err == nil {
		f["destination.ip"] = a.String()
	} else {
		f["destination.domain"] = strings.ToLower(host)
	}
	if p, err := strconv.ParseInt(port, 10, 64); err == nil {
		f["destination.port"] = p
	}
	f["message"] = text
	switch {
	case strings.HasPrefix(text, "open through proxy "):
		f["event.action"] = "open"
		f["event.outcome"] = "success"
		via, proto, _ := strings.Cut(text[len("open through proxy "):], " ")
		f["proxifier.proxy"] = via
		if proto != "" {
			f["network.protocol"] = strings.ToLower(proto)
		}
	case strings.HasPrefix(text, "close"):
		f["event.action"] = "close"
		words := strings.Fields(text)
		for i := 1; i < len(words); i++ {
			w := strings.TrimSuffix(words[i], ",")
			switch w {
			case "sent":
				if i < 2 {
					continue
				}
				if n, err := strconv.ParseInt(words[i-2], 10, 64); err == nil && words[i-1] == "bytes" {
					f["source.bytes"] = n
				}
			case "received":
				// "18846 bytes (18.4 KB) received"
				for j := i - 1; j > 0; j-- {
					if words[j] == "bytes" {
						if n, err := strconv.ParseInt(words[j-1], 10, 64); err == nil {
							f["destination.bytes"] = n
						}
						break
					}
				}
			}
		}
		if _, life, ok := strings.Cut(text, "lifetime "); ok {
			f["proxifier.lifetime"] = life
		}
	case strings.HasPrefix(text, "error"):
		f["event.action"] = "error"
		f["event.outcome"] = "failure"
		f["error.message"] = strings.TrimLeft(strings.TrimPrefix(text, "error"), " :")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
