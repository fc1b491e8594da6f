package collect

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// The parsers in this file read on-disk and /proc formats from every
// operating system. They live in one OS-independent file so that every one
// of them is fuzzed on the build machine whatever the target; each accepts
// arbitrary bytes and returns what it could understand, never panicking.

// maxLine bounds the length of one line kept from a parsed file so that a
// hostile file cannot inflate the result.
const maxLine = 4096

// lines splits data into lines without a length limit on reading and
// truncates each kept line to maxLine bytes.
func lines(data []byte) []string {
	var out []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimRight(l, "\r")
		if len(l) > maxLine {
			l = l[:maxLine]
		}
		out = append(out, toValidUTF8(l))
	}
	return out
}

// toValidUTF8 turns bytes of unknown encoding into a valid UTF-8 string so
// that odd encodings survive JSON encoding intact enough to read.
func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// decodeText returns data as UTF-8, decoding UTF-16 when it starts with a
// byte-order mark (scheduled tasks and many Windows files are UTF-16LE).
func decodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return utf16Bytes(data[2:], binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return utf16Bytes(data[2:], binary.BigEndian)
	case len(data) >= 4 && data[0] == '<' && data[1] == 0 && data[2] != 0 && data[3] == 0:
		return utf16Bytes(data, binary.LittleEndian)
	}
	return data
}

func utf16Bytes(data []byte, order binary.ByteOrder) []byte {
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = order.Uint16(data[2*i:])
	}
	return []byte(string(utf16.Decode(u)))
}

// utf16String decodes a NUL-terminated UTF-16LE string.
func utf16String(data []byte) string {
	u := make([]uint16, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		c := binary.LittleEndian.Uint16(data[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// CronEntry is one scheduled command from a crontab.
type CronEntry struct {
	Schedule string
	User     string
	Command  string
}

// ParseCrontab parses a crontab. System crontabs (/etc/crontab,
// /etc/cron.d) carry a user field after the schedule; user crontabs do not.
// Environment assignments and comments are skipped.
func ParseCrontab(data []byte, system bool) []CronEntry {
	var out []CronEntry
	for _, l := range lines(data) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		fields := strings.Fields(l)
		nsched := 5
		if strings.HasPrefix(fields[0], "@") {
			nsched = 1
		} else if eq := strings.IndexByte(l, '='); eq > 0 && !strings.ContainsAny(l[:eq], " \t") {
			continue
		}
		need := nsched + 1
		if system {
			need++
		}
		if len(fields) < need {
			continue
		}
		e := CronEntry{Schedule: strings.Join(fields[:nsched], " ")}
		rest := fields[nsched:]
		if system {
			e.User, rest = rest[0], rest[1:]
		}
		e.Command = afterFields(l, len(fields)-len(rest))
		out = append(out, e)
	}
	return out
}

// afterFields returns l after its first n whitespace-separated fields,
// keeping the remainder's own spacing.
func afterFields(l string, n int) string {
	s := l
	for range n {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

// Unit is a parsed systemd unit file: values by "Section.Key", in order.
type Unit map[string][]string

// First returns the first value of key ("Service.ExecStart"), or "".
func (u Unit) First(key string) string {
	if v := u[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ParseUnit parses a systemd unit file, joining backslash continuations.
// An empty assignment resets the key's list, as systemd does.
func ParseUnit(data []byte) Unit {
	u := Unit{}
	section := ""
	var pending string
	for _, l := range lines(data) {
		if pending != "" {
			l = pending + strings.TrimLeft(l, " \t")
			pending = ""
		}
		t := strings.TrimSpace(l)
		if strings.HasSuffix(t, "\\") {
			pending = strings.TrimSpace(strings.TrimSuffix(t, "\\")) + " "
			if len(pending) > maxLine {
				pending = pending[:maxLine]
			}
			continue
		}
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' && strings.HasSuffix(t, "]") {
			section = t[1 : len(t)-1]
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		key := section + "." + strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		if v == "" {
			delete(u, key)
			continue
		}
		u[key] = append(u[key], v)
	}
	return u
}

// ParseDpkgStatus parses /var/lib/dpkg/status and returns the packages
// whose status is "install ok installed".
func ParseDpkgStatus(data []byte) []result.Software {
	var out []result.Software
	var cur result.Software
	installed := false
	flush := func() {
		if cur.Name != "" && installed {
			cur.Source = "dpkg"
			out = append(out, cur)
		}
		cur, installed = result.Software{}, false
	}
	for _, l := range lines(data) {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Arch = v
		case "Status":
			installed = strings.HasSuffix(v, " installed") && !strings.Contains(v, "not-installed")
		}
	}
	flush()
	return out
}

// ParsePlist parses a property list, XML or binary ("bplist00"), and
// returns its root value as map[string]any, []any, string, int64,
// float64, bool, time.Time or []byte.
func ParsePlist(data []byte) (any, error) {
	if bytes.HasPrefix(data, []byte("bplist")) {
		return parseBinaryPlist(data)
	}
	d := xml.NewDecoder(bytes.NewReader(decodeText(data)))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("plist: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "plist" {
				continue
			}
			return plistValue(d, se, 0)
		}
	}
}

// maxPlistDepth stops hostile nesting from exhausting the stack.
const maxPlistDepth = 64

func plistValue(d *xml.Decoder, se xml.StartElement, depth int) (any, error) {
	if depth > maxPlistDepth {
		return nil, errors.New("plist: nested too deeply")
	}
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		key := ""
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, fmt.Errorf("plist dict: %w", err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				if t.Name.Local == "key" {
					var s string
					if err := d.DecodeElement(&s, &t); err != nil {
						return nil, fmt.Errorf("plist key: %w", err)
					}
					key = s
					continue
				}
				v, err := plistValue(d, t, depth+1)
				if err != nil {
					return nil, err
				}
				m[key] = v
			case xml.EndElement:
				return m, nil
			}
		}
	case "array":
		var a []any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, fmt.Errorf("plist array: %w", err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				v, err := plistValue(d, t, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			case xml.EndElement:
				return a, nil
			}
		}
	case "true", "false":
		if err := d.Skip(); err != nil {
			return nil, fmt.Errorf("plist bool: %w", err)
		}
		return se.Name.Local == "true", nil
	}
	var s string
	if err := d.DecodeElement(&s, &se); err != nil {
		return nil, fmt.Errorf("plist %s: %w", se.Name.Local, err)
	}
	s = strings.TrimSpace(s)
	switch se.Name.Local {
	case "integer":
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("plist integer %q: %w", s, err)
		}
		return n, nil
	case "real":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("plist real %q: %w", s, err)
		}
		return f, nil
	case "date":
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fmt.Errorf("plist date %q: %w", s, err)
		}
		return t, nil
	case "data":
		return []byte(s), nil
	}
	return s, nil
}

