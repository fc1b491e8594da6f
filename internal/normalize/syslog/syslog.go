// Package syslog splits one syslog record, RFC 5424 or RFC 3164, into the
// header's fields and the message body.
//
// A record enters as bytes through Parser.Parse; the header leaves as ECS
// fields ("log.syslog.*", "host.name", "process.name", "process.pid") added
// to the event, and the body leaves as a string that the caller hands to the
// content parsers (CEF, LEEF, key=value, sshd…). The format is detected from
// the header itself: "<PRI>" followed by a version digit and a space is RFC
// 5424, anything else after "<PRI>" is RFC 3164. Records read from files
// often lack the "<PRI>" part; they are parsed as if a relay had added
// "<13>", which is what RFC 3164 section 4.3.3 asks a relay to do.
//
// The grammar is github.com/leodido/go-syslog/v4's; this package adds
// detection, the year and zone rule for RFC 3164 timestamps, and a lenient
// fallback for RFC 5424 records whose structured data is not RFC 5424
// structured data (Check Point writes "[key:"value"; …]" there).
package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats Parse reports in Message.Format.
const (
	RFC5424 = "rfc5424"
	RFC3164 = "rfc3164"
)

// A Parser parses syslog records. It holds reusable state and is not safe
// for concurrent use; use one Parser per goroutine.
type Parser struct {
	loc   *time.Location
	m5424 gosyslog.Machine
	m3164 gosyslog.Machine
	buf   []byte
}

// NewParser returns a Parser that reads RFC 3164 timestamps in loc, or in
// UTC when loc is nil.
//
// RFC 3164 timestamps carry neither a year nor a time zone. The zone is
// loc: a collector that knows the sender's zone passes it. The year is the
// year of the received time, except that a timestamp more than seven days
// after the received time is taken to be from the previous year: a record
// written on 31 December and received on 1 January is last year's, while a
// sender whose clock runs a few days fast is still this year's.
func NewParser(loc *time.Location) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{
		loc:   loc,
		m5424: rfc5424.NewMachine(rfc5424.WithBestEffort()),
		m3164: rfc3164.NewMachine(rfc3164.WithBestEffort(), rfc3164.WithRFC3339()),
	}
}

// Message is one parsed syslog record.
type Message struct {
	Format string    // RFC5424 or RFC3164
	Time   time.Time // the header's timestamp; zero when the header has none
	Body   string    // the MSG part, ready for a content parser
}

// Detect reports whether line starts like a syslog record: "<PRI>", an RFC
// 3164 "Mmm dd hh:mm:ss" timestamp, or an RFC 5424 version and timestamp
// without the PRI.
func Detect(line []byte) bool {
	if len(line) > 2 && line[0] == '<' {
		_, ok := priLen(line)
		return ok
	}
	return bsdStamp(line) || versionStamp(line) || isoStamp(line)
}

// Parse parses the syslog record in line, adds the header's fields to
// ev.Fields, and returns the record's time and body. received decides the
// year of RFC 3164 timestamps (see NewParser). The error says what is wrong
// and at which column; on error the fields parsed so far stay in ev.Fields.
func (p *Parser) Parse(line []byte, received time.Time, ev *tansa.Event) (Message, error) {
	in := line
	if isoStamp(line) {
		// "2020-03-25 09:01:30.852002-0700 host sshd[1]: …", macOS and
		// some file exporters: not a grammar go-syslog knows.
		return p.parseISO(line, ev)
	}
	if len(line) == 0 || line[0] != '<' {
		// RFC 3164 section 4.3.3: a relay adds "<13>" to a record without PRI.
		p.buf = append(append(p.buf[:0], "<13>"...), line...)
		msg, err := p.parse(p.buf, received, ev)
		// Columns in errors count in the record as received.
		return msg, shiftCol(err, -len("<13>"))
	}
	return p.parse(in, received, ev)
}

// shiftCol moves the "[col N]" at the end of err's message by delta.
func shiftCol(err error, delta int) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	i := strings.LastIndex(msg, "[col ")
	if i < 0 || !strings.HasSuffix(msg, "]") {
		return err
	}
	n, perr := strconv.Atoi(msg[i+5 : len(msg)-1])
	if perr != nil {
		return err
	}
	return errors.New(msg[:i] + "[col " + strconv.Itoa(max(n+delta, 0)) + "]")
}

func (p *Parser) parse(in []byte, received time.Time, ev *tansa.Event) (Message, error) {
	n, ok := priLen(in)
	if !ok {
		return Message{}, errors.New("syslog: expecting a priority value within angle brackets [col 0]")
	}
	if len(in) > n+1 && in[n] >= '1' && in[n] <= '9' && in[n+1] == ' ' {
		return p.parse5424(in, ev)
	}
	rest := in[n:]
	if !bsdStamp(rest) && !isoStamp(rest) && !(len(rest) > 0 && rest[0] == ' ') {
		// "<189>date=2026-11-21 time=…": FortiGate and other appliances
		// send a PRI and then their own record, with no header at all.
		addPriority(ev.Fields, in[1:n-1])
		return Message{Format: RFC3164, Body: string(rest)}, nil
	}
	return p.parse3164(in, received, ev)
}

