// Package linux parses the Linux authentication and audit logs that matter
// to a SOC: OpenSSH's sshd messages, PAM messages (from any service), and
// auditd records.
//
// sshd and PAM messages arrive inside syslog: the caller passes the syslog
// program name ("sshd", "su(pam_unix)") and the message body. auditd
// records ("type=SYSCALL msg=audit(…): …") arrive bare, one per line, from
// audit.log. Fields leave as ECS names ("user.name", "source.ip",
// "event.action", "event.outcome", "process.executable"…) beside the
// record's own keys (PAM's "rhost", auditd's "auid").
package linux

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
	SSHD   = "sshd"
	PAM    = "pam"
	Auditd = "auditd"
)

// Detect returns SSHD or PAM when a syslog message from program is one of
// theirs, or "". A program of "pam" (a caller's hint) means PAM.
func Detect(program, msg string) string {
	switch {
	case program == PAM || strings.Contains(program, "(pam_") || strings.HasPrefix(msg, "pam_") || strings.HasPrefix(msg, "PAM "):
		return PAM
	case program == "sshd" || strings.HasPrefix(program, "sshd-"):
		return SSHD
	}
	return ""
}

// Parse parses a syslog message from program, as Detect classifies it, and
// adds its fields to ev.Fields. Messages whose wording it does not know
// keep only "message"; that is not an error, because sshd and PAM log many
// harmless lines that carry no user or address.
func Parse(program, msg string, ev *tansa.Event) error {
	f := ev.Fields
	f["message"] = msg
	switch Detect(program, msg) {
	case PAM:
		ev.Format = PAM
		parsePAM(program, msg, f)
	case SSHD:
		ev.Format = SSHD
		parseSSHD(msg, f)
	default:
		ev.Format = SSHD
		return fmt.Errorf("linux: program %q is neither sshd nor a PAM module [col 0]", clip(program))
	}
	return nil
}

// sshdActions classifies sshd messages by their opening words.
var sshdActions = [...]struct {
	prefix, action, outcome string
}{
	{"Accepted ", "logged-in", "success"},
	{"Failed ", "login-failed", "failure"},
	{"Invalid user ", "invalid-user", "failure"},
	{"input_userauth_request: invalid user ", "invalid-user", "failure"},
	{"error: maximum authentication attempts exceeded", "too-many-attempts", "failure"},
	{"Disconnecting: Too many authentication failures", "too-many-attempts", "failure"},
	{"error: PAM: authentication error", "login-failed", "failure"},
	{"reverse mapping checking getaddrinfo", "reverse-mapping-failed", ""},
	{"Address ", "reverse-mapping-failed", ""},
	{"Did not receive identification string", "no-identification", ""},
	{"Received disconnect from ", "disconnected", ""},
	{"Disconnected from ", "disconnected", ""},
	{"Connection closed by ", "connection-closed", ""},
	{"Connection reset by ", "connection-closed", ""},
	{"User ", "user-not-allowed", "failure"},
	{"Accepted publickey", "logged-in", "success"},
	{"Server listening on", "started", ""},
	{"Received signal 15", "stopped", ""},
	{"fatal: Unable to negotiate", "negotiation-failed", "failure"},
	{"Unable to negotiate", "negotiation-failed", "failure"},
	{"Authentication refused", "login-refused", "failure"},
	{"Corrupted MAC on input", "corrupted-mac", ""},
	{"Bad protocol version identification", "bad-protocol", ""},
}

func parseSSHD(msg string, f map[string]any) {
	f["process.name"] = "sshd"
	body := msg
	// "message repeated 3 times: [ Failed password for root from …]"
	if strings.HasPrefix(body, "message repeated ") {
		if i := strings.Index(body, "[ "); i > 0 {
			body = strings.TrimSuffix(body[i+2:], "]")
		}
	}
	if strings.HasPrefix(body, "pam_") {
		parsePAM("sshd", body, f)
		return
	}
	for _, a := range sshdActions {
		if strings.HasPrefix(body, a.prefix) {
			f["event.action"] = a.action
			f["event.category"] = "authentication"
			if a.outcome != "" {
				f["event.outcome"] = a.outcome
			}
			break
		}
	}
	if strings.HasPrefix(body, "Accepted ") || strings.HasPrefix(body, "Failed ") {
		// "Accepted publickey for …", "Failed keyboard-interactive/pam for …"
		if m, _, ok := strings.Cut(body[strings.IndexByte(body, ' ')+1:], " "); ok {
			f["ssh.method"] = m
		}
	}
	words := strings.Fields(body)
	for i, w := range words {
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		switch w {
		case "for", "user", "User":
			if next == "invalid" && i+2 < len(words) && words[i+2] == "user" {
				continue
			}
			if next == "" || next == "from" || next == "invalid" || next == "unknown" || next == "user" {
				continue
			}
			if _, ok := f["user.name"]; !ok && !strings.HasPrefix(next, "/") {
				f["user.name"] = strings.TrimRight(next, ":,")
			}
		case "from", "by", "to":
			setAddr(f, next)
		case "port":
			if n, err := strconv.ParseInt(strings.TrimRight(next, ":,"), 10, 64); err == nil {
				if _, ok := f["source.port"]; !ok {
					f["source.port"] = n
				}
			}
		case "getaddrinfo":
			// "reverse mapping checking getaddrinfo for HOST [IP] failed"
			if i+3 < len(words) {
				f["source.domain"] = strings.ToLower(words[i+2])
				setAddr(f, strings.Trim(words[i+3], "[]"))
			}
			delete(f, "user.name")
		case "Address", "host":
			setAddr(f, next)
		}
		if i == len(words)-1 || next == "port" {
			// "Disconnected from invalid user root 1.2.3.4 port 22"
			setAddr(f, w)
		}
	}
}