// plistString returns m[key] when it is a string.
func plistString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// LaunchCommand returns the command a launchd job property list runs:
// Program, or ProgramArguments joined by spaces.
func LaunchCommand(m map[string]any) string {
	if p := plistString(m, "Program"); p != "" {
		return p
	}
	args, _ := m["ProgramArguments"].([]any)
	var parts []string
	for _, a := range args {
		if s, ok := a.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// ProcStat is the part of /proc/PID/stat the scanner uses.
type ProcStat struct {
	PID        int
	Comm       string
	State      string
	PPID       int
	StartTicks uint64
}

// ParseProcStat parses /proc/PID/stat. The command name is in parentheses
// and may itself contain spaces and parentheses, so the last ')' ends it.
func ParseProcStat(data []byte) (ProcStat, error) {
	s := toValidUTF8(data)
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return ProcStat{}, errors.New("proc stat: no command name")
	}
	var st ProcStat
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return ProcStat{}, fmt.Errorf("proc stat pid: %w", err)
	}
	st.PID = pid
	st.Comm = s[open+1 : closing]
	f := strings.Fields(s[closing+1:])
	// After the name: state(3) ppid(4) … starttime(22), 1-based in proc(5).
	if len(f) < 20 {
		return ProcStat{}, fmt.Errorf("proc stat: %d fields after name, want ≥ 20", len(f))
	}
	st.State = f[0]
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return ProcStat{}, fmt.Errorf("proc stat ppid: %w", err)
	}
	if st.StartTicks, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("proc stat starttime: %w", err)
	}
	return st, nil
}

