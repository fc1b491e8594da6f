package kv

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// --- Palo Alto ---

// isPaloAlto reports whether s starts like a PAN-OS CSV record:
// "FUTURE_USE,YYYY/MM/DD hh:mm:ss,serial,TYPE,".
func isPaloAlto(s string) bool {
	i := strings.IndexByte(s, ',')
	if i < 1 || i > 4 || len(s) < i+21 {
		return false
	}
	d := s[i+1:]
	return d[4] == '/' && d[7] == '/' && d[10] == ' ' && d[13] == ':' && d[19] == ',' && isDigits(s[:i])
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// PAN-OS field names (the names of the custom log format's variables) by
// CSV position, per log type, from the PAN-OS syslog field descriptions.
var (
	panCommon = []string{"future_use1", "receive_time", "serial", "type", "subtype", "future_use2", "time_generated"}
	panFlow   = []string{"src", "dst", "natsrc", "natdst", "rule", "srcuser", "dstuser", "app", "vsys", "from", "to",
		"inbound_if", "outbound_if", "logset", "future_use3", "sessionid", "repeatcnt", "sport", "dport", "natsport",
		"natdport", "flags", "proto", "action"}
	panTraffic = []string{"bytes", "bytes_sent", "bytes_received", "packets", "start", "elapsed", "category",
		"future_use4", "seqno", "actionflags", "srcloc", "dstloc", "future_use5", "pkts_sent", "pkts_received", "session_end_reason"}
	panThreat = []string{"misc", "threatid", "category", "severity", "direction", "seqno", "actionflags", "srcloc",
		"dstloc", "future_use4", "contenttype", "pcap_id", "filedigest", "cloud", "url_idx", "user_agent", "filetype",
		"xff", "referer", "sender", "subject", "recipient", "reportid"}
	panSystem = []string{"vsys", "eventid", "object", "future_use3", "future_use4", "module", "severity", "opaque", "seqno", "actionflags"}
	panConfig = []string{"host", "vsys", "cmd", "admin", "client", "result", "path", "seqno", "actionflags"}
)

// The full column lists per log type, built once.
var (
	panTrafficNames = concat(panCommon, panFlow, panTraffic)
	panThreatNames  = concat(panCommon, panFlow, panThreat)
	panSystemNames  = concat(panCommon, panSystem)
	panConfigNames  = concat(panCommon, panConfig)
)

var panNames = [...]vendorName{
	{"src", "source.ip", false}, {"dst", "destination.ip", false}, {"natsrc", "source.nat.ip", false},
	{"natdst", "destination.nat.ip", false}, {"rule", "rule.name", false}, {"srcuser", "source.user.name", false},
	{"dstuser", "destination.user.name", false}, {"app", "network.application", false}, {"sport", "source.port", true},
	{"dport", "destination.port", true}, {"natsport", "source.nat.port", true}, {"natdport", "destination.nat.port", true},
	{"proto", "network.transport", false}, {"action", "event.action", false}, {"bytes_sent", "source.bytes", true},
	{"bytes_received", "destination.bytes", true}, {"from", "observer.ingress.zone", false}, {"to", "observer.egress.zone", false},
	{"serial", "observer.serial_number", false}, {"severity", "log.level", false}, {"eventid", "event.code", false},
	{"admin", "user.name", false}, {"cmd", "event.action", false}, {"result", "event.outcome", false},
	{"opaque", "message", false}, {"threatid", "rule.name", false}, {"user_agent", "user_agent.original", false},
	{"srcuser", "user.name", false}, {"subtype", "event.type", false}, {"client", "source.ip", false},
}

func parsePaloAlto(line string, ev *tansa.Event) error {
	f := ev.Fields
	f["observer.vendor"] = "Palo Alto Networks"
	f["observer.product"] = "PAN-OS"
	names := panCommon
	var err error
	col := 0
	for i := 0; col <= len(line); i++ {
		var v string
		if col < len(line) && line[col] == '"' {
			end := strings.IndexByte(line[col+1:], '"')
			// PAN-OS doubles quotes inside quoted values, as in RFC 4180.
			for end >= 0 && col+1+end+1 < len(line) && line[col+1+end+1] == '"' {
				next := strings.IndexByte(line[col+1+end+2:], '"')
				if next < 0 {
					end = -1
					break
				}
				end += 2 + next
			}
			if end < 0 {
				err = fmt.Errorf("paloalto: field %d has no closing quote [col %d]", i, col)
				break
			}
			v = strings.ReplaceAll(line[col+1:col+1+end], `""`, `"`)
			col += end + 2
		} else {
			end := strings.IndexByte(line[col:], ',')
			if end < 0 {
				end = len(line) - col
			}
			v = line[col : col+end]
			col += end
		}
		if i == len(panCommon) {
			switch f["type"] {
			case "TRAFFIC":
				names = panTrafficNames
			case "THREAT":
				names = panThreatNames
			case "SYSTEM":
				names = panSystemNames
			case "CONFIG":
				names = panConfigNames
			}
		}
		if i < len(names) {
			if v != "" {
				f[names[i]] = v
			}
		} else if v != "" {
			f["field"+strconv.Itoa(i)] = v
		}
		if col >= len(line) {
			break
		}
		if line[col] != ',' {
			err = fmt.Errorf("paloalto: expected \",\" after field %d [col %d]", i, col)
			break
		}
		col++
	}
	// PAN-OS writes 0.0.0.0 and port 0 where no NAT applied.
	for _, k := range [...]string{"natsrc", "natdst", "natsport", "natdport"} {
		if v := f[k]; v == "0.0.0.0" || v == "0" {
			delete(f, k)
		}
	}
	copyNames(f, panNames[:])
	if t, ok := f["time_generated"].(string); ok {
		if tt, perr := time.Parse("2006/01/02 15:04:05", t); perr == nil {
			ev.Time = tt
		}
	}
	if m, ok := f["misc"].(string); ok && f["type"] == "THREAT" {
		switch f["subtype"] {
		case "url":
			f["url.original"] = m
			if h := strings.IndexAny(m, "/?"); h > 0 {
				f["url.domain"] = strings.ToLower(m[:h])
			} else if h < 0 {
				f["url.domain"] = strings.ToLower(m)
			}
		case "file", "virus", "wildfire":
			f["file.name"] = m
		}
	}
	return err
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// --- Cisco ASA, FTD, PIX ---

func isASA(s string) bool { return asaStart(s) >= 0 }

// asaStart returns where the "%ASA-" (or FTD, PIX, FWSM) message ID starts:
// at 0, or after the device's own "Mmm dd yyyy hh:mm:ss: " stamp.
func asaStart(s string) int {
	head := s[:min(len(s), 48)]
	best := -1
	for _, p := range [...]string{"%ASA-", "%FTD-", "%PIX-", "%FWSM-"} {
		if i := strings.Index(head, p); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best > 0 && !strings.HasSuffix(strings.TrimRight(head[:best], " "), ":") {
		return -1
	}
	return best
}

func parseASA(line string, ev *tansa.Event) error {
	f := ev.Fields
	f["observer.vendor"] = "Cisco"
	if i := asaStart(line); i > 0 {
		stamp := strings.TrimRight(line[:i], ": ")
		for _, l := range [...]string{"Jan 02 2006 15:04:05", "Jan 2 2006 15:04:05", "Jan 02 2006 15:04:05.000"} {
			if t, err := time.Parse(l, stamp); err == nil {
				ev.Time = t
				break
			}
		}
		line = line[i:]
	}
	colon := strings.IndexAny(line, ": ")
	if colon < 0 {
		return fmt.Errorf("cisco_asa: message id is not followed by text [col %d]", len(line))
	}
	id := line[1:colon] // "ASA-6-302013"
	parts := strings.SplitN(id, "-", 3)
	if len(parts) != 3 || !isDigits(parts[1]) || !isDigits(parts[2]) {
		return fmt.Errorf("cisco_asa: message id %q is not PRODUCT-LEVEL-NUMBER [col 1]", clip(id))
	}
	f["observer.product"] = parts[0]
	f["cisco.asa.message_id"] = parts[2]
	f["event.code"] = parts[2]
	sev, _ := strconv.ParseInt(parts[1], 10, 64)
	f["event.severity"] = sev
	f["log.level"] = asaLevels[sev%8]
	msg := strings.TrimLeft(line[colon+1:], " ")
	f["message"] = msg
	asaFields(msg, f)
	return nil
}

var asaLevels = [...]string{"emergency", "alert", "critical", "error", "warning", "notification", "informational", "debugging"}

// asaFields reads the common shapes of ASA message texts: "from
// [iface:]ip[/port] to [iface:]ip[/port]", "src iface:ip/port dst
// iface:ip/port", "for iface:ip/port (…) to iface:ip/port", the protocol
// word, the verdict, "access-group "acl"" and user names.
func asaFields(msg string, f map[string]any) {
	words := strings.Fields(msg)
	for i, w := range words {
		lw := strings.ToLower(strings.TrimRight(w, ",:"))
		switch lw {
		case "tcp", "udp", "icmp", "gre", "esp", "sctp":
			if _, ok := f["network.transport"]; !ok {
				f["network.transport"] = lw
			}
		case "deny", "denied", "drop", "dropped", "discard":
			if _, ok := f["event.action"]; !ok {
				f["event.action"] = "deny"
			}
		case "permitted", "permit":
			if _, ok := f["event.action"]; !ok {
				f["event.action"] = "permit"
			}
		case "built", "teardown":
			if _, ok := f["event.action"]; !ok && i == 0 {
				f["event.action"] = lw
			}
		case "inbound", "outbound":
			if _, ok := f["network.direction"]; !ok {
				f["network.direction"] = lw
			}
		}
		if i+1 >= len(words) {
			continue
		}
		next := words[i+1]
		switch lw {
		case "from", "src", "for":
			if _, ok := f["source.ip"]; !ok {
				endpoint(next, "source", f)
			}
		case "to", "dst", "dest":
			if _, ok := f["destination.ip"]; !ok {
				endpoint(next, "destination", f)
			}
		case "access-group":
			f["rule.name"] = strings.Trim(next, `"`)
		case "user", "username":
			u := strings.Trim(next, `"'=,`)
			if u == "=" && i+2 < len(words) {
				u = strings.Trim(words[i+2], `"'=,`)
			}
			if u != "" && u != "=" {
				if _, ok := f["user.name"]; !ok {
					f["user.name"] = u
				}
			}
		}
	}
}

// endpoint reads "[iface:]ip[/port]" into side.ip, side.port and the
// observer interface; anything that is not an address is ignored.
func endpoint(w, side string, f map[string]any) {
	w = strings.TrimRight(w, ",;:)")
	iface := ""
	if i := strings.LastIndexByte(w, ':'); i > 0 && strings.Count(w, ":") == 1 {
		iface, w = w[:i], w[i+1:]
	}
	port := ""
	if i := strings.IndexByte(w, '/'); i > 0 {
		w, port = w[:i], w[i+1:]
	}
	a, err := netip.ParseAddr(w)
	if err != nil {
		return
	}
	f[side+".ip"] = a.String()
	if n, err := strconv.ParseInt(port, 10, 64); err == nil {
		f[side+".port"] = n
	}
	if iface != "" {
		if side == "source" {
			f["observer.ingress.interface.name"] = iface
		} else {
			f["observer.egress.interface.name"] = iface
		}
	}
}

// --- iptables ---

func isIPTables(s string) bool {
	return strings.Contains(s, "IN=") && strings.Contains(s, " OUT=") && strings.Contains(s, " SRC=")
}

func parseIPTables(line string, ev *tansa.Event) error {
	f := ev.Fields
	f["observer.product"] = "iptables"
	in := strings.Index(line, "IN=")
	prefix := strings.TrimSpace(line[:in])
	if strings.HasPrefix(prefix, "[") {
		// The kernel's uptime stamp, "[4475569.016000]".
		if j := strings.IndexByte(prefix, ']'); j > 0 {
			prefix = strings.TrimSpace(prefix[j+1:])
		}
	}
	if prefix != "" {
		f["rule.name"] = prefix
		up := strings.ToUpper(prefix)
		switch {
		case strings.Contains(up, "DROP"), strings.Contains(up, "DENY"), strings.Contains(up, "BLOCK"):
			f["event.action"] = "drop"
		case strings.Contains(up, "REJECT"):
			f["event.action"] = "reject"
		case strings.Contains(up, "ACCEPT"), strings.Contains(up, "ALLOW"):
			f["event.action"] = "accept"
		}
	}
	bare, err := pairs(line[in:], f, nil)
	if len(bare) > 0 {
		f["iptables.flags"] = bare
	}
	copyAs(f, "SRC", "source.ip", false)
	copyAs(f, "DST", "destination.ip", false)
	copyAs(f, "SPT", "source.port", true)
	copyAs(f, "DPT", "destination.port", true)
	copyAs(f, "IN", "observer.ingress.interface.name", false)
	copyAs(f, "OUT", "observer.egress.interface.name", false)
	if p, ok := f["PROTO"].(string); ok {
		f["network.transport"] = strings.ToLower(p)
	}
	return err
}

// --- Check Point ---

func isCheckPoint(s string) bool {
	return len(s) > 3 && s[0] == '[' && strings.Contains(s[:min(len(s), 64)], `:"`)
}

var cpNames = [...]vendorName{
	{"src", "source.ip", false}, {"dst", "destination.ip", false}, {"s_port", "source.port", true},
	{"service", "destination.port", true}, {"action", "event.action", false}, {"rule_name", "rule.name", false},
	{"origin", "observer.ip", false}, {"product", "observer.product", false}, {"ifname", "observer.ingress.interface.name", false},
	{"src_user_name", "source.user.name", false}, {"user", "user.name", false}, {"xlatesrc", "source.nat.ip", false},
	{"xlatedst", "destination.nat.ip", false}, {"resource", "url.full", false}, {"reason", "event.reason", false},
	{"loguid", "event.id", false}, {"service_id", "network.protocol", false},
}

func parseCheckPoint(line string, ev *tansa.Event) error {
	f := ev.Fields
	f["observer.vendor"] = "Check Point"
	s := line[1:]
	base := 1
	var err error
	for {
		trimmed := strings.TrimLeft(s, " ;")
		base += len(s) - len(trimmed)
		s = trimmed
		if s == "" || s[0] == ']' {
			break
		}
		sep := strings.Index(s, `:"`)
		if sep <= 0 {
			err = fmt.Errorf("checkpoint: %q is not key:\"value\" [col %d]", clip(s), base)
			break
		}
		key := strings.TrimRight(s[:sep], ":")
		end, escaped := closingQuote(s, sep+2)
		if end < 0 {
			err = fmt.Errorf("checkpoint: value of %q has no closing quote [col %d]", clip(key), base+sep)
			break
		}
		v := s[sep+2 : end]
		if escaped {
			v = unquote(v)
		}
		f[key] = v
		base += end + 1
		s = s[end+1:]
	}
	copyNames(f, cpNames[:])
	if p, ok := f["proto"].(string); ok {
		if t := ianaTransport(p); t != "" {
			f["network.transport"] = t
		}
	}
	if a, ok := f["action"].(string); ok {
		f["event.action"] = strings.ToLower(a)
	}
	if t, ok := f["time"].(string); ok {
		if n, perr := strconv.ParseInt(t, 10, 64); perr == nil {
			ev.Time = time.Unix(n, 0).UTC()
		}
	}
	return err
}
