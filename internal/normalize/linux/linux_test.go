package linux_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/linux"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		program, msg, format string
		want                 map[string]any
	}{
		{"sshd", "Accepted publickey for alice from 10.0.0.5 port 50022 ssh2: RSA SHA256:abc", linux.SSHD, map[string]any{
			"event.action": "logged-in", "event.outcome": "success", "user.name": "alice", "source.ip": "10.0.0.5",
			"source.port": int64(50022), "ssh.method": "publickey",
		}},
		{"sshd", "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2", linux.SSHD, map[string]any{
			"event.action": "login-failed", "event.outcome": "failure", "user.name": "webmaster", "source.ip": "173.234.31.186",
			"source.port": int64(38926),
		}},
		{"sshd", "reverse mapping checking getaddrinfo for ns.Example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!", linux.SSHD, map[string]any{
			"event.action": "reverse-mapping-failed", "source.domain": "ns.example.com", "source.ip": "173.234.31.186",
		}},
		{"sshd", "Received disconnect from 2001:db8::1: 11: Bye Bye [preauth]", linux.SSHD, map[string]any{
			"event.action": "disconnected", "source.ip": "2001:db8::1",
		}},
		{"sshd", "message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]", linux.SSHD, map[string]any{
			"event.action": "login-failed", "user.name": "root", "source.ip": "5.36.59.76",
		}},
		{"sshd", "Disconnected from invalid user root 172.18.1.100 port 43042", linux.SSHD, map[string]any{
			"user.name": "root", "source.ip": "172.18.1.100", "source.port": int64(43042),
		}},
		{"sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.188.2.4  user=root", linux.PAM, map[string]any{
			"event.action": "authentication-failure", "event.outcome": "failure", "user.name": "root", "source.ip": "218.188.2.4",
			"pam.module": "pam_unix", "pam.service": "sshd", "pam.type": "auth",
		}},
		{"sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host.Example.org", linux.PAM, map[string]any{
			"event.outcome": "failure", "source.domain": "host.example.org", "pam.service": "sshd", "pam.module": "pam_unix",
		}},
		{"su(pam_unix)", "session opened for user news by (uid=0)", linux.PAM, map[string]any{
			"event.action": "session-opened", "user.name": "news", "process.name": "su",
		}},
		{"sshd", "Server listening on 0.0.0.0 port 22.", linux.SSHD, map[string]any{"event.action": "started"}},
		{"pam", "session closed for user news", linux.PAM, map[string]any{"event.action": "session-closed", "user.name": "news"}},
	}
	for _, tt := range tests {
		ev := normalizetest.NewEvent()
		if err := linux.Parse(tt.program, tt.msg, ev); err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.program, tt.msg, err)
		}
		normalizetest.CheckValues(t, ev.Fields)
		if ev.Format != tt.format {
			t.Errorf("%q: Format = %q, want %q", tt.msg, ev.Format, tt.format)
		}
		for k, want := range tt.want {
			if got := ev.Fields[k]; got != want {
				t.Errorf("%q: %s = %#v, want %#v", tt.msg, k, got, want)
			}
		}
	}
}