// ParseProcStatusUID returns the real UID from /proc/PID/status.
func ParseProcStatusUID(data []byte) (string, bool) {
	for _, l := range lines(data) {
		if rest, ok := strings.CutPrefix(l, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0], true
			}
		}
	}
	return "", false
}

// ParseProcMaps returns the distinct files mapped executable in
// /proc/PID/maps — the program and its libraries — in first-seen order.
// Files mapped only for data (SQLite's -shm files, shared-memory segments,
// fonts, caches) are left out: they are not code, and counting them as
// loaded libraries would flag every database as an injection.
func ParseProcMaps(data []byte) []string {
	exec := map[string]bool{}
	var order []string
	for _, l := range lines(data) {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		p := strings.Join(f[5:], " ")
		if !strings.HasPrefix(p, "/") {
			continue
		}
		if _, ok := exec[p]; !ok {
			order = append(order, p)
			exec[p] = false
		}
		if strings.Contains(f[1], "x") {
			exec[p] = true
		}
	}
	var out []string
	for _, p := range order {
		if exec[p] {
			out = append(out, p)
		}
	}
	return out
}

// ParseCmdline turns /proc/PID/cmdline (NUL-separated) into one line.
func ParseCmdline(data []byte) string {
	data = bytes.TrimRight(data, "\x00")
	if len(data) > maxLine {
		data = data[:maxLine]
	}
	return toValidUTF8(bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
}

// Socket is one line of /proc/net/{tcp,udp}{,6}.
type Socket struct {
	LocalAddr  netip.Addr
	LocalPort  int
	RemoteAddr netip.Addr
	RemotePort int
	State      string
	UID        string
	Inode      uint64
}

// linuxTCPState names a TCP state from include/net/tcp_states.h, given
// in hexadecimal as /proc/net/tcp writes it.
func linuxTCPState(hex string) string {
	n, err := strconv.ParseUint(hex, 16, 8)
	if err != nil {
		return ""
	}
	return tcpStateName(n, []string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
		6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"})
}

func tcpStateName(n uint64, names []string) string {
	if n < uint64(len(names)) {
		return names[n]
	}
	return ""
}

// ParseProcNet parses /proc/net/tcp, tcp6, udp or udp6. Addresses there
// are hexadecimal in host byte order per 32-bit word, which on every
// platform Go supports for Linux here is little-endian.
func ParseProcNet(data []byte) []Socket {
	var out []Socket
	for i, l := range lines(data) {
		f := strings.Fields(l)
		if i == 0 || len(f) < 10 {
			continue
		}
		la, lp, err1 := procNetAddr(f[1])
		ra, rp, err2 := procNetAddr(f[2])
		inode, err3 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		st := linuxTCPState(f[3])
		out = append(out, Socket{LocalAddr: la, LocalPort: lp, RemoteAddr: ra, RemotePort: rp, State: st, UID: f[7], Inode: inode})
	}
	return out
}

func procNetAddr(s string) (netip.Addr, int, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, errors.New("no port")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, 0, errors.New("bad address")
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap(), int(port), nil
}

// ParseHosts parses a hosts file (same format on every OS).
func ParseHosts(data []byte) []result.DNSEntry {
	var out []result.DNSEntry
	for _, l := range lines(decodeText(data)) {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, name := range f[1:] {
			out = append(out, result.DNSEntry{Name: strings.ToLower(name), Address: addr.String(), Source: "hosts"})
		}
	}
	return out
}

// ParseKeyValues parses KEY=value lines such as /etc/os-release, removing
// shell quoting around values.
func ParseKeyValues(data []byte) map[string]string {
	m := map[string]string{}
	for _, l := range lines(data) {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || k == "" || k[0] == '#' {
			continue
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}

// PasswdEntry is one line of /etc/passwd.
type PasswdEntry struct {
	Name, UID, Home, Shell string
}

// ParsePasswd parses /etc/passwd.
func ParsePasswd(data []byte) []PasswdEntry {
	var out []PasswdEntry
	for _, l := range lines(data) {
		f := strings.Split(l, ":")
		if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, PasswdEntry{Name: f[0], UID: f[2], Home: f[5], Shell: f[6]})
	}
	return out
}

// AuthorizedKey is one line of an authorized_keys file.
type AuthorizedKey struct {
	Options, Type, Comment string
}

// ParseAuthorizedKeys parses an OpenSSH authorized_keys file. Options come
// before the key type and may contain quoted spaces.
func ParseAuthorizedKeys(data []byte) []AuthorizedKey {
	var out []AuthorizedKey
	for _, l := range lines(data) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		var k AuthorizedKey
		if !isKeyType(firstField(l)) {
			end, inQuote := len(l), false
			for i, c := range l {
				if c == '"' {
					inQuote = !inQuote
				} else if (c == ' ' || c == '\t') && !inQuote {
					end = i
					break
				}
			}
			k.Options, l = l[:end], strings.TrimSpace(l[end:])
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		k.Type = f[0]
		if len(f) > 2 {
			k.Comment = strings.Join(f[2:], " ")
		}
		out = append(out, k)
	}
	return out
}

// splitOptions splits an authorized_keys option list on commas outside
// double quotes.
func splitOptions(s string) []string {
	var out []string
	start, inQuote := 0, false
	for i, ch := range s {
		switch {
		case ch == '"':
			inQuote = !inQuote
		case ch == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func isKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-")
}

// Task is what the scanner keeps from a Windows scheduled-task XML file.
type Task struct {
	Author   string
	Enabled  bool
	Commands []string
}

// ParseTaskXML parses a scheduled task definition (Task Scheduler schema,
// usually UTF-16LE with a byte-order mark) and returns its Exec actions
// as "command arguments" and COM handlers as "com:{CLSID}".
func ParseTaskXML(data []byte) (Task, error) {
	var doc struct {
		Author  string `xml:"RegistrationInfo>Author"`
		Enabled string `xml:"Settings>Enabled"`
		Actions []struct {
			Exec []struct {
				Command   string `xml:"Command"`
				Arguments string `xml:"Arguments"`
			} `xml:"Exec"`
			COM []struct {
				ClassID string `xml:"ClassId"`
			} `xml:"ComHandler"`
		} `xml:"Actions"`
	}
	d := xml.NewDecoder(bytes.NewReader(decodeText(data)))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := d.Decode(&doc); err != nil {
		return Task{}, fmt.Errorf("task xml: %w", err)
	}
	t := Task{Author: doc.Author, Enabled: !strings.EqualFold(strings.TrimSpace(doc.Enabled), "false")}
	for _, a := range doc.Actions {
		for _, e := range a.Exec {
			c := strings.TrimSpace(strings.TrimSpace(e.Command) + " " + strings.TrimSpace(e.Arguments))
			t.Commands = append(t.Commands, c)
		}
		for _, c := range a.COM {
			t.Commands = append(t.Commands, "com:"+strings.TrimSpace(c.ClassID))
		}
	}
	return t, nil
}

// RecycleInfo is a parsed Recycle Bin $I file.
type RecycleInfo struct {
	OriginalPath string
	Size         int64
	Deleted      time.Time
}

// ParseRecycleBinI parses a Windows Recycle Bin $I metadata file, version 1
// (Vista–8.1, fixed 520-byte name) or version 2 (Windows 10+, counted name).
func ParseRecycleBinI(data []byte) (RecycleInfo, error) {
	if len(data) < 24 {
		return RecycleInfo{}, fmt.Errorf("recycle bin $I: %d bytes, want ≥ 24", len(data))
	}
	ver := binary.LittleEndian.Uint64(data)
	ri := RecycleInfo{
		Size:    int64(binary.LittleEndian.Uint64(data[8:])),
		Deleted: filetime(binary.LittleEndian.Uint64(data[16:])),
	}
	switch ver {
	case 1:
		ri.OriginalPath = utf16String(data[24:min(len(data), 24+520)])
	case 2:
		if len(data) < 28 {
			return RecycleInfo{}, errors.New("recycle bin $I v2: no name length")
		}
		n := int(binary.LittleEndian.Uint32(data[24:]))
		end := min(len(data), 28+2*min(n, 32768))
		ri.OriginalPath = utf16String(data[28:end])
	default:
		return RecycleInfo{}, fmt.Errorf("recycle bin $I: version %d", ver)
	}
	return ri, nil
}

// filetime converts a Windows FILETIME (100 ns since 1601) to time.Time.
func filetime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000
	if ft < epochDiff {
		return time.Time{}
	}
	ns := (ft - epochDiff) * 100
	return time.Unix(0, int64(ns)).UTC()
}

// ParseLsof parses `lsof -nP -i -F pcnPTt` output (one field per line,
// prefixed by its letter) into connections; the scanner uses it on macOS,
// where the kernel's socket tables need private APIs.
func ParseLsof(data []byte) []result.Connection {
	var out []result.Connection
	pid, cmd := 0, ""
	var cur *result.Connection
	for _, l := range lines(data) {
		if l == "" {
			continue
		}
		v := l[1:]
		switch l[0] {
		case 'p':
			pid, _ = strconv.Atoi(v)
			cmd, cur = "", nil
		case 'c':
			cmd = v
		case 'f':
			out = append(out, result.Connection{PID: pid, Process: cmd})
			cur = &out[len(out)-1]
		case 'P':
			if cur != nil {
				cur.Protocol = strings.ToLower(v)
			}
		case 'T':
			if cur != nil {
				if st, ok := strings.CutPrefix(v, "ST="); ok {
					cur.State = st
				}
			}
		case 'n':
			if cur != nil {
				local, remote, _ := strings.Cut(v, "->")
				cur.LocalAddr, cur.LocalPort = splitHostPort(local)
				if remote != "" {
					cur.RemoteAddr, cur.RemotePort = splitHostPort(remote)
				}
			}
		}
	}
	// lsof prints a record per descriptor; drop the ones without a name.
	kept := out[:0]
	for _, c := range out {
		if c.Protocol != "" && c.LocalAddr != "" {
			if c.Protocol == "tcp" && strings.Contains(c.LocalAddr, ":") {
				c.Protocol = "tcp6"
			} else if c.Protocol == "udp" && strings.Contains(c.LocalAddr, ":") {
				c.Protocol = "udp6"
			}
			kept = append(kept, c)
		}
	}
	return kept
}

// splitHostPort splits "addr:port" or "[v6]:port"; "*" becomes the
// unspecified address of its family.
func splitHostPort(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	host, port := s[:i], s[i+1:]
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "*" {
		host = "0.0.0.0"
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// ParseTCPTable parses the buffer that GetExtendedTcpTable fills with
// TCP_TABLE_OWNER_PID_ALL rows (MIB_TCPROW_OWNER_PID, or
// MIB_TCP6ROW_OWNER_PID when v6 is set). Ports are in network byte order
// in the low 16 bits of a little-endian DWORD.
func ParseTCPTable(buf []byte, v6 bool) []result.Connection {
	return parseIPTable(buf, true, v6)
}

// ParseUDPTable parses the buffer that GetExtendedUdpTable fills with
// UDP_TABLE_OWNER_PID rows.
func ParseUDPTable(buf []byte, v6 bool) []result.Connection {
	return parseIPTable(buf, false, v6)
}

// winTCPState names a MIB_TCP_STATE value.
func winTCPState(n uint32) string {
	return tcpStateName(uint64(n), []string{1: "CLOSE", 2: "LISTEN", 3: "SYN_SENT", 4: "SYN_RECV", 5: "ESTABLISHED",
		6: "FIN_WAIT1", 7: "FIN_WAIT2", 8: "CLOSE_WAIT", 9: "CLOSING", 10: "LAST_ACK", 11: "TIME_WAIT", 12: "DELETE_TCB"})
}

func parseIPTable(buf []byte, tcp, v6 bool) []result.Connection {
	if len(buf) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(buf))
	var size int
	switch {
	case tcp && !v6:
		size = 24
	case tcp && v6:
		size = 56
	case !tcp && !v6:
		size = 12
	default:
		size = 28
	}
	rows := buf[4:]
	n = min(n, len(rows)/size)
	out := make([]result.Connection, 0, n)
	u32 := func(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
	port := func(b []byte) int { return int(b[0])<<8 | int(b[1]) }
	v4 := func(b []byte) string { return netip.AddrFrom4([4]byte(b[:4])).String() }
	v6a := func(b []byte) string { return netip.AddrFrom16([16]byte(b[:16])).String() }
	for i := range n {
		r := rows[i*size : (i+1)*size]
		var c result.Connection
		switch {
		case tcp && !v6:
			c = result.Connection{Protocol: "tcp", State: winTCPState(u32(r)), LocalAddr: v4(r[4:]), LocalPort: port(r[8:]),
				RemoteAddr: v4(r[12:]), RemotePort: port(r[16:]), PID: int(u32(r[20:]))}
		case tcp && v6:
			c = result.Connection{Protocol: "tcp6", LocalAddr: v6a(r), LocalPort: port(r[20:]), RemoteAddr: v6a(r[24:]),
				RemotePort: port(r[44:]), State: winTCPState(u32(r[48:])), PID: int(u32(r[52:]))}
		case !tcp && !v6:
			c = result.Connection{Protocol: "udp", LocalAddr: v4(r), LocalPort: port(r[4:]), PID: int(u32(r[8:]))}
		default:
			c = result.Connection{Protocol: "udp6", LocalAddr: v6a(r), LocalPort: port(r[20:]), PID: int(u32(r[24:]))}
		}
		if c.State == "LISTEN" {
			c.RemoteAddr, c.RemotePort = "", 0
		}
		out = append(out, c)
	}
	return out
}

// ParseRPMQuery parses the output of
// `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n'`.
func ParseRPMQuery(data []byte) []result.Software {
	var out []result.Software
	for _, l := range lines(data) {
		f := strings.Split(l, "\t")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		s := result.Software{Name: f[0], Version: f[1], Source: "rpm"}
		if len(f) > 2 {
			s.Arch = f[2]
		}
		if len(f) > 3 && f[3] != "(none)" {
			s.Publisher = f[3]
		}
		out = append(out, s)
	}
	return out
}

// ParseProcArgs2 parses the kern.procargs2 sysctl of macOS: a 32-bit
// argument count, the executable path, NUL padding, then the arguments
// (followed by the environment, which is ignored).
func ParseProcArgs2(data []byte) (exe string, args []string, err error) {
	if len(data) < 4 {
		return "", nil, errors.New("procargs2: too short")
	}
	argc := int(binary.LittleEndian.Uint32(data))
	rest := data[4:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return toValidUTF8(rest), nil, nil
	}
	exe, rest = toValidUTF8(rest[:i]), rest[i:]
	rest = bytes.TrimLeft(rest, "\x00")
	for len(args) < argc && len(args) < 1024 && len(rest) > 0 {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			args = append(args, toValidUTF8(rest))
			break
		}
		args = append(args, toValidUTF8(rest[:j]))
		rest = rest[j+1:]
	}
	return exe, args, nil
}

// maxPlistObjects bounds the objects a binary property list may declare,
// so that a forged count cannot make the parser allocate without end.
const maxPlistObjects = 1 << 20

// parseBinaryPlist parses Apple's binary property list format: objects
// addressed through an offset table described by a 32-byte trailer.
func parseBinaryPlist(data []byte) (any, error) {
	if len(data) < 8+32 || string(data[:8]) != "bplist00" {
		return nil, errors.New("binary plist: no bplist00 header or trailer")
	}
	tr := data[len(data)-32:]
	offSize, refSize := int(tr[6]), int(tr[7])
	numObjects := binary.BigEndian.Uint64(tr[8:])
	top := binary.BigEndian.Uint64(tr[16:])
	tableAt := binary.BigEndian.Uint64(tr[24:])
	if offSize < 1 || offSize > 8 || refSize < 1 || refSize > 8 || numObjects == 0 || numObjects > maxPlistObjects || top >= numObjects {
		return nil, errors.New("binary plist: bad trailer")
	}
	body := uint64(len(data) - 32)
	if tableAt < 8 || tableAt > body || numObjects*uint64(offSize) > body-tableAt {
		return nil, errors.New("binary plist: offset table outside the file")
	}
	bp := &bplist{data: data[:body], offSize: offSize, refSize: refSize, n: numObjects, table: tableAt, active: map[uint64]bool{}, budget: 4 * int(numObjects)}
	return bp.object(top, 0)
}

type bplist struct {
	data             []byte
	offSize, refSize int
	n, table         uint64
	active           map[uint64]bool // objects being decoded, to refuse cycles
	// budget bounds the objects decoded in total: shared references can
	// make a small file expand exponentially (a "billion laughs").
	budget int
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func (bp *bplist) object(ref uint64, depth int) (any, error) {
	if ref >= bp.n {
		return nil, fmt.Errorf("binary plist: reference %d out of range", ref)
	}
	if depth > maxPlistDepth || bp.active[ref] {
		return nil, errors.New("binary plist: nested too deeply or cyclic")
	}
	if bp.budget--; bp.budget < 0 {
		return nil, errors.New("binary plist: references expand beyond the object count")
	}
	at := bp.table + ref*uint64(bp.offSize)
	off := beUint(bp.data[at : at+uint64(bp.offSize)])
	if off < 8 || off >= uint64(len(bp.data)) {
		return nil, fmt.Errorf("binary plist: object %d at %d is outside the file", ref, off)
	}
	marker := bp.data[off]
	kind, info := marker>>4, int(marker&0x0F)
	p := off + 1
	need := func(n uint64) ([]byte, error) {
		if n > uint64(len(bp.data)) || p > uint64(len(bp.data))-n {
			return nil, fmt.Errorf("binary plist: object %d runs past the end", ref)
		}
		return bp.data[p : p+n], nil
	}
	// count reads the length of a string, data, array or dict: the low
	// nibble, or an integer object following the marker when it is 0xF.
	count := func() (uint64, error) {
		if info != 0x0F {
			return uint64(info), nil
		}
		b, err := need(1)
		if err != nil {
			return 0, err
		}
		if b[0]>>4 != 0x1 || b[0]&0x0F > 3 {
			return 0, errors.New("binary plist: bad length")
		}
		size := uint64(1) << (b[0] & 0x0F)
		p++
		lb, err := need(size)
		if err != nil {
			return 0, err
		}
		p += size
		return beUint(lb), nil
	}
	switch kind {
	case 0x0:
		switch marker {
		case 0x08:
			return false, nil
		case 0x09:
			return true, nil
		}
		return nil, nil
	case 0x1:
		if info > 3 {
			b, err := need(16)
			if err != nil {
				return nil, err
			}
			return int64(beUint(b[8:])), nil
		}
		b, err := need(uint64(1) << info)
		if err != nil {
			return nil, err
		}
		return int64(beUint(b)), nil
	case 0x2:
		switch info {
		case 2:
			b, err := need(4)
			if err != nil {
				return nil, err
			}
			return float64(math.Float32frombits(uint32(beUint(b)))), nil
		case 3:
			b, err := need(8)
			if err != nil {
				return nil, err
			}
			return math.Float64frombits(beUint(b)), nil
		}
		return nil, errors.New("binary plist: bad real size")
	case 0x3:
		b, err := need(8)
		if err != nil {
			return nil, err
		}
		sec := math.Float64frombits(beUint(b))
		if math.IsNaN(sec) || math.Abs(sec) > 1e11 {
			return nil, errors.New("binary plist: date out of range")
		}
		return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(sec * float64(time.Second))), nil
	case 0x4, 0x5, 0x6:
		n, err := count()
		if err != nil {
			return nil, err
		}
		size := n
		if kind == 0x6 {
			size = 2 * n
		}
		b, err := need(size)
		if err != nil {
			return nil, err
		}
		switch kind {
		case 0x4:
			return append([]byte(nil), b...), nil
		case 0x5:
			return toValidUTF8(b), nil
		}
		return string(utf16.Decode(bytesToUTF16BE(b))), nil
	case 0x8:
		b, err := need(uint64(info) + 1)
		if err != nil {
			return nil, err
		}
		return int64(beUint(b)), nil
	case 0xA, 0xD:
		n, err := count()
		if err != nil {
			return nil, err
		}
		pairs := uint64(1)
		if kind == 0xD {
			pairs = 2
		}
		if n > bp.n {
			return nil, errors.New("binary plist: container larger than the object table")
		}
		refs, err := need(n * pairs * uint64(bp.refSize))
		if err != nil {
			return nil, err
		}
		bp.active[ref] = true
		defer delete(bp.active, ref)
		refAt := func(i uint64) uint64 {
			return beUint(refs[i*uint64(bp.refSize) : (i+1)*uint64(bp.refSize)])
		}
		if kind == 0xA {
			a := make([]any, 0, n)
			for i := range n {
				v, err := bp.object(refAt(i), depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			return a, nil
		}
		m := make(map[string]any, n)
		for i := range n {
			k, err := bp.object(refAt(i), depth+1)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, errors.New("binary plist: dictionary key is not a string")
			}
			v, err := bp.object(refAt(n+i), depth+1)
			if err != nil {
				return nil, err
			}
			m[ks] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("binary plist: unknown object type 0x%x", marker)
}

func bytesToUTF16BE(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return u
}

// ShellLink is what the scanner keeps from a Windows shortcut (.lnk).
type ShellLink struct {
	Target, Arguments, WorkingDir string
}

// Command returns the shortcut's target and arguments as one line.
func (l ShellLink) Command() string {
	return strings.TrimSpace(l.Target + " " + l.Arguments)
}

// ParseShellLink parses a Shell Link file ([MS-SHLLINK]) far enough to
// know what it starts: the local base path from LinkInfo (or the relative
// path), the arguments and the working directory.
func ParseShellLink(data []byte) (ShellLink, error) {
	const headerSize = 0x4C
	if len(data) < headerSize || binary.LittleEndian.Uint32(data) != headerSize {
		return ShellLink{}, errors.New("shell link: no 0x4C header")
	}
	flags := binary.LittleEndian.Uint32(data[0x14:])
	const (
		hasIDList, hasLinkInfo, hasName, hasRelPath = 0x1, 0x2, 0x4, 0x8
		hasWorkDir, hasArgs, hasIcon, isUnicode     = 0x10, 0x20, 0x40, 0x80
	)
	p := headerSize
	if flags&hasIDList != 0 {
		if p+2 > len(data) {
			return ShellLink{}, errors.New("shell link: truncated ID list")
		}
		p += 2 + int(binary.LittleEndian.Uint16(data[p:]))
	}
	var l ShellLink
	if flags&hasLinkInfo != 0 {
		if p+0x1C > len(data) {
			return ShellLink{}, errors.New("shell link: truncated link info")
		}
		info := data[p:]
		size := int(binary.LittleEndian.Uint32(info))
		if size < 0x1C || size > len(info) {
			return ShellLink{}, errors.New("shell link: bad link info size")
		}
		info = info[:size]
		hdr := binary.LittleEndian.Uint32(info[4:])
		infoFlags := binary.LittleEndian.Uint32(info[8:])
		cstr := func(off uint32) string {
			if off == 0 || int(off) >= len(info) {
				return ""
			}
			b := info[off:]
			if i := bytes.IndexByte(b, 0); i >= 0 {
				b = b[:i]
			}
			return toValidUTF8(b)
		}
		wstr := func(off uint32) string {
			if off == 0 || int(off) >= len(info) {
				return ""
			}
			return utf16String(info[off:])
		}
		if infoFlags&0x1 != 0 {
			base, suffix := cstr(binary.LittleEndian.Uint32(info[0x10:])), cstr(binary.LittleEndian.Uint32(info[0x18:]))
			if hdr >= 0x24 && len(info) >= 0x24 {
				if u := wstr(binary.LittleEndian.Uint32(info[0x1C:])); u != "" {
					base = u
				}
				if u := wstr(binary.LittleEndian.Uint32(info[0x20:])); u != "" {
					suffix = u
				}
			}
			l.Target = base + suffix
		}
		p += size
	}
	readString := func() (string, error) {
		if p+2 > len(data) {
			return "", errors.New("shell link: truncated string")
		}
		n := int(binary.LittleEndian.Uint16(data[p:]))
		p += 2
		if flags&isUnicode != 0 {
			if p+2*n > len(data) {
				return "", errors.New("shell link: truncated string")
			}
			s := string(utf16.Decode(bytesToUTF16LE(data[p : p+2*n])))
			p += 2 * n
			return s, nil
		}
		if p+n > len(data) {
			return "", errors.New("shell link: truncated string")
		}
		s := toValidUTF8(data[p : p+n])
		p += n
		return s, nil
	}
	for _, f := range []uint32{hasName, hasRelPath, hasWorkDir, hasArgs, hasIcon} {
		if flags&f == 0 {
			continue
		}
		s, err := readString()
		if err != nil {
			return l, err
		}
		switch f {
		case hasRelPath:
			if l.Target == "" {
				l.Target = s
			}
		case hasWorkDir:
			l.WorkingDir = s
		case hasArgs:
			if len(s) > maxLine {
				s = s[:maxLine]
			}
			l.Arguments = s
		}
	}
	return l, nil
}

func bytesToUTF16LE(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}
