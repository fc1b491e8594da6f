// Package kv parses firewall logs written as key=value pairs or close
// relatives of them: FortiGate, Palo Alto (CSV, bare or in syslog), Cisco
// ASA/FTD/PIX ("%ASA-6-302013: …"), Linux iptables/netfilter, Check Point
// ("[key:"value"; …]"), and any other key=value record.
//
// A record enters as a string (the body of a syslog record, or a line from
// a file) and leaves as fields added to a *tansa.Event: the vendor's own
// field names as-is, plus their ECS names ("srcip" → "source.ip", "SPT" →
// "source.port", "%ASA-…-106023" → "event.code" "106023"…). Detect names the
// vendor; Parse detects it again and parses.
package kv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats Parse stores in Event.Format.
const (
	FortiGate  = "fortigate"
	PaloAlto   = "paloalto"
	CiscoASA   = "cisco_asa"
	IPTables   = "iptables"
	CheckPoint = "checkpoint"
	Generic    = "kv"
)

// Detect returns the vendor format of line (one of the constants above),
// or "" when line is not a key=value record that Parse understands. A line
// with three or more key=value pairs and no known vendor is Generic.
func Detect(line string) string {
	switch {
	case isASA(line):
		return CiscoASA
	case isPaloAlto(line):
		return PaloAlto
	case isCheckPoint(line):
		return CheckPoint
	case isIPTables(line):
		return IPTables
	case isFortiGate(line):
		return FortiGate
	case countPairs(line, 3) >= 3:
		return Generic
	}
	return ""
}

// Parse detects the vendor of line, parses it, and adds its fields to
// ev.Fields; it sets ev.Format and, when the record carries its own time,
// ev.Time. A line that is not key=value at all is an error; so is an
// unterminated quote. The error names what and the column; fields read
// before the error stay.
func Parse(line string, ev *tansa.Event) error {
	switch Detect(line) {
	case CiscoASA:
		ev.Format = CiscoASA
		return parseASA(line, ev)
	case PaloAlto:
		ev.Format = PaloAlto
		return parsePaloAlto(line, ev)
	case CheckPoint:
		ev.Format = CheckPoint
		return parseCheckPoint(line, ev)
	case IPTables:
		ev.Format = IPTables
		return parseIPTables(line, ev)
	case FortiGate:
		ev.Format = FortiGate
		return parseFortiGate(line, ev)
	}
	// Generic, or fewer pairs than detection wants, when the caller says
	// the line is key=value.
	ev.Format = Generic
	if countPairs(line, 1) == 0 {
		return fmt.Errorf("kv: no key=value pairs in %q [col 0]", clip(line))
	}
	_, err := pairs(line, ev.Fields, nil)
	return err
}

// pairs reads space-separated key=value pairs, values optionally in double
// quotes with backslash escapes, into f. Bare words (iptables' "DF", "SYN")
// are returned in order. A key seen twice keeps its first value: in
// iptables the second LEN is the transport's, not the packet's.
func pairs(s string, f map[string]any, bare []string) ([]string, error) {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			bare = append(bare, s[start:i])
			continue
		}
		key := s[start:i]
		if !validKey(key) {
			// "(detection=%u": prose with an equals sign, not a pair.
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			bare = append(bare, s[start:i])
			continue
		}
		i++
		var v string
		if i < len(s) && s[i] == '"' {
			end, escaped := closingQuote(s, i+1)
			if end < 0 {
				return bare, fmt.Errorf("kv: value of %q has no closing quote [col %d]", clip(key), i)
			}
			v = s[i+1 : end]
			if escaped {
				v = unquote(v)
			}
			i = end + 1
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			v = s[vs:i]
		}
		if _, seen := f[key]; !seen && key != "" {
			f[key] = v
		}
	}
	return bare, nil
}

func closingQuote(s string, i int) (int, bool) {
	escaped := false
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i, escaped
		}
	}
	return -1, escaped
}

func unquote(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// countPairs counts "key=" tokens at word starts, stopping at limit.
func countPairs(s string, limit int) int {
	n := 0
	word := true
	for i := 0; i < len(s) && n < limit; i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			word = true
		case word && isKeyByte(c):
			j := i
			for j < len(s) && isKeyByte(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '=' {
				n++
			}
			i = j
			word = false
		default:
			word = false
		}
	}
	return n
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isKeyByte(k[i]) && k[i] != ':' && k[i] != '[' && k[i] != ']' {
			return false
		}
	}
	return true
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// copyAs copies the string value under key to name, as an int64 when
// integer is set (a value that is not a number is not copied), and skips
// empty and placeholder values ("N/A", "-").
func copyAs(f map[string]any, key, name string, integer bool) {
	copyBoxed(f, f[key], name, integer)
}

