// Package leef parses IBM QRadar Log Event Extended Format records, LEEF 1.0
// and 2.0:
//
//	LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…
//	LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value<D>key=value…
//
// A record enters as a string starting at "LEEF:" and leaves as fields added
// to a *tansa.Event: every attribute as-is, plus the ECS names of the
// predefined LEEF keys ("src" → "source.ip", "usrName" → "user.name",
// "devTime" → the event's time…).
//
// LEEF 2.0's delimiter is one character, written as itself or in hex ("0x5E",
// "x5E", "^"); an empty delimiter field means a tab. Some LEEF 1.0 senders
// separate attributes with spaces instead of tabs: when a record has no tab,
// a value runs until the space before the next "key=", as in CEF.
package leef

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Format is the value Parse stores in Event.Format.
const Format = "leef"

// Detect reports whether line is a LEEF record.
func Detect(line string) bool {
	return len(line) > 6 && strings.HasPrefix(line, "LEEF:") && line[5] >= '0' && line[5] <= '9'
}

// Index returns the offset of a LEEF record inside a syslog body, or -1.
func Index(body string) int {
	i := strings.Index(body, "LEEF:")
	if i < 0 || !Detect(body[i:]) {
		return -1
	}
	return i
}

// Parse parses the LEEF record in line and adds its fields to ev.Fields; it
// sets ev.Format, and ev.Time when the record has a "devTime" that can be
// read (in the format "devTimeFormat" names, Java-style, or the LEEF
// default "MMM dd yyyy HH:mm:ss", or milliseconds since the epoch). The
// error names what is wrong and the column; fields read before the error
// stay in ev.Fields.
func Parse(line string, ev *tansa.Event) error {
	ev.Format = Format
	f := ev.Fields
	if !Detect(line) {
		return fmt.Errorf("leef: record does not start with \"LEEF:\" and a version [col 0]")
	}
	pos := 5
	end := strings.IndexByte(line[pos:], '|')
	if end < 0 {
		return fmt.Errorf("leef: header has 0 of 5 fields [col %d]", len(line))
	}
	version := line[pos : pos+end]
	f["leef.version"] = version
	pos += end + 1
	names := [...]string{"observer.vendor", "observer.product", "observer.version", "event.code"}
	for i, name := range names {
		end := strings.IndexByte(line[pos:], '|')
		if end < 0 {
			return fmt.Errorf("leef: header has %d of 5 fields [col %d]", i+1, len(line))
		}
		f[name] = line[pos : pos+end]
		pos += end + 1
	}
	delim := byte('\t')
	if version != "1.0" && version != "1" {
		end := strings.IndexByte(line[pos:], '|')
		if end < 0 {
			return fmt.Errorf("leef: LEEF %s header has no delimiter field [col %d]", version, pos)
		}
		d, err := delimiter(line[pos : pos+end])
		if err != nil {
			return fmt.Errorf("leef: %w [col %d]", err, pos)
		}
		delim = d
		pos += end + 1
	}
	attrs := line[pos:]
	if delim == '\t' && strings.IndexByte(attrs, '\t') < 0 && strings.Count(attrs, "=") > 1 {
		spaced(attrs, pos, f)
	} else if err := delimited(attrs, pos, delim, f); err != nil {
		return err
	}
	if t, ok := devTime(f); ok {
		ev.Time = t
	}
	return nil
}

func delimiter(s string) (byte, error) {
	switch {
	case s == "":
		return '\t', nil
	case len(s) == 1:
		return s[0], nil
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "x") || strings.HasPrefix(s, "\\x"):
		h := s[strings.IndexByte(s, 'x')+1:]
		n, err := strconv.ParseUint(h, 16, 8)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("delimiter %q is not a hex character", s)
		}
		return byte(n), nil
	}
	return 0, fmt.Errorf("delimiter %q is neither one character nor hex", s)
}

func delimited(attrs string, base int, delim byte, f map[string]any) error {
	pos := 0
	for pos <= len(attrs) {
		end := strings.IndexByte(attrs[pos:], delim)
		var kv string
		if end < 0 {
			kv = attrs[pos:]
			end = len(attrs)
		} else {
			kv = attrs[pos : pos+end]
			end += pos
		}
		kv = strings.TrimRight(kv, "\r\n")
		if kv != "" {
			eq := strings.IndexByte(kv, '=')
			if eq <= 0 {
				return fmt.Errorf("leef: attribute %q has no key=value [col %d]", clip(kv), base+pos)
			}
			set(f, strings.TrimSpace(kv[:eq]), kv[eq+1:])
		}
		pos = end + 1
	}
	return nil
}

