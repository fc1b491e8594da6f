// Package dns parses DNS query logs: BIND's query log (bare, with BIND's own
// time stamp, or inside syslog from "named") and Zeek's dns.log in JSON.
//
// A record enters as a string and leaves as fields added to a *tansa.Event:
// "dns.question.name" (lower case, without the trailing dot),
// "dns.question.type", "dns.question.class", "source.ip", "source.port"
// and, where the log has them, "dns.response_code" and "dns.answers", beside
// the log's own field names (Zeek's "query", "qtype_name", "id.orig_h"…).
// These are the fields the phishing desk asks "who resolved this domain?"
// of.
package dns

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/jsonflat"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats this package stores in Event.Format.
const (
	BIND = "bind"
	Zeek = "zeek_dns"
)

// DetectBIND reports whether msg is a BIND client message ("client
// 1.2.3.4#53: query: …", "client @0x7f… 1.2.3.4#53 (name): query: …"),
// optionally led by BIND's own "dd-Mon-yyyy hh:mm:ss.mmm" stamp and a
// "queries: info: " category and severity.
func DetectBIND(msg string) bool {
	msg, _ = stripBINDPrefix(msg)
	return strings.HasPrefix(msg, "client ") && strings.Contains(msg, "#")
}

// DetectZeek reports whether line is a JSON record of Zeek's dns.log.
func DetectZeek(line string) bool {
	return strings.HasPrefix(line, "{") && (strings.Contains(line, `"_path":"dns"`) ||
		strings.Contains(line, `"qtype_name"`) && strings.Contains(line, `"id.orig_h"`))
}

// stripBINDPrefix removes BIND's file-channel time stamp and category, and
// returns the time stamp when there was one.
func stripBINDPrefix(s string) (string, string) {
	stamp := ""
	if len(s) > 24 && s[2] == '-' && s[6] == '-' && s[11] == ' ' && s[14] == ':' {
		if i := strings.IndexByte(s[12:], ' '); i > 0 {
			stamp = s[:12+i]
			s = s[12+i+1:]
		}
	}
	for _, p := range [...]string{"queries: ", "security: ", "query-errors: "} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			if _, rest, ok := strings.Cut(s, ": "); ok && len(s)-len(rest) < 12 {
				s = rest // severity, "info: "
			}
			break
		}
	}
	return s, stamp
}