// setAddr sets source.ip when w is an IP address ("1.2.3.4", "1.2.3.4:",
// "[::1]") and source.ip is not yet set.
func setAddr(f map[string]any, w string) {
	if _, ok := f["source.ip"]; ok {
		return
	}
	w = strings.Trim(w, "[]:,")
	if a, err := netip.ParseAddr(w); err == nil {
		f["source.ip"] = a.String()
	}
}

// parsePAM reads "pam_unix(sshd:auth): authentication failure; logname=
// uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root" and the loghub
// form where the module is in the program name, "sshd(pam_unix)".
func parsePAM(program, msg string, f map[string]any) {
	body := msg
	if strings.HasPrefix(body, "pam_") {
		if i := strings.Index(body, "): "); i > 0 {
			mod := body[:i+1] // "pam_unix(sshd:auth)"
			if j := strings.IndexByte(mod, '('); j > 0 {
				f["pam.module"] = mod[:j]
				svc, typ, _ := strings.Cut(mod[j+1:len(mod)-1], ":")
				f["pam.service"] = svc
				if typ != "" {
					f["pam.type"] = typ
				}
			}
			body = body[i+3:]
		}
	} else if j := strings.Index(program, "(pam_"); j > 0 {
		f["pam.service"] = program[:j]
		f["pam.module"] = strings.TrimSuffix(program[j+1:], ")")
	}
	if svc, ok := f["pam.service"].(string); ok {
		f["process.name"] = svc
	}
	text, kvs, _ := strings.Cut(body, "; ")
	f["event.category"] = "authentication"
	switch {
	case strings.HasPrefix(text, "authentication failure"), strings.HasPrefix(text, "PAM ") && strings.Contains(text, "authentication failure"):
		f["event.action"] = "authentication-failure"
		f["event.outcome"] = "failure"
	case strings.HasPrefix(text, "session opened"):
		f["event.action"] = "session-opened"
		f["event.outcome"] = "success"
		f["event.category"] = "session"
	case strings.HasPrefix(text, "session closed"):
		f["event.action"] = "session-closed"
		f["event.category"] = "session"
	case strings.HasPrefix(text, "check pass"):
		f["event.action"] = "check-pass"
		if strings.Contains(kvs, "user unknown") {
			f["event.outcome"] = "failure"
		}
	case strings.HasPrefix(text, "password changed"):
		f["event.action"] = "password-changed"
		f["event.outcome"] = "success"
	}
	// "session opened for user news by (uid=0)", "password changed for x"
	if _, after, ok := strings.Cut(text, " for user "); ok {
		u, _, _ := strings.Cut(after, " ")
		f["user.name"] = u
	} else if _, after, ok := strings.Cut(text, " for "); ok {
		u, _, _ := strings.Cut(after, " ")
		f["user.name"] = u
	}
	for _, kv := range strings.Fields(kvs) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		f[k] = v
		switch k {
		case "user":
			f["user.name"] = v
		case "ruser":
			f["source.user.name"] = v
		case "rhost":
			if a, err := netip.ParseAddr(v); err == nil {
				f["source.ip"] = a.String()
			} else {
				f["source.domain"] = strings.ToLower(v)
			}
		case "uid":
			f["user.id"] = v
		}
	}
}

// DetectAudit reports whether line is an auditd record, optionally led by
// "node=NAME ".
func DetectAudit(line string) bool {
	if strings.HasPrefix(line, "node=") {
		_, line, _ = strings.Cut(line, " ")
	}
	return strings.HasPrefix(line, "type=") && strings.Contains(line, " msg=audit(")
}