// addPriority records a PRI value's fields; digits is the text between
// "<" and ">", already checked by priLen.
func addPriority(f map[string]any, digits []byte) {
	v := 0
	for _, c := range digits {
		v = v*10 + int(c-'0')
	}
	f["log.syslog.priority"] = int64(v)
	f["log.syslog.facility.code"] = int64(v / 8)
	f["log.syslog.severity.code"] = int64(v % 8)
	f["log.syslog.severity.name"] = severityNames[v%8]
}

// severityNames are the severity names, go-syslog's, boxed once: each
// conversion of a string to an interface is an allocation (and go-syslog's
// SeverityLevel allocates the name it returns).
var severityNames = [...]any{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

func (p *Parser) parse5424(in []byte, ev *tansa.Event) (Message, error) {
	res, err := p.m5424.Parse(in)
	msg, _ := res.(*rfc5424.SyslogMessage)
	out := Message{Format: RFC5424}
	if msg == nil {
		return out, syslogError(err)
	}
	f := ev.Fields
	f["log.syslog.version"] = int64(msg.Version)
	addBase(f, &msg.Base)
	if msg.MsgID != nil {
		f["log.syslog.msgid"] = *msg.MsgID
	}
	if msg.Timestamp != nil {
		out.Time = *msg.Timestamp
	}
	if err != nil {
		// Structured data that is not RFC 5424's: keep the header the
		// machine read and take everything after the sixth header token
		// as the body, so that the content parsers still see it.
		body, ok := after5424Header(in)
		if !ok || msg.Timestamp == nil {
			return out, syslogError(err)
		}
		out.Body = body
		return out, nil
	}
	if msg.StructuredData != nil {
		for id, params := range *msg.StructuredData {
			for k, v := range params {
				f["log.syslog.structured_data."+id+"."+k] = v
			}
		}
	}
	if msg.Message != nil {
		out.Body = strings.TrimPrefix(*msg.Message, "\ufeff")
	}
	return out, nil
}

func (p *Parser) parse3164(in []byte, received time.Time, ev *tansa.Event) (Message, error) {
	res, err := p.m3164.Parse(in)
	msg, _ := res.(*rfc3164.SyslogMessage)
	out := Message{Format: RFC3164}
	if msg == nil {
		return out, syslogError(err)
	}
	addBase(ev.Fields, &msg.Base)
	if msg.Timestamp != nil {
		out.Time = *msg.Timestamp
		if out.Time.Year() == 0 {
			// "Mmm dd hh:mm:ss" has no year; RFC 3339 stamps do.
			out.Time = withYear(out.Time, received, p.loc)
		}
	}
	if msg.Message != nil {
		out.Body = *msg.Message
	}
	// go-syslog takes "%ASA-6-302013" for a tag; the Cisco message ID is
	// part of the body for the content parsers.
	if app := msg.Appname; app != nil && len(*app) > 1 && (*app)[0] == '%' {
		out.Body = *app + ": " + out.Body
		delete(ev.Fields, "process.name")
		delete(ev.Fields, "log.syslog.appname")
	}
	if err != nil {
		if n, _ := priLen(in); bsdStamp(in[n:]) && msg.Timestamp == nil {
			// A timestamp that is the right shape but no date ("May 00"):
			// say so, and still hand the body to the content parsers.
			out.Body, _ = tail(string(in[n+15:]), ev)
			return out, fmt.Errorf("syslog: timestamp %q is not a valid date [col %d]", in[n:n+15], n)
		}
		return out, syslogError(err)
	}
	return out, nil
}

// withYear applies the RFC 3164 year and zone rule documented on
// NewParser to t, whose fields are the stamp's wall clock as written.
func withYear(t, received time.Time, loc *time.Location) time.Time {
	if received.IsZero() {
		received = time.Now()
	}
	year := received.In(loc).Year()
	y := time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	if y.After(received.Add(7 * 24 * time.Hour)) {
		y = time.Date(year-1, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	}
	return y
}

func addBase(f map[string]any, b *gosyslog.Base) {
	if b.Priority != nil {
		f["log.syslog.priority"] = int64(*b.Priority)
		f["log.syslog.facility.code"] = int64(*b.Facility)
		f["log.syslog.severity.code"] = int64(*b.Severity)
		if sev := *b.Severity; int(sev) < len(severityNames) {
			f["log.syslog.severity.name"] = severityNames[sev]
		} else if s := b.SeverityLevel(); s != nil {
			f["log.syslog.severity.name"] = *s
		}
	}
	// A value stored under two names is boxed once: each conversion of a
	// string to an interface is an allocation.
	if b.Hostname != nil {
		h := any(*b.Hostname)
		f["log.syslog.hostname"] = h
		f["host.name"] = h
	}
	if b.Appname != nil {
		a := any(*b.Appname)
		f["log.syslog.appname"] = a
		f["process.name"] = a
	}
	if b.ProcID != nil {
		f["log.syslog.procid"] = *b.ProcID
		if pid, err := strconv.ParseInt(*b.ProcID, 10, 64); err == nil {
			f["process.pid"] = pid
		}
	}
}

func syslogError(err error) error {
	if err == nil {
		return errors.New("syslog: record has no header")
	}
	return errors.New("syslog: " + err.Error())
}

// priLen returns the length of a leading "<PRI>" (PRI 0–191).
func priLen(b []byte) (int, bool) {
	if len(b) < 3 || b[0] != '<' {
		return 0, false
	}
	v := 0
	for i := 1; i < len(b) && i <= 4; i++ {
		c := b[i]
		switch {
		case c == '>':
			return i + 1, i > 1 && v <= 191
		case c >= '0' && c <= '9':
			v = v*10 + int(c-'0')
		default:
			return 0, false
		}
	}
	return 0, false
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// bsdStamp reports whether b starts with "Mmm dd hh:mm:ss".
func bsdStamp(b []byte) bool {
	if len(b) < 15 || b[3] != ' ' || b[9] != ':' || b[12] != ':' {
		return false
	}
	for _, m := range months {
		if string(b[:3]) == m {
			return isDigit(b[5]) && isDigit(b[7]) && isDigit(b[8])
		}
	}
	return false
}

// versionStamp reports whether b starts with "1 YYYY-", an RFC 5424 header
// whose PRI was removed.
func versionStamp(b []byte) bool {
	return len(b) > 7 && b[0] == '1' && b[1] == ' ' && isDigit(b[2]) && isDigit(b[5]) && b[6] == '-'
}

// isoStamp reports whether b starts with "YYYY-MM-DDThh:" or
// "YYYY-MM-DD hh:", a timestamp in place of RFC 3164's.
func isoStamp(b []byte) bool {
	return len(b) > 20 && isDigit(b[0]) && isDigit(b[3]) && b[4] == '-' && b[7] == '-' &&
		(b[10] == 'T' || b[10] == ' ') && isDigit(b[11]) && b[13] == ':'
}

// parseISO reads "YYYY-MM-DD hh:mm:ss[.frac][zone] host tag[pid]: msg".
func (p *Parser) parseISO(line []byte, ev *tansa.Event) (Message, error) {
	out := Message{Format: RFC3164}
	s := string(line)
	stamp, rest, _ := strings.Cut(s[11:], " ")
	stamp = s[:11] + stamp
	for _, l := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(l, stamp, p.loc); err == nil {
			out.Time = t
			break
		}
	}
	if out.Time.IsZero() {
		return out, fmt.Errorf("syslog: timestamp %q is not YYYY-MM-DD hh:mm:ss [col 0]", stamp)
	}
	body, err := tail(rest, ev)
	out.Body = body
	if err != nil {
		return out, fmt.Errorf("syslog: %w [col %d]", err, len(s))
	}
	return out, nil
}

// tail reads "host tag[pid]: msg" after a timestamp that go-syslog does not
// read, and returns msg (or everything after host when there is no tag).
func tail(rest string, ev *tansa.Event) (string, error) {
	rest = strings.TrimLeft(rest, " ")
	host, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return "", errors.New("no host name after the timestamp")
	}
	ev.Fields["log.syslog.hostname"] = host
	ev.Fields["host.name"] = host
	rest = strings.TrimLeft(rest, " ")
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || strings.IndexByte(tag, ' ') >= 0 || strings.HasPrefix(tag, "%") {
		return rest, nil
	}
	app, pid, _ := strings.Cut(strings.TrimSuffix(tag, "]"), "[")
	ev.Fields["log.syslog.appname"] = app
	ev.Fields["process.name"] = app
	if pid != "" {
		ev.Fields["log.syslog.procid"] = pid
		if n, err := strconv.ParseInt(pid, 10, 64); err == nil {
			ev.Fields["process.pid"] = n
		}
	}
	return msg, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// after5424Header returns what follows "<PRI>VERSION TIMESTAMP HOSTNAME
// APP-NAME PROCID MSGID ".
func after5424Header(b []byte) (string, bool) {
	i := 0
	for tok := 0; tok < 6; tok++ {
		j := bytes.IndexByte(b[i:], ' ')
		if j < 0 {
			return "", false
		}
		i += j + 1
	}
	return string(b[i:]), true
}