// ParseBIND parses a BIND query-log message and adds its fields to
// ev.Fields; it sets ev.Format, and ev.Time when the message carries BIND's
// own stamp (read in UTC, BIND's file channels having no zone). A message
// that is not "client ADDRESS#PORT…" is an error naming the column.
func ParseBIND(msg string, ev *tansa.Event) error {
	ev.Format = BIND
	f := ev.Fields
	f["observer.product"] = "BIND"
	body, stamp := stripBINDPrefix(msg)
	base := len(msg) - len(body)
	if stamp != "" {
		if t, err := time.Parse("02-Jan-2006 15:04:05.000", stamp); err == nil {
			ev.Time = t
		}
	}
	rest, ok := strings.CutPrefix(body, "client ")
	if !ok {
		return fmt.Errorf("bind: message does not start with \"client \" [col %d]", base)
	}
	if strings.HasPrefix(rest, "@0x") {
		_, rest, _ = strings.Cut(rest, " ")
	}
	end := strings.IndexAny(rest, " :")
	if end < 0 {
		return fmt.Errorf("bind: client address is not followed by \":\" [col %d]", len(msg))
	}
	addr := rest[:end]
	rest = rest[end:]
	ip, port, ok := strings.Cut(addr, "#")
	if !ok {
		return fmt.Errorf("bind: client %q is not ADDRESS#PORT [col %d]", clip(addr), base+7)
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		f["source.ip"] = a.String()
	} else {
		return fmt.Errorf("bind: client address %q is not an IP address [col %d]", clip(ip), base+7)
	}
	if p, err := strconv.ParseInt(port, 10, 64); err == nil {
		f["source.port"] = p
	}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "(") {
		// The query name in parentheses, BIND 9.11+.
		if i := strings.IndexByte(rest, ')'); i > 0 {
			rest = rest[i+1:]
		}
	}
	rest = strings.TrimLeft(rest, ": ")
	switch {
	case strings.HasPrefix(rest, "query: "):
		// "query: www.example.com IN A +E(0)K (192.168.1.1)"
		f["event.action"] = "query"
		w := strings.Fields(rest[len("query: "):])
		if len(w) > 0 {
			question(f, w[0])
		}
		if len(w) > 1 {
			f["dns.question.class"] = w[1]
		}
		if len(w) > 2 {
			f["dns.question.type"] = w[2]
		}
		if len(w) > 3 {
			f["bind.flags"] = w[3]
		}
		if len(w) > 4 {
			if a, err := netip.ParseAddr(strings.Trim(w[4], "()")); err == nil {
				f["destination.ip"] = a.String()
			}
		}
	case strings.HasPrefix(rest, "query"):
		// "query (cache) 'www.example.com/A/IN' denied", "query (cache) denied"
		f["event.action"] = "query"
		if i := strings.IndexByte(rest, '\''); i >= 0 {
			if j := strings.IndexByte(rest[i+1:], '\''); j > 0 {
				q := strings.Split(rest[i+1:i+1+j], "/")
				question(f, q[0])
				if len(q) > 1 {
					f["dns.question.type"] = q[1]
				}
				if len(q) > 2 {
					f["dns.question.class"] = q[2]
				}
			}
		}
		if strings.HasSuffix(strings.TrimSpace(rest), "denied") {
			f["event.outcome"] = "failure"
			f["event.action"] = "query-denied"
		}
	default:
		f["message"] = rest
	}
	return nil
}

func question(f map[string]any, name string) {
	f["dns.question.name"] = strings.ToLower(strings.TrimSuffix(name, "."))
}

// ParseZeek parses one JSON record of Zeek's dns.log and adds its fields to
// ev.Fields: every Zeek field as-is, plus ECS names. It sets ev.Time from
// "ts" (ISO 8601 or epoch seconds). Invalid JSON is an error naming the
// byte offset.
func ParseZeek(line string, ev *tansa.Event) error {
	ev.Format = Zeek
	f := ev.Fields
	f["observer.product"] = "Zeek"
	if err := jsonflat.Flatten(line, "", f); err != nil {
		return fmt.Errorf("zeek_dns: %w", err)
	}
	ip := func(k, name string) {
		if s, ok := f[k].(string); ok {
			if a, err := netip.ParseAddr(s); err == nil {
				f[name] = a.String()
			}
		}
	}
	ip("id.orig_h", "source.ip")
	ip("id.resp_h", "destination.ip")
	for _, m := range [...][2]string{{"id.orig_p", "source.port"}, {"id.resp_p", "destination.port"}, {"trans_id", "dns.id"}} {
		if n, ok := f[m[0]].(int64); ok {
			f[m[1]] = n
		}
	}
	if q, ok := f["query"].(string); ok {
		question(f, q)
	}
	if s, ok := f["qtype_name"].(string); ok {
		f["dns.question.type"] = s
	}
	if s, ok := f["qclass_name"].(string); ok {
		f["dns.question.class"] = s
	}
	if s, ok := f["rcode_name"].(string); ok {
		f["dns.response_code"] = s
	}
	if s, ok := f["proto"].(string); ok {
		f["network.transport"] = s
	}
	if s, ok := f["uid"].(string); ok {
		f["zeek.session_id"] = s
	}
	if a, ok := f["answers"].([]string); ok {
		f["dns.answers.data"] = a
	}
	switch ts := f["ts"].(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			ev.Time = t
		}
	case float64:
		ev.Time = time.Unix(0, int64(ts*1e9)).UTC()
	case int64:
		ev.Time = time.Unix(ts, 0).UTC()
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