// ParseAudit parses one auditd record and adds its fields to ev.Fields: every
// key as-is (a nested msg='…' is unpacked into the same map), "auditd.type",
// "auditd.sequence", and the ECS names of the identity and process keys. It
// sets ev.Time from the audit(seconds.millis:serial) stamp. A record without
// that stamp, or with an unterminated quote, is an error naming the column.
func ParseAudit(line string, ev *tansa.Event) error {
	ev.Format = Auditd
	f := ev.Fields
	base := 0
	if strings.HasPrefix(line, "node=") {
		node, rest, _ := strings.Cut(line, " ")
		f["node"] = node[5:]
		f["host.name"] = node[5:]
		base = len(node) + 1
		line = rest
	}
	typ, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(typ, "type=") {
		return fmt.Errorf("auditd: record does not start with type= [col %d]", base)
	}
	f["auditd.type"] = typ[5:]
	f["event.code"] = typ[5:]
	if !strings.HasPrefix(rest, "msg=audit(") {
		return fmt.Errorf("auditd: expected msg=audit( [col %d]", base+len(typ)+1)
	}
	stampEnd := strings.Index(rest, "):")
	if stampEnd < 0 {
		return fmt.Errorf("auditd: audit( stamp has no closing \"):\" [col %d]", base+len(typ)+1)
	}
	stamp := rest[len("msg=audit("):stampEnd]
	secs, serial, _ := strings.Cut(stamp, ":")
	f["auditd.sequence"] = serial
	sec, frac, _ := strings.Cut(secs, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return fmt.Errorf("auditd: audit( stamp %q is not seconds.millis:serial [col %d]", clip(stamp), base+len(typ)+11)
	}
	ms, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	ev.Time = time.Unix(s, ms*int64(time.Millisecond)).UTC()
	if err := auditPairs(rest[stampEnd+2:], f); err != nil {
		return fmt.Errorf("auditd: %w [col %d]", err, base+len(typ)+1+stampEnd+2)
	}
	auditECS(f)
	return nil
}

// auditPairs reads key=value pairs; values may be "double-quoted",
// 'single-quoted' (msg='…' holds further pairs) or bare.
func auditPairs(s string, f map[string]any) error {
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,()")
		if s == "" {
			break
		}
		eq := strings.IndexAny(s, "= ")
		if eq < 0 || s[eq] == ' ' {
			// A free-text word ("auditd start,"): keep the text.
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				break
			}
			s = s[sp+1:]
			continue
		}
		key := s[:eq]
		s = s[eq+1:]
		var v string
		switch {
		case strings.HasPrefix(s, `"`):
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return fmt.Errorf("value of %q has no closing quote", clip(key))
			}
			v, s = s[1:end+1], s[end+2:]
		case strings.HasPrefix(s, "'"):
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				// auditd truncates long records; keep what there is.
				end = len(s) - 1
				v, s = s[1:], ""
			} else {
				v, s = s[1:end+1], s[end+2:]
			}
			if key == "msg" {
				if err := auditPairs(v, f); err != nil {
					return err
				}
			}
		default:
			end := strings.IndexAny(s, " ,)")
			if end < 0 {
				end = len(s)
			}
			v, s = s[:end], s[end:]
		}
		if _, seen := f[key]; !seen {
			f[key] = v
		}
	}
	return nil
}

func auditECS(f map[string]any) {
	str := func(k string) string {
		v, _ := f[k].(string)
		if v == "?" || v == "(null)" || v == "4294967295" {
			return ""
		}
		return v
	}
	if v := str("acct"); v != "" {
		f["user.name"] = v
	}
	if v := str("uid"); v != "" {
		f["user.id"] = v
	}
	if v := str("auid"); v != "" {
		f["user.audit.id"] = v
	}
	if v := str("exe"); v != "" {
		f["process.executable"] = v
		if _, ok := f["comm"]; !ok {
			f["process.name"] = v[strings.LastIndexByte(v, '/')+1:]
		}
	}
	if v := str("comm"); v != "" {
		f["process.name"] = v
	}
	if n, err := strconv.ParseInt(str("pid"), 10, 64); err == nil {
		f["process.pid"] = n
	}
	if n, err := strconv.ParseInt(str("ppid"), 10, 64); err == nil {
		f["process.parent.pid"] = n
	}
	if a, err := netip.ParseAddr(str("addr")); err == nil {
		f["source.ip"] = a.String()
	}
	if v := str("hostname"); v != "" {
		if a, err := netip.ParseAddr(v); err == nil {
			f["source.ip"] = a.String()
		} else {
			f["source.domain"] = strings.ToLower(v)
		}
	}
	if v := str("op"); v != "" {
		f["event.action"] = v
	}
	switch str("res") + str("success") {
	case "success", "yes", "1":
		f["event.outcome"] = "success"
	case "failed", "no", "0":
		f["event.outcome"] = "failure"
	}
	if v := str("key"); v != "" {
		f["tags"] = []string{v}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