// A vendorName maps a vendor's field name to its ECS name.
type vendorName = struct {
	key, name string
	integer   bool
}

// copyNames copies each vendor field of names present in f to its ECS
// name (copyAs) unless that name is taken, the first of two vendor names
// winning. A line holds a third of its vendor's names or fewer: the vendor
// name is looked up first, and the ECS name only when there is something
// to copy (one map lookup per name instead of two).
func copyNames(f map[string]any, names []vendorName) {
	for _, m := range names {
		if boxed, ok := f[m.key]; ok {
			if _, taken := f[m.name]; !taken {
				copyBoxed(f, boxed, m.name, m.integer)
			}
		}
	}
}

// copyBoxed is copyAs with the key's value already looked up.
func copyBoxed(f map[string]any, boxed any, name string, integer bool) {
	v, ok := boxed.(string)
	if !ok || v == "" || v == "N/A" || v == "-" || v == "n/a" {
		return
	}
	if integer {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			f[name] = n
		}
		return
	}
	// The interface value is shared, not the string boxed again: one
	// allocation fewer per field.
	f[name] = boxed
}

// ianaTransport names the transports that firewalls log by IANA number.
func ianaTransport(n string) string {
	switch n {
	case "1":
		return "icmp"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "47":
		return "gre"
	case "50":
		return "esp"
	case "58":
		return "ipv6-icmp"
	}
	return ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// --- FortiGate ---

func isFortiGate(s string) bool {
	return (strings.HasPrefix(s, "date=") || strings.Contains(s, " date=")) &&
		(strings.Contains(s, "devname=") || strings.Contains(s, "logid=") || strings.Contains(s, "devid="))
}

var fortiNames = [...]vendorName{
	{"srcip", "source.ip", false}, {"srcport", "source.port", true}, {"dstip", "destination.ip", false},
	{"dstport", "destination.port", true}, {"action", "event.action", false}, {"logid", "event.code", false},
	{"devname", "observer.name", false}, {"devid", "observer.serial_number", false}, {"user", "user.name", false},
	{"srcuser", "source.user.name", false}, {"msg", "message", false}, {"level", "log.level", false},
	{"srcintf", "observer.ingress.interface.name", false}, {"dstintf", "observer.egress.interface.name", false},
	{"policyid", "rule.id", false}, {"attack", "rule.name", false}, {"hostname", "url.domain", false},
	{"service", "network.protocol", false}, {"sentbyte", "source.bytes", true}, {"rcvdbyte", "destination.bytes", true},
	{"remip", "destination.ip", false}, {"remport", "destination.port", true}, {"logdesc", "event.reason", false},
	{"srcname", "source.domain", false}, {"qname", "dns.question.name", false}, {"qtype", "dns.question.type", false},
	{"virus", "rule.name", false}, {"filename", "file.name", false}, {"catdesc", "url.category", false},
}

func parseFortiGate(line string, ev *tansa.Event) error {
	f := ev.Fields
	_, err := pairs(line, f, nil)
	f["observer.vendor"] = "Fortinet"
	f["observer.product"] = "FortiGate"
	copyNames(f, fortiNames[:])
	if p, ok := f["proto"].(string); ok {
		if t := ianaTransport(p); t != "" {
			f["network.transport"] = t
		}
	}
	if h, ok := f["url.domain"].(string); ok {
		f["url.domain"] = strings.ToLower(h)
	}
	if u, ok := f["url"].(string); ok {
		if h, ok := f["hostname"].(string); ok && strings.HasPrefix(u, "/") {
			f["url.full"] = "http://" + h + u
			f["url.path"] = u
		} else {
			f["url.full"] = u
		}
	}
	if st, ok := f["status"].(string); ok {
		switch st {
		case "success":
			f["event.outcome"] = "success"
		case "failed", "failure":
			f["event.outcome"] = "failure"
		}
	}
	if t, ok := fortiTime(f); ok {
		ev.Time = t
	}
	return err
}

func fortiTime(f map[string]any) (time.Time, bool) {
	if s, ok := f["eventtime"].(string); ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			// FortiOS 6.2+ writes nanoseconds; earlier versions seconds.
			switch {
			case n > 1e17:
				return time.Unix(0, n).UTC(), true
			case n > 1e14:
				return time.UnixMicro(n).UTC(), true
			case n > 1e11:
				return time.UnixMilli(n).UTC(), true
			default:
				return time.Unix(n, 0).UTC(), true
			}
		}
	}
	d, _ := f["date"].(string)
	c, _ := f["time"].(string)
	if d == "" || c == "" {
		return time.Time{}, false
	}
	loc := time.UTC
	if tz, ok := f["tz"].(string); ok {
		if t, err := time.Parse("-0700", tz); err == nil {
			loc = t.Location()
		}
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", d+" "+c, loc)
	return t, err == nil
}
