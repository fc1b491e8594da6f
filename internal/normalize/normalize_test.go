package normalize_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

var received = time.Date(2026, 11, 22, 0, 15, 0, 0, time.UTC)

// TestParse checks detection order and the fields that reach the event
// through the dispatcher, one case per path.
func TestParse(t *testing.T) {
	tests := []struct {
		name, raw, hint, format string
		want                    map[string]any
		parseError              string
	}{
		{"CEF bare", "CEF:0|Vendor|Product|1|100|Name|5|src=10.0.0.1", "", "cef", map[string]any{"source.ip": "10.0.0.1"}, ""},
		{"CEF in syslog after a tag without space", "<134>Sep 19 13:35:00 bigip-4 ASM:CEF:0|F5|ASM|11.3.0|200021069|Automated client access|5| dvchost=bigip-4 dvc=172.16.73.34", "", "cef",
			map[string]any{"observer.ip": "172.16.73.34", "host.name": "bigip-4", "log.syslog.priority": int64(134)}, ""},
		{"LEEF in RFC 5424", "<13>1 2026-11-21T10:00:00Z fw01 qradar - - - LEEF:1.0|V|P|1|ID|src=10.0.0.2\tdst=10.0.0.3", "", "leef",
			map[string]any{"source.ip": "10.0.0.2", "host.name": "fw01"}, ""},
		{"sshd in syslog", "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 173.234.31.186 port 38926 ssh2", "", "sshd",
			map[string]any{"user.name": "root", "source.ip": "173.234.31.186", "event.outcome": "failure", "host.name": "LabSZ"}, ""},
		{"PAM in syslog", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ", "", "pam",
			map[string]any{"source.ip": "218.188.2.4", "event.outcome": "failure"}, ""},
		{"BIND in syslog", "Aug 29 15:33:13 ns3 named[464]: client 217.148.39.3#1036: query: evil.example IN A +", "", "bind",
			map[string]any{"dns.question.name": "evil.example", "source.ip": "217.148.39.3"}, ""},
		{"iptables in syslog", "Feb  4 23:33:37 hostname kernel: FIREWALL_OUT IN= OUT=eth0 SRC=192.168.6.57 DST=216.161.248.225 LEN=40 PROTO=TCP SPT=46388 DPT=37628", "", "iptables",
			map[string]any{"destination.port": int64(37628), "host.name": "hostname"}, ""},
		{"Palo Alto CSV in syslog", "Apr 30 06:00:00 pa-01 1,2020/02/09 00:00:00,001801000000,SYSTEM,general,0,2020/02/09 00:00:00,,general,,0,0,general,high,\"User admin logged in\",1,0x0", "", "paloalto",
			map[string]any{"type": "SYSTEM", "log.level": "high", "host.name": "pa-01"}, ""},
		{"Check Point in RFC 5424 without PRI", `1 2019-05-15T16:25:50Z HOSTNAME CheckPoint 19710 - [action:"Drop"; src:"11.22.33.77"; dst:"11.22.33.55"; ]`, "", "checkpoint",
			map[string]any{"source.ip": "11.22.33.77", "event.action": "drop"}, ""},
		{"Cisco ASA in syslog", "<166>Nov 20 10:00:00 asa01 %ASA-6-302013: Built outbound TCP connection 9 for outside:10.1.2.1/22 (10.1.2.1/22) to inside:10.1.1.2/53496 (10.1.1.2/53496)", "", "cisco_asa",
			map[string]any{"event.code": "302013", "source.ip": "10.1.2.1", "host.name": "asa01"}, ""},
		{"Palo Alto CSV in RFC 5424", "<14>1 2021-07-12T09:46:23+00:00 PA-VM - - - - 1,2021/07/12 09:46:23,0123456789,TRAFFIC,end,2561,2021/07/12 09:46:23,10.0.0.1,8.8.8.8,0.0.0.0,0.0.0.0,allow-dns,,,dns,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2021/07/12 09:46:23,1234,1,53000,53,0,0,0x19,udp,allow", "", "paloalto",
			map[string]any{"destination.port": int64(53), "event.action": "allow", "host.name": "PA-VM"}, ""},
		{"Cisco ASA with its own stamp after the PRI", `<166>Oct 03 2018 17:34:08: %ASA-4-106023: Deny tcp src inside:10.1.1.1/1025 dst outside:192.0.2.2/80 by access-group "acl_in"`, "", "cisco_asa",
			map[string]any{"rule.name": "acl_in", "log.syslog.priority": int64(166), "destination.ip": "192.0.2.2"}, ""},
		{"Cisco ASA bare", "%ASA-2-106001: Inbound TCP connection denied from 111.93.241.59/54322 to 116.6.127.122/1433 flags SYN on interface outside", "", "cisco_asa",
			map[string]any{"destination.port": int64(1433)}, ""},
		{"FortiGate bare", `date=2016-06-15 time=10:42:31 devname=FG devid=FGT logid=0101037138 type=event subtype=vpn msg="IPsec DPD failure" remip=1.2.3.4`, "", "fortigate",
			map[string]any{"destination.ip": "1.2.3.4"}, ""},
		{"auditd", `type=USER_LOGIN msg=audit(1630937849.448:891): pid=4171 uid=0 msg='op=login acct="root" exe="/usr/sbin/sshd" addr=203.0.113.9 res=failed'`, "", "auditd",
			map[string]any{"user.name": "root", "event.outcome": "failure"}, ""},
		{"Squid", "1140701230.827    781 192.168.1.210 TCP_DENIED/407 1785 GET http://www.ossec.net oahmet NONE/- text/html", "", "squid",
			map[string]any{"url.domain": "www.ossec.net"}, ""},
		{"Proxifier", "[10.30 16:49:06] chrome.exe - proxy.example.hk:5070 open through proxy proxy.example.hk:5070 HTTPS", "", "proxifier",
			map[string]any{"process.name": "chrome.exe"}, ""},
		{"BIND file channel", "22-Nov-2026 00:01:02.345 queries: info: client 10.0.0.8#41000: query: evil.example IN TXT +", "", "bind",
			map[string]any{"dns.question.type": "TXT"}, ""},
		{"Zeek DNS", `{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","id.orig_h":"10.47.1.100","query":"ise.wrccdc.org","qtype_name":"A"}`, "", "zeek_dns",
			map[string]any{"dns.question.name": "ise.wrccdc.org"}, ""},
		{"Office 365", `{"CreationTime":"2026-11-20T08:15:30","Operation":"FileDownloaded","RecordType":6,"UserId":"a@example.com","ClientIP":"198.51.100.7","Workload":"SharePoint"}`, "", "o365",
			map[string]any{"event.action": "FileDownloaded"}, ""},
		{"Entra sign-in", `{"createdDateTime":"2026-11-20T23:41:08Z","userPrincipalName":"a@example.com","ipAddress":"198.51.100.44","status":{"errorCode":0}}`, "", "entra_signin",
			map[string]any{"event.outcome": "success"}, ""},
		{"other JSON", `{"a":{"b":1}}`, "", "json", map[string]any{"a.b": int64(1)}, ""},
		{"generic key=value", `id=firewall sn=00301E0526B1 fw=67.32.44.2 pri=5 msg="TCP connection dropped"`, "", "kv", map[string]any{"msg": "TCP connection dropped"}, ""},
		{"plain syslog", "<13>Nov 21 10:00:00 host cron[1]: (root) CMD (run-parts /etc/cron.hourly)", "", "syslog",
			map[string]any{"message": "(root) CMD (run-parts /etc/cron.hourly)", "process.name": "cron"}, ""},
		{"unknown format", "hello, world", "", "raw", map[string]any{"message": "hello, world"}, ""},
		{"hint forces a parser", "src=10.0.0.1 dst=10.0.0.2", "kv", "kv", map[string]any{"src": "10.0.0.1"}, ""},
		{"hint raw", "CEF:0|a|b|c|d|e|f|", "raw", "raw", map[string]any{"message": "CEF:0|a|b|c|d|e|f|"}, ""},
		{"unknown hint means detection", "CEF:0|V|P|1|100|Name|5|src=10.0.0.1", "no-such-format", "cef", map[string]any{"source.ip": "10.0.0.1"}, ""},
		{"malformed CEF keeps fields and says where", "CEF:0|Vendor|Product", "", "cef",
			map[string]any{"observer.vendor": "Vendor", "message": "CEF:0|Vendor|Product"}, "cef: header has 2 of 7 fields [col 20]"},
		{"malformed body in syslog says where the body starts", "<13>Nov 21 10:00:00 host ASM: CEF:0|a|b", "", "cef",
			map[string]any{"observer.vendor": "a", "host.name": "host"}, `cef: header has 2 of 7 fields [col 9]; the syslog body starts at col 30`},
		{"bad stamp still parses the body", "May 00 00:00:00 pa-01 1,2020/02/09 00:00:00,001801000000,SYSTEM,general", "", "paloalto",
			map[string]any{"type": "SYSTEM", "host.name": "pa-01"}, `syslog: timestamp "May 00 00:00:00" is not a valid date [col 0]`},
		{"bad syslog header", "<13>1 not-a-time host app - - - x", "", "syslog", map[string]any{"message": "<13>1 not-a-time host app - - - x"}, "syslog: expecting a RFC3339MICRO timestamp"},
		{"broken JSON", `{"CreationTime":"x","Operation":`, "", "o365", map[string]any{"message": `{"CreationTime":"x","Operation":`}, "o365: json:"},
		{"empty record", "\r\n", "", "raw", nil, "empty record"},
	}
	p := normalize.NewParser(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			ev := p.Parse(raw, tt.hint, received)
			normalizetest.CheckEvent(t, ev, raw)
			if ev.Format != tt.format {
				t.Errorf("Format = %q, want %q (ParseError %q)", ev.Format, tt.format, ev.ParseError)
			}
			if !strings.Contains(ev.ParseError, tt.parseError) || (tt.parseError == "") != (ev.ParseError == "") {
				t.Errorf("ParseError = %q, want %q", ev.ParseError, tt.parseError)
			}
			for k, want := range tt.want {
				if got := ev.Fields[k]; got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	p := normalize.NewParser(nil)
	ev := p.Parse([]byte("no time here"), "", received)
	if !ev.Time.Equal(received) || !ev.Received.Equal(received) {
		t.Errorf("Time, Received = %v, %v; want both %v", ev.Time, ev.Received, received)
	}
	ev = p.Parse([]byte("<13>Nov 21 10:00:00 host app: x"), "", received)
	if want := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", ev.Time, want)
	}
	huge := make([]byte, 1<<20+1)
	ev = p.Parse(huge, "", received)
	if ev.ParseError == "" || ev.Format != "raw" || len(ev.Raw) != len(huge) {
		t.Errorf("huge record: Format %q, ParseError %q, len(Raw) %d", ev.Format, ev.ParseError, len(ev.Raw))
	}
}

// sampleSet is one set of real log lines and what the dispatcher must make
// of them.
type sampleSet struct {
	name    string
	lines   func(testing.TB) []string
	formats []string // the formats the lines must get, all of them
	// failures is how many lines may keep a ParseError, and why: these
	// samples were cut short or sanitised into invalid values upstream.
	failures int
	why      string
}

func wazuh(file string) func(testing.TB) []string {
	return func(tb testing.TB) []string { return normalizetest.WazuhLogs(tb, file) }
}

func lines(rel string) func(testing.TB) []string {
	return func(tb testing.TB) []string { return normalizetest.Lines(tb, rel) }
}

var sampleSets = []sampleSet{
	{name: "wazuh fortigate", lines: wazuh("fortigate.ini"), formats: []string{"fortigate", "kv"}},
	{name: "wazuh paloalto", lines: wazuh("paloalto.ini"), formats: []string{"paloalto"}, failures: 4,
		why: `four lines' syslog stamps read "May 00 00:00:00", sanitised to a day that does not exist; their CSV bodies still parse`},
	{name: "wazuh cisco_asa", lines: wazuh("cisco_asa.ini"), formats: []string{"cisco_asa"}},
	{name: "wazuh cisco_ftd", lines: wazuh("cisco_ftd.ini"), formats: []string{"cisco_asa"}},
	{name: "wazuh pix", lines: wazuh("pix.ini"), formats: []string{"cisco_asa"}},
	{name: "wazuh iptables", lines: wazuh("iptables.ini"), formats: []string{"iptables"}},
	{name: "wazuh checkpoint_smart1", lines: wazuh("checkpoint_smart1.ini"), formats: []string{"checkpoint"}, failures: 13,
		why: `thirteen records were shortened in the sample with "..." in place of their remaining key:"value" pairs`},
	{name: "wazuh squid", lines: wazuh("squid_rules.ini"), formats: []string{"squid"}},
	{name: "wazuh named", lines: wazuh("named.ini"), formats: []string{"bind", "syslog"}},
	{name: "wazuh sshd", lines: wazuh("sshd.ini"), formats: []string{"sshd", "pam"}},
	{name: "wazuh pam", lines: wazuh("pam.ini"), formats: []string{"pam"}},
	{name: "wazuh auditd", lines: wazuh("auditd.ini"), formats: []string{"auditd"}},
	{name: "wazuh office365", lines: wazuh("office365.ini"), formats: []string{"o365", "json"}},
	{name: "wazuh f5_big_ip", lines: wazuh("f5_big_ip.ini"), formats: []string{"cef", "kv", "syslog"}},
	{name: "wazuh fireeye", lines: wazuh("fireeye.ini"), formats: []string{"cef"}},
	{name: "wazuh panda_paps", lines: wazuh("panda_paps.ini"), formats: []string{"leef"}},
	{name: "loghub Linux", lines: lines("logs/loghub/Linux/Linux_2k.log"), formats: []string{"syslog", "pam", "sshd", "kv", "iptables"}},
	{name: "loghub OpenSSH", lines: lines("logs/loghub/OpenSSH/OpenSSH_2k.log"), formats: []string{"sshd", "pam"}},
	{name: "loghub Proxifier", lines: lines("logs/loghub/Proxifier/Proxifier_2k.log"), formats: []string{"proxifier"}},
	// The dns package parses all 53,615 records; the dispatcher's check
	// needs only enough to show that detection picks Zeek every time.
	{name: "zeek dns (first 5000)", lines: func(tb testing.TB) []string {
		l := normalizetest.Lines(tb, "logs/zeek/zeek-json/dns.json.gz")
		return l[:min(len(l), 5000)]
	}, formats: []string{"zeek_dns"}},
}

// TestSampleRates runs every sample set through the dispatcher and counts
// the lines that parse without ParseError; run with -v to see the rates.
func TestSampleRates(t *testing.T) {
	p := normalize.NewParser(nil)
	for _, s := range sampleSets {
		t.Run(s.name, func(t *testing.T) {
			ls := s.lines(t)
			bad := 0
			formats := map[string]int{}
			for _, l := range ls {
				raw := []byte(l)
				ev := p.Parse(raw, "", received)
				normalizetest.CheckEvent(t, ev, raw)
				formats[ev.Format]++
				if ev.ParseError != "" {
					bad++
					if s.failures == 0 {
						t.Errorf("ParseError %q\n%s", ev.ParseError, l)
					}
				}
			}
			for f := range formats {
				if !contains(s.formats, f) {
					t.Errorf("%d lines got format %q, want one of %v", formats[f], f, s.formats)
				}
			}
			t.Logf("%s: %d of %d lines parse without ParseError (%.1f%%); formats %v", s.name, len(ls)-bad, len(ls),
				100*float64(len(ls)-bad)/float64(len(ls)), formats)
			if bad > s.failures {
				t.Errorf("%d lines failed, at most %d may (%s)", bad, s.failures, s.why)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CEF:0|Vendor|Product|1|100|Name|5|src=10.0.0.1",
		"<134>Sep 19 13:35:00 bigip-4 ASM:CEF:0|F5|ASM|11.3.0|2|N|5| dvchost=b",
		"<13>1 2026-11-21T10:00:00Z fw01 qradar - - - LEEF:1.0|V|P|1|ID|src=10.0.0.2",
		"Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 173.234.31.186 port 38926 ssh2",
		`1 2019-05-15T16:25:50Z HOSTNAME CheckPoint 19710 - [action:"Drop"; ]`,
		`{"CreationTime":"2026-11-20T08:15:30","Operation":"x","ClientIP":"[::1]:1"}`,
		"[10.30 16:49:06] chrome.exe - a:1 open through proxy b:2 HTTPS",
		"1140701230.827 781 192.168.1.210 TCP_DENIED/407 1785 GET http://x - NONE/- text/html",
		"type=SYSCALL msg=audit(1.2:3): a=b",
		"%ASA-4-106023: Deny tcp src a:1.1.1.1/1 dst b:2.2.2.2/2",
		"",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("a=b c=d e=f"), "kv")
	if normalizetest.Available() {
		for _, s := range sampleSets[:16] {
			for i, l := range s.lines(f) {
				if i < 5 {
					f.Add([]byte(l), "")
				}
			}
		}
	}
	p := normalize.NewParser(nil)
	f.Fuzz(func(t *testing.T, raw []byte, hint string) {
		in := append([]byte(nil), raw...)
		ev := p.Parse(in, hint, received)
		normalizetest.CheckEvent(t, ev, raw)
		for _, o := range normalize.Observables(ev) {
			if o.Value == "" || o.Type == "" {
				t.Fatalf("empty observable %+v", o)
			}
		}
	})
}

func benchmarkParse(b *testing.B, line string) {
	p := normalize.NewParser(nil)
	raw := []byte(line)
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if ev := p.Parse(raw, "", received); ev.ParseError != "" {
			b.Fatal(ev.ParseError)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

// The BenchmarkParse… functions measure the whole dispatcher path, from
// bytes to event, for one typical line of each format.
func BenchmarkParseSyslogSSHD(b *testing.B) {
	benchmarkParse(b, "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2")
}

func BenchmarkParseSyslogCEF(b *testing.B) {
	benchmarkParse(b, "<134>Sep 19 13:35:00 bigip-4 ASM:CEF:0|F5|ASM|11.3.0|200021069|Automated client access|5|dvchost=bigip-4 dvc=172.16.73.34 src=10.0.0.1 spt=4431 dst=10.0.0.2 dpt=443 act=blocked request=/index.php")
}

func BenchmarkParseSyslogFortiGate(b *testing.B) {
	benchmarkParse(b, `<189>date=2026-11-21 time=10:00:00 devname="FG100" devid="FG100E0000000000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.1.1.10 srcport=50514 srcintf="port1" dstip=93.184.216.34 dstport=443 dstintf="wan1" policyid=1 proto=6 action="accept" service="HTTPS" sentbyte=1200 rcvdbyte=5600`)
}

func BenchmarkParseRawLine(b *testing.B) {
	benchmarkParse(b, "hello, world: nothing to see")
}

func BenchmarkParseZeekDNS(b *testing.B) {
	benchmarkParse(b, `{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"query":"ise.wrccdc.org","qtype_name":"A","rcode_name":"NOERROR","answers":["ise.wrccdc.cpp.edu","134.71.3.16"]}`)
}
