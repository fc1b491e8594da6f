// Package loglines generates the benchmarks' log stream: a mix of
// FortiGate key=value traffic logs (60 %), CEF from an IPS (20 %) and sshd
// (20 %) behind an RFC 3164 header, every line with its own values
// (addresses, ports, session IDs, hashes); one line in 1 000 names
// 203.0.113.5, the address the lookup benchmarks search for. Attack gives
// lines that SigmaHQ rules match, for the live detection benchmark.
package loglines

import (
	"fmt"
	"strconv"
	"time"
)

// Line appends line k of the stream, without its newline; fwOnly makes
// every line a FortiGate traffic log.
func Line(b []byte, k int, now time.Time, fwOnly bool) []byte {
	at := now.Add(-time.Duration(k%86400) * time.Second)
	host := "fw-" + strconv.Itoa(k%8)
	src := fmt.Sprintf("10.%d.%d.%d", k%4, k/7%256, k%251)
	dst := fmt.Sprintf("198.51.%d.%d", k/13%256, k%97)
	if k%1000 == 0 {
		dst = "203.0.113.5"
	}
	ts := at.Format(time.Stamp)
	kind := k % 10
	if fwOnly {
		kind = 0
	}
	switch kind {
	case 0, 1, 2, 3, 4, 5: // FortiGate traffic
		actions := [...]string{"accept", "deny", "close", "timeout"}
		users := [...]string{"alice", "bob", "carol", "dave", "erin"}
		return fmt.Appendf(b, `<189>%s %s date=%s time=%s devname="%s" devid="FG100F%07d" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=%s srcport=%d srcintf="port1" dstip=%s dstport=%d dstintf="wan1" sessionid=%d proto=6 action="%s" policyid=%d service="HTTPS" duration=%d sentbyte=%d rcvdbyte=%d user="%s"`,
			ts, host, at.Format("2006-01-02"), at.Format("15:04:05"), host, k%8, src, 1024+k%60000, dst, []int{443, 80, 53, 22, 3389}[k%5],
			k, actions[k%4], k%40, k%300, k*37%100000, k*91%1000000, users[k%5])
	case 6, 7: // CEF from an IPS
		return fmt.Appendf(b, `<134>%s ips-%d CEF:0|Palo Alto Networks|PAN-OS|10.2|threat|Vulnerability exploit attempt %d|7|rt=%d src=%s spt=%d dst=%s dpt=443 proto=TCP act=reset-both suser=corp\\user%d cs1Label=Rule cs1=rule-%d fileHash=%040x`,
			ts, k%4, k%5000, at.UnixMilli(), src, 1024+k%60000, dst, k%997, k%40, uint64(k)*2654435761)
	default: // sshd
		if k%2 == 0 {
			return fmt.Appendf(b, `<38>%s srv-%d sshd[%d]: Failed password for invalid user admin%d from %s port %d ssh2`,
				ts, k%50, 1000+k%30000, k%777, dst, 1024+k%60000)
		}
		return fmt.Appendf(b, `<38>%s srv-%d sshd[%d]: Accepted publickey for deploy%d from %s port %d ssh2: ED25519 SHA256:%x`,
			ts, k%50, 1000+k%30000, k%333, src, 1024+k%60000, uint64(k)*11400714819323198485)
	}
}

// fortiConfig are FortiGate configuration changes SigmaHQ's
// rules/network/fortinet rules name (action and cfgpath of the event log).
var fortiConfig = [...][2]string{
	{"Add", "system.admin"}, {"Add", "firewall.address"}, {"Add", "firewall.policy"}, {"Add", "user.local"},
	{"Add", "vpn.ssl.web.portal"}, {"Edit", "user.group"}, {"Edit", "vpn.ssl.settings"},
}

// Attack appends line k of a stream of lines that SigmaHQ rules match,
// without its newline, in turn: a FortiGate configuration change (the seven
// rules of rules/network/fortinet/fortigate), an sshd error
// (lnx_sshd_susp_ssh.yml) and a kernel message (lnx_buffer_overflows.yml,
// product linux).
func Attack(b []byte, k int, now time.Time) []byte {
	at := now.Add(-time.Duration(k%86400) * time.Second)
	ts := at.Format(time.Stamp)
	switch k % 3 {
	case 0:
		host, c := "fw-"+strconv.Itoa(k%8), fortiConfig[k/3%len(fortiConfig)]
		return fmt.Appendf(b, `<189>%s %s date=%s time=%s devname="%s" devid="FG100F%07d" logid="0100044547" type="event" subtype="system" level="information" vd="root" logdesc="Object attribute configured" user="admin%d" ui="GUI(10.9.%d.%d)" action="%s" cfgtid=%d cfgpath="%s" cfgobj="obj-%d" msg="%s %s obj-%d"`,
			ts, host, at.Format("2006-01-02"), at.Format("15:04:05"), host, k%8, k%5, k%4, k%251, c[0], k, c[1], k, c[0], c[1], k)
	case 1:
		return fmt.Appendf(b, `<35>%s srv-%d sshd[%d]: Corrupted MAC on input. [preauth]`, ts, k%50, 1000+k%30000)
	default:
		return fmt.Appendf(b, `<2>%s srv-%d kernel: [%d.%06d] *** stack smashing detected ***: terminated pid %d`, ts, k%50, k%100000, k%1000000, 1000+k%30000)
	}
}