func TestParseAudit(t *testing.T) {
	line := `node=web01 type=USER_AUTH msg=audit(1630937849.448:891): pid=4171 uid=0 auid=1000 ses=3 msg='op=PAM:authentication grantors=? acct="root" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed'`
	ev := normalizetest.NewEvent()
	if !linux.DetectAudit(line) {
		t.Fatal("DetectAudit = false")
	}
	if err := linux.ParseAudit(line, ev); err != nil {
		t.Fatal(err)
	}
	normalizetest.CheckValues(t, ev.Fields)
	want := map[string]any{
		"auditd.type": "USER_AUTH", "auditd.sequence": "891", "host.name": "web01", "user.name": "root",
		"process.executable": "/usr/sbin/sshd", "process.name": "sshd", "source.ip": "203.0.113.9",
		"event.outcome": "failure", "event.action": "PAM:authentication", "process.pid": int64(4171), "user.audit.id": "1000",
	}
	for k, w := range want {
		if got := ev.Fields[k]; got != w {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	if wantT := time.Unix(1630937849, 448e6).UTC(); !ev.Time.Equal(wantT) {
		t.Errorf("Time = %v, want %v", ev.Time, wantT)
	}
	syscall := `type=SYSCALL msg=audit(1479982525.380:50): arch=c000003e syscall=2 success=yes exit=3 ppid=432 pid=3333 auid=0 uid=0 comm="touch" exe="/bin/touch" key="audit-wazuh-w"`
	ev = normalizetest.NewEvent()
	if err := linux.ParseAudit(syscall, ev); err != nil {
		t.Fatal(err)
	}
	if ev.Fields["process.name"] != "touch" || ev.Fields["event.outcome"] != "success" || ev.Fields["process.parent.pid"] != int64(432) {
		t.Errorf("SYSCALL fields = %v", ev.Fields)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"type=SYSCALL", "auditd: record does not start with type= [col 0]"},
		{"type=SYSCALL arch=x", "auditd: expected msg=audit( [col 13]"},
		{"type=SYSCALL msg=audit(12x.1:2): a=b", `auditd: audit( stamp "12x.1:2" is not seconds.millis:serial [col 23]`},
		{`type=SYSCALL msg=audit(1.1:2): comm="ls`, `auditd: value of "comm" has no closing quote [col 30]`},
	}
	for _, tt := range tests {
		err := linux.ParseAudit(tt.line, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAudit(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
	if err := linux.Parse("cron", "x", normalizetest.NewEvent()); err == nil {
		t.Error("Parse of a cron message: no error")
	}
}

// TestSamples parses Wazuh's auditd test logs and loghub's OpenSSH log
// bodies, and counts how many sshd messages yield a user or an address.
func TestSamples(t *testing.T) {
	audit := normalizetest.WazuhLogs(t, "auditd.ini")
	bad := 0
	for _, l := range audit {
		ev := normalizetest.NewEvent()
		if err := linux.ParseAudit(l, ev); err != nil {
			bad++
			t.Errorf("%v\n%s", err, l)
		}
		normalizetest.CheckValues(t, ev.Fields)
	}
	t.Logf("auditd: %d of %d Wazuh records parse without error", len(audit)-bad, len(audit))

	lines := normalizetest.Lines(t, "logs/loghub/OpenSSH/OpenSSH_2k.log")
	withAddr, withAction, mention := 0, 0, 0
	ipv4 := regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	for _, l := range lines {
		_, body, ok := strings.Cut(l, "]: ")
		if !ok {
			t.Fatalf("no sshd[pid]: in %q", l)
		}
		ev := normalizetest.NewEvent()
		if err := linux.Parse("sshd", body, ev); err != nil {
			t.Fatalf("%v\n%s", err, l)
		}
		if ipv4.MatchString(body) {
			mention++
			if ev.Fields["source.ip"] != nil || ev.Fields["source.domain"] != nil {
				withAddr++
			} else {
				t.Errorf("no source.ip or source.domain from %q", body)
			}
		}
		if ev.Fields["event.action"] != nil {
			withAction++
		}
	}
	t.Logf("loghub OpenSSH: %d lines parse without error; %d of the %d that mention an IPv4 address yield source.ip (or source.domain, for host names that embed one); %d yield event.action",
		len(lines), withAddr, mention, withAction)
}

func FuzzParseLinux(f *testing.F) {
	f.Add("sshd", "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2")
	f.Add("sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4")
	f.Add("", `type=USER_AUTH msg=audit(1630937849.448:891): pid=4171 msg='op=PAM:authentication acct="root" res=failed'`)
	f.Add("sshd", "reverse mapping checking getaddrinfo for x [")
	f.Fuzz(func(t *testing.T, program, msg string) {
		ev := normalizetest.NewEvent()
		if linux.DetectAudit(msg) {
			_ = linux.ParseAudit(msg, ev)
		} else {
			_ = linux.Parse(program, msg, ev)
		}
		normalizetest.CheckValues(t, ev.Fields)
	})
}

func BenchmarkParseSSHD(b *testing.B) {
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := linux.Parse("sshd", "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2", normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseAuditd(b *testing.B) {
	line := `type=SYSCALL msg=audit(1479982525.380:50): arch=c000003e syscall=2 success=yes exit=3 a0=7ffedc40d83b a1=941 a2=1b6 a3=7ffedc40cce0 items=2 ppid=432 pid=3333 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 comm="touch" exe="/bin/touch" key="audit-wazuh-w"`
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := linux.ParseAudit(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}
