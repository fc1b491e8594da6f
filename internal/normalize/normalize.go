// Package normalize is stage ② of the pipeline: it turns one raw log record
// into a *tansa.Event with ECS field names, whatever the record's format.
//
// A record enters as bytes through Parser.Parse, with an optional hint
// naming its format (a collector that knows, say, that port 5514 carries
// CEF passes "cef"). Without a hint the format is detected, in the order
// documented on Parser.Parse. The format families live in sub-packages —
// syslog, cef, leef, kv, proxy, dns, linux, o365 (and winevt, parsed
// elsewhere) — and this package composes them: a syslog record's body is
// handed to the content parser it matches.
//
// Nothing is dropped. A record in no known format becomes a "raw" event
// holding the line as "message"; a record that a parser rejects keeps Raw,
// the fields read so far, and a ParseError that says what is wrong and
// where: "[col N]" counts bytes from 0 in the text the parser was given
// (for a syslog body, the error adds where the body starts in the record),
// "[offset N]" counts bytes into a JSON document.
//
// Observables lists the indicators an event mentions (addresses, domains,
// URLs, hashes, users, hosts, e-mail addresses, processes), normalised so
// that "every event mentioning X" is one index lookup.
package normalize

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/cef"
	"github.com/tansa-sec/tansa/internal/normalize/dns"
	"github.com/tansa-sec/tansa/internal/normalize/jsonflat"
	"github.com/tansa-sec/tansa/internal/normalize/kv"
	"github.com/tansa-sec/tansa/internal/normalize/leef"
	"github.com/tansa-sec/tansa/internal/normalize/linux"
	"github.com/tansa-sec/tansa/internal/normalize/o365"
	"github.com/tansa-sec/tansa/internal/normalize/proxy"
	"github.com/tansa-sec/tansa/internal/normalize/syslog"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats this package itself stores in Event.Format; the sub-packages
// name theirs ("cef", "fortigate", "sshd"…).
const (
	Raw    = "raw"    // no known format; the line is in "message"
	Syslog = "syslog" // a syslog record whose body matched no content parser
	JSON   = "json"   // a JSON object in no known schema, flattened
)

// Hints a collector may pass to Parse. Besides these, every format name
// (cef.Format, kv.FortiGate, proxy.Squid, linux.Auditd…) is a hint for
// itself.
const (
	HintAuto   = ""
	HintSyslog = Syslog
	HintKV     = kv.Generic
	HintJSON   = JSON
	HintRaw    = Raw
)

// A Parser turns raw records into events. It holds a syslog parser's
// reusable state and is not safe for concurrent use: give each ingest
// goroutine its own.
type Parser struct {
	syslog *syslog.Parser
	obs    collector // Observables' working space
}

// NewParser returns a Parser that reads time stamps without a zone (RFC
// 3164 syslog) in loc, or in UTC when loc is nil.
func NewParser(loc *time.Location) *Parser {
	return &Parser{syslog: syslog.NewParser(loc)}
}

// maxRecord is the longest record parsed; longer ones are kept raw with a
// ParseError, so that one huge line cannot stall a pipeline.
const maxRecord = 1 << 20

// Parse turns raw into an event. It always returns an event: Raw is raw
// (retained, not copied: the caller must not modify it afterwards),
// Received is received, Time is the record's own time or else received,
// and Fields holds the parsed fields. TenantID, Source and ID are left to
// the caller, which knows them.
//
// hint names the format (see the Hint constants); an empty or unknown hint
// means detection, in this order, on the record without its line ending:
//
//  1. "{": Office 365 audit or Entra ID sign-in (o365), Zeek dns.log
//     (dns), else any JSON object, flattened ("json").
//  2. "CEF:" and "LEEF:" at the start (cef, leef).
//  3. "<PRI>", "Mmm dd hh:mm:ss", "YYYY-MM-DD[T ]hh:mm" or "1 YYYY-":
//     syslog, RFC 5424 or RFC 3164 (syslog); the body then goes to the
//     first content parser it matches: CEF or LEEF anywhere in it, BIND
//     ("named"), sshd and PAM, auditd, Squid, then the key=value vendors
//     (kv). A body none of them matches stays a "syslog" event.
//  4. auditd records, "type=… msg=audit(…)" (linux).
//  5. Squid native and Proxifier lines (proxy).
//  6. BIND query-log lines with BIND's own stamp (dns).
//  7. Cisco "%ASA-", Palo Alto CSV, Check Point, iptables, FortiGate, and
//     any line with three key=value pairs (kv).
//  8. Anything else: Format "raw", the line in "message", no ParseError.
func (p *Parser) Parse(raw []byte, hint string, received time.Time) *tansa.Event {
	ev := &tansa.Event{Raw: raw, Received: received, Fields: make(map[string]any, fieldsHint(raw))}
	n := len(raw)
	for n > 0 && (raw[n-1] == '\n' || raw[n-1] == '\r' || raw[n-1] == 0) {
		n--
	}
	start := 0
	for start < n && (raw[start] == ' ' || raw[start] == '\t') {
		start++
	}
	rec := raw[start:n]
	n -= start
	var err error
	switch {
	case n == 0:
		ev.Format = Raw
		err = fmt.Errorf("empty record")
	case n > maxRecord:
		ev.Format = Raw
		err = fmt.Errorf("record of %d bytes exceeds the %d-byte limit", n, maxRecord)
	default:
		err = p.parse(rec, hint, received, ev)
	}
	if err != nil {
		ev.ParseError = err.Error()
		if _, ok := ev.Fields["message"]; !ok && n > 0 && n <= maxRecord {
			ev.Fields["message"] = string(rec)
		}
	}
	if ev.Format == "" {
		ev.Format = Raw
	}
	if ev.Time.IsZero() {
		ev.Time = received
	}
	return ev
}

