// Package cef parses ArcSight Common Event Format records:
//
//	CEF:Version|Vendor|Product|Version|Signature ID|Name|Severity|Extension
//
// A record enters as a string starting at "CEF:" (a syslog header, if any,
// is removed by the caller) and leaves as fields added to a *tansa.Event:
// every extension key as-is, each csN/cnN/flexString value also under the
// name its label gives, and the ECS names of the well-known keys ("src" →
// "source.ip", "dpt" → "destination.port", "rt" → the event's time…).
//
// Escapes follow the CEF specification: "\|" and "\\" in the header; "\=",
// "\\", "\n" and "\r" in extension values. An extension value runs until the
// space before the next unescaped "key=", so values may contain spaces.
package cef

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// Format is the value Parse stores in Event.Format.
const Format = "cef"

// Detect reports whether line is a CEF record: "CEF:" and a version digit.
func Detect(line string) bool {
	return len(line) > 5 && strings.HasPrefix(line, "CEF:") && line[4] >= '0' && line[4] <= '9'
}

// Index returns the offset of a CEF record inside a syslog body such as
// "ASM:CEF:0|F5|…", or -1.
func Index(body string) int {
	for off := 0; ; {
		i := strings.Index(body[off:], "CEF:")
		if i < 0 {
			return -1
		}
		if Detect(body[off+i:]) && strings.IndexByte(body[off+i:], '|') > 0 {
			return off + i
		}
		off += i + 4
	}
}

var headerNames = [...]string{"cef.version", "observer.vendor", "observer.product", "observer.version", "event.code", "cef.name", "cef.severity"}

// Parse parses the CEF record in line and adds its fields to ev.Fields; it
// sets ev.Format, and ev.Time when the record has an "rt" or "end" time.
// Field values are substrings of line where no escape had to be undone.
// The error names what is wrong and the column; the fields read before the
// error stay in ev.Fields.
func Parse(line string, ev *tansa.Event) error {
	ev.Format = Format
	f := ev.Fields
	if !strings.HasPrefix(line, "CEF:") {
		return fmt.Errorf("cef: record does not start with \"CEF:\" [col 0]")
	}
	pos := 4
	var buf strings.Builder
	for i := 0; i < len(headerNames); i++ {
		end, escaped := headerField(line, pos)
		if end < 0 {
			return fmt.Errorf("cef: header has %d of 7 fields [col %d]", i, len(line))
		}
		v := line[pos:end]
		if escaped {
			v = unescape(v, &buf, false)
		}
		switch i {
		case 0:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("cef: version %q is not a number [col %d]", v, pos)
			}
			f["cef.version"] = n
		case 6:
			f["cef.severity"] = v
			if n, ok := severity(v); ok {
				f["event.severity"] = n
			}
		case 5:
			// The Name is the message unless the extension's msg says more.
			f["cef.name"] = v
			f["message"] = v
		default:
			f[headerNames[i]] = v
		}
		pos = end + 1
	}
	if err := extension(line, pos, f, &buf); err != nil {
		return err
	}
	labels(f)
	if t, ok := eventTime(f); ok {
		ev.Time = t
	}
	return nil
}

// headerField returns the index of the "|" that ends the header field at
// pos and whether the field contains escapes.
func headerField(s string, pos int) (int, bool) {
	escaped := false
	for i := pos; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '|':
			return i, escaped
		}
	}
	return -1, escaped
}

// extension parses "key=value key=value…" starting at pos.
func extension(s string, pos int, f map[string]any, buf *strings.Builder) error {
	for pos < len(s) && s[pos] == ' ' {
		pos++
	}
	for pos < len(s) {
		eq := keyEnd(s, pos)
		if eq < 0 {
			return fmt.Errorf("cef: extension %q has no \"=\" [col %d]", clip(s[pos:]), pos)
		}
		key := s[pos:eq]
		if key == "" || !validKey(key) {
			return fmt.Errorf("cef: extension key %q is not a key [col %d]", clip(key), pos)
		}
		start := eq + 1
		end, next, escaped := valueEnd(s, start)
		v := s[start:end]
		if escaped {
			v = unescape(v, buf, true)
		}
		boxed := any(v) // shared by the CEF key and its ECS name
		f[key] = boxed
		if name, ok := ecsName(key); ok {
			setECS(f, name, v, boxed)
		}
		pos = next
	}
	return nil
}

// keyEnd returns the index of the first unescaped "=" at or after pos.
func keyEnd(s string, pos int) int {
	for i := pos; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			return i
		}
	}
	return -1
}

// valueEnd finds where the value starting at start ends: before the space
// that precedes the next "key=", or at the end of s (trailing spaces
// trimmed). It returns the end, where the next key starts, and whether the
// value has escapes.
func valueEnd(s string, start int) (end, next int, escaped bool) {
	lastSpace := -1
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case ' ':
			lastSpace = i
		case '=':
			if lastSpace >= start && validKey(s[lastSpace+1:i]) {
				end = lastSpace
				for end > start && s[end-1] == ' ' {
					end--
				}
				return end, lastSpace + 1, escaped
			}
		}
	}
	end = len(s)
	for end > start && (s[end-1] == ' ' || s[end-1] == '\n' || s[end-1] == '\r') {
		end--
	}
	return end, len(s), escaped
}