// spaced splits space-separated attributes, a value running until the
// space before the next "key=".
func spaced(attrs string, base int, f map[string]any) {
	pos := 0
	for pos < len(attrs) && attrs[pos] == ' ' {
		pos++
	}
	for pos < len(attrs) {
		eq := strings.IndexByte(attrs[pos:], '=')
		if eq < 0 {
			return
		}
		key := attrs[pos : pos+eq]
		start := pos + eq + 1
		end, next := len(attrs), len(attrs)
		last := -1
		for i := start; i < len(attrs); i++ {
			if attrs[i] == ' ' {
				last = i
			} else if attrs[i] == '=' && last >= start && isKey(attrs[last+1:i]) {
				end, next = last, last+1
				break
			}
		}
		set(f, key, strings.TrimRight(attrs[start:end], " \r\n"))
		pos = next
	}
}

func isKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ecsName maps one of LEEF's predefined keys to its ECS name.
func ecsName(k string) (string, bool) {
	switch k {
	case "src", "identSrc":
		return "source.ip", true
	case "dst":
		return "destination.ip", true
	case "srcPort":
		return "source.port", true
	case "dstPort":
		return "destination.port", true
	case "srcPreNAT", "srcPostNAT":
		return "source.nat.ip", true
	case "dstPreNAT", "dstPostNAT":
		return "destination.nat.ip", true
	case "srcMAC":
		return "source.mac", true
	case "dstMAC":
		return "destination.mac", true
	case "usrName", "accountName":
		return "user.name", true
	case "identHostName":
		return "host.name", true
	case "proto":
		return "network.transport", true
	case "url":
		return "url.full", true
	case "sev":
		return "event.severity", true
	case "srcBytes":
		return "source.bytes", true
	case "dstBytes":
		return "destination.bytes", true
	case "action":
		return "event.action", true
	case "domain":
		return "user.domain", true
	case "policy":
		return "rule.name", true
	case "resource":
		return "url.domain", true
	case "userAgent":
		return "user_agent.original", true
	case "method":
		return "http.request.method", true
	}
	return "", false
}

// isIntName reports whether ECS wants a number under name.
func isIntName(k string) bool {
	switch k {
	case "source.port", "destination.port", "event.severity", "source.bytes", "destination.bytes":
		return true
	}
	return false
}

// set stores an attribute under its LEEF key and, for predefined keys,
// under its ECS name too (as a number where ECS wants one).
func set(f map[string]any, k, v string) {
	boxed := any(v) // shared by the LEEF key and its ECS name
	f[k] = boxed
	name, ok := ecsName(k)
	if !ok {
		return
	}
	switch {
	case isIntName(name):
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			f[name] = n
		}
	case name == "network.transport":
		f[name] = strings.ToLower(v)
	default:
		if _, taken := f[name]; !taken || k == "src" || k == "dst" {
			f[name] = boxed
		}
	}
}

func devTime(f map[string]any) (time.Time, bool) {
	s, ok := f["devTime"].(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	layouts := []string{"Jan 02 2006 15:04:05", "Jan 2 2006 15:04:05", "Jan 02 2006 15:04:05.000", time.RFC3339Nano}
	if jf, ok := f["devTimeFormat"].(string); ok && jf != "" {
		layouts = append([]string{javaLayout(jf)}, layouts...)
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// javaLayout turns the Java SimpleDateFormat patterns that LEEF senders
// use into a Go layout. Letters it does not know are kept literally, so
// that an exotic pattern fails to parse rather than parses wrongly.
func javaLayout(p string) string {
	repl := []struct{ java, goLayout string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"},
		{"dd", "02"}, {"d", "2"}, {"HH", "15"}, {"hh", "03"}, {"mm", "04"}, {"ss", "05"},
		{"SSS", "999999999"}, {"a", "PM"}, {"zzz", "MST"}, {"z", "MST"}, {"XXX", "Z07:00"}, {"Z", "-0700"},
		{"'T'", "T"}, {"EEE", "Mon"},
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		matched := false
		for _, r := range repl {
			if strings.HasPrefix(p[i:], r.java) {
				b.WriteString(r.goLayout)
				i += len(r.java)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(p[i])
			i++
		}
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