// fieldsHint guesses how many fields a record will fill, so that the map
// is allocated once and no larger than needed: one and a half per
// "key=value" (the vendor's name, and the ECS name of most), one per
// "key": or CSV column, plus the syslog header's. Go sizes a map's table
// to a power of two holding the hint at 7/8 load: a FortiGate line of 24
// pairs fills 51 fields, which fit 64 slots, but two per pair (68) asked
// for 128, doubling the largest allocation of the ingest path.
func fieldsHint(raw []byte) int {
	eq := bytes.Count(raw, []byte{'='})
	n := 16 + eq + eq/2 + bytes.Count(raw, []byte{':'}) + bytes.Count(raw, []byte{','})
	return min(n, 128)
}

func (p *Parser) parse(rec []byte, hint string, received time.Time, ev *tansa.Event) error {
	line := string(rec)
	switch hint {
	case HintRaw:
		ev.Format = Raw
		ev.Fields["message"] = line
		return nil
	case HintSyslog:
		return p.parseSyslog(rec, received, ev)
	case cef.Format:
		return cef.Parse(line, ev)
	case leef.Format:
		return leef.Parse(line, ev)
	case kv.Generic, kv.FortiGate, kv.PaloAlto, kv.CiscoASA, kv.IPTables, kv.CheckPoint:
		return kv.Parse(line, ev)
	case proxy.Squid:
		return proxy.ParseSquid(line, ev)
	case proxy.Proxifier:
		return proxy.ParseProxifier(line, received, ev)
	case dns.BIND:
		return dns.ParseBIND(line, ev)
	case dns.Zeek:
		return dns.ParseZeek(line, ev)
	case linux.Auditd:
		return linux.ParseAudit(line, ev)
	case linux.SSHD, linux.PAM:
		return linux.Parse(hint, line, ev)
	case o365.Audit:
		return o365.ParseAudit(line, ev)
	case o365.SignIn:
		return o365.ParseSignIn(line, ev)
	case HintJSON:
		ev.Format = JSON
		return jsonflat.Flatten(line, "", ev.Fields)
	}
	switch {
	case line[0] == '{':
		switch {
		case o365.Detect(line) != "":
			return o365.Parse(line, ev)
		case dns.DetectZeek(line):
			return dns.ParseZeek(line, ev)
		}
		ev.Format = JSON
		return jsonflat.Flatten(line, "", ev.Fields)
	case cef.Detect(line):
		return cef.Parse(line, ev)
	case leef.Detect(line):
		return leef.Parse(line, ev)
	case linux.DetectAudit(line):
		return linux.ParseAudit(line, ev)
	case syslog.Detect(rec):
		return p.parseSyslog(rec, received, ev)
	}
	if f := proxy.Detect(line); f != "" {
		return proxy.Parse(line, received, ev)
	}
	if dns.DetectBIND(line) {
		return dns.ParseBIND(line, ev)
	}
	if kv.Detect(line) != "" {
		return kv.Parse(line, ev)
	}
	ev.Format = Raw
	ev.Fields["message"] = line
	return nil
}

// parseSyslog parses the syslog header and hands the body to the content
// parser it matches. A header error is returned as is; the body is still
// kept in "message".
func (p *Parser) parseSyslog(rec []byte, received time.Time, ev *tansa.Event) error {
	ev.Format = Syslog
	msg, err := p.syslog.Parse(rec, received, ev)
	if !msg.Time.IsZero() {
		ev.Time = msg.Time
	}
	if msg.Body != "" {
		ev.Fields["message"] = msg.Body
	}
	if err != nil && msg.Body == "" {
		return err
	}
	if msg.Format != "" {
		ev.Fields["log.syslog.format"] = msg.Format
	}
	program, _ := ev.Fields["log.syslog.appname"].(string)
	// A header error (a stamp like "May 00") does not stop the body from
	// being parsed; the error is still reported, first.
	if cerr := content(msg.Body, program, ev); cerr != nil {
		// The content parser's column counts from the body's start.
		if off := bytes.LastIndex(rec, []byte(msg.Body)); off >= 0 {
			cerr = fmt.Errorf("%w; the syslog body starts at col %d", cerr, off)
		}
		if err != nil {
			return fmt.Errorf("%w; %w", err, cerr)
		}
		return cerr
	}
	return err
}

// content parses a syslog body with the first content parser it matches;
// the order is documented on Parser.Parse.
func content(body, program string, ev *tansa.Event) error {
	if body == "" {
		return nil
	}
	if i := cef.Index(body); i >= 0 {
		return cef.Parse(body[i:], ev)
	}
	if i := leef.Index(body); i >= 0 {
		return leef.Parse(body[i:], ev)
	}
	if program == "named" && dns.DetectBIND(body) {
		return dns.ParseBIND(body, ev)
	}
	if linux.Detect(program, body) != "" {
		return linux.Parse(program, body, ev)
	}
	if linux.DetectAudit(body) {
		return linux.ParseAudit(body, ev)
	}
	if proxy.Detect(body) == proxy.Squid {
		return proxy.ParseSquid(body, ev)
	}
	if kv.Detect(body) != "" {
		return kv.Parse(body, ev)
	}
	// A body none of the parsers claims is a plain syslog message; the
	// kernel's "[uptime] " stamp is noise to search.
	if strings.HasPrefix(body, "[") && program == "kernel" {
		if i := strings.IndexByte(body, ']'); i > 0 {
			ev.Fields["message"] = strings.TrimLeft(body[i+1:], " ")
		}
	}
	return nil
}