// validKey reports whether k can be an extension key: letters, digits and
// "_", "-", ".", "[", "]" (vendors use all of these).
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func unescape(v string, b *strings.Builder, ext bool) string {
	b.Reset()
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			b.WriteByte(c)
			continue
		}
		i++
		switch n := v[i]; {
		case ext && n == 'n':
			b.WriteByte('\n')
		case ext && n == 'r':
			b.WriteByte('\r')
		case n == '\\' || n == '|' || n == '=':
			b.WriteByte(n)
		default:
			// An unknown escape is kept as written rather than guessed at.
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
	return b.String()
}

func severity(v string) (int64, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	switch strings.ToLower(v) {
	case "unknown":
		return 0, true
	case "low":
		return 3, true
	case "medium":
		return 6, true
	case "high":
		return 8, true
	case "very-high", "very high":
		return 10, true
	}
	return 0, false
}

// ecsName maps a CEF key, short or full form, to its ECS name, following
// Elastic's CEF module.
func ecsName(k string) (string, bool) {
	switch k {
	case "src", "sourceAddress":
		return "source.ip", true
	case "spt", "sourcePort":
		return "source.port", true
	case "dst", "destinationAddress":
		return "destination.ip", true
	case "dpt", "destinationPort":
		return "destination.port", true
	case "shost", "sourceHostName":
		return "source.domain", true
	case "dhost", "destinationHostName":
		return "destination.domain", true
	case "suser", "sourceUserName":
		return "source.user.name", true
	case "duser", "destinationUserName":
		return "user.name", true
	case "suid":
		return "source.user.id", true
	case "duid":
		return "user.id", true
	case "smac":
		return "source.mac", true
	case "dmac":
		return "destination.mac", true
	case "proto", "transportProtocol":
		return "network.transport", true
	case "app", "applicationProtocol":
		return "network.protocol", true
	case "act", "deviceAction":
		return "event.action", true
	case "outcome", "eventOutcome":
		return "event.outcome", true
	case "reason":
		return "event.reason", true
	case "request", "requestUrl":
		return "url.full", true
	case "requestMethod":
		return "http.request.method", true
	case "requestClientApplication":
		return "user_agent.original", true
	case "msg":
		return "message", true
	case "dvchost", "deviceHostName":
		return "observer.hostname", true
	case "dvc", "deviceAddress":
		return "observer.ip", true
	case "fname", "fileName":
		return "file.name", true
	case "filePath":
		return "file.path", true
	case "fsize", "fileSize":
		return "file.size", true
	case "fileHash":
		return "file.hash", true
	case "dproc", "destinationProcessName":
		return "process.name", true
	case "sproc":
		return "source.process.name", true
	case "dpid":
		return "process.pid", true
	case "spid":
		return "source.process.pid", true
	case "in", "bytesIn":
		return "source.bytes", true
	case "out", "bytesOut":
		return "destination.bytes", true
	case "sourceTranslatedAddress":
		return "source.nat.ip", true
	case "destinationTranslatedAddress":
		return "destination.nat.ip", true
	case "sourceTranslatedPort":
		return "source.nat.port", true
	case "destinationTranslatedPort":
		return "destination.nat.port", true
	}
	return "", false
}

// isIntName reports whether ECS wants a number under name.
func isIntName(k string) bool {
	switch k {
	case "source.port", "destination.port", "file.size", "process.pid", "source.process.pid", "source.bytes", "destination.bytes", "source.nat.port", "destination.nat.port":
		return true
	}
	return false
}

var labelled = [...]string{"cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3", "cfp1", "cfp2", "cfp3", "cfp4", "c6a1", "c6a2", "c6a3", "c6a4", "flexString1", "flexString2", "flexNumber1", "flexNumber2", "deviceCustomDate1", "deviceCustomDate2", "flexDate1"}

// setECS stores an extension value under its ECS name, as a number where
// ECS wants one; a value that is not a number stays under its CEF key only.
func setECS(f map[string]any, name, v string, boxed any) {
	switch {
	case isIntName(name):
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			f[name] = n
		}
	case name == "network.transport":
		f[name] = strings.ToLower(v)
	case name == "url.full":
		if !strings.Contains(v, "://") {
			// "request=/index.php": a path, not a full URL.
			f["url.original"] = boxed
			if strings.HasPrefix(v, "/") {
				f["url.path"] = boxed
			}
			return
		}
		f[name] = boxed
		if host := urlHost(v); host != "" {
			f["url.domain"] = host
		}
	default:
		f[name] = boxed
	}
}

// labels copies each labelled custom value to the name its label gives,
// unless that name is taken.
func labels(f map[string]any) {
	for _, k := range labelled {
		v, ok := f[k]
		if !ok {
			continue
		}
		label, _ := f[k+"Label"].(string)
		if label == "" {
			continue
		}
		if _, taken := f[label]; !taken {
			f[label] = v
		}
	}
}

func urlHost(u string) string {
	i := strings.Index(u, "://")
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 && strings.Count(h, ":") == 1 {
		h = h[:j]
	}
	return strings.ToLower(h)
}

// timeLayouts are the date formats the CEF specification allows for "rt"
// and "end" besides milliseconds since the epoch.
var timeLayouts = [...]string{
	"Jan 2 2006 15:04:05.000 MST", "Jan 2 2006 15:04:05 MST", "Jan 2 2006 15:04:05.000", "Jan 2 2006 15:04:05",
	"Jan 2 15:04:05.000 MST", "Jan 2 15:04:05 MST", "Jan 2 15:04:05.000", "Jan 2 15:04:05", time.RFC3339Nano,
}

func eventTime(f map[string]any) (time.Time, bool) {
	for _, k := range [...]string{"rt", "end", "deviceReceiptTime", "endTime"} {
		s, ok := f[k].(string)
		if !ok || s == "" {
			continue
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), true
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
