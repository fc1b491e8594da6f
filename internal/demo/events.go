package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tansa-sec/tansa/internal/collect"
)

// seedEvents sends a day of log lines for each tenant through the real
// inputs, so the demo's events are parsed and indexed like any others: a
// head-office firewall and proxy, Active Directory sign-ins, DNS, and at
// the subsidiary a small office router and a Linux server under an SSH
// password-guessing attack. Addresses are from the documentation ranges.
func seedEvents(ctx context.Context, e *Env) error {
	if e.Inputs == nil {
		return nil
	}
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(2026, 11))
	at := func(i, n int) time.Time { return now.Add(-24 * time.Hour * time.Duration(n-i) / time.Duration(n)) }
	stamp := func(t time.Time) string { return t.Format("Jan _2 15:04:05") }
	users := []string{"tanaka", "suzuki", "sato", "watanabe", "ito"}
	sites := []string{"www.example.com", "intranet.sakura-trading.example", "login.microsoftonline.example", "cdn.example.net", "update.example.org"}

	var hq []collect.Record
	const n = 400
	for i := range n {
		t := at(i, n)
		var line string
		switch i % 5 {
		case 0:
			act := "accept"
			if rng.IntN(6) == 0 {
				act = "deny"
			}
			line = fmt.Sprintf(`date=%s time=%s devname="FGT-HQ-01" devid="FGT60F0000000001" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=10.10.%d.%d srcport=%d srcintf="internal" dstip=198.51.100.%d dstport=443 dstintf="wan1" proto=6 action="%s" policyid=12 service="HTTPS" sentbyte=%d rcvdbyte=%d`,
				t.Format("2006-01-02"), t.Format("15:04:05"), rng.IntN(4)+1, rng.IntN(200)+10, 40000+rng.IntN(20000), rng.IntN(250)+1, act, rng.IntN(90000), rng.IntN(900000))
		case 1:
			line = fmt.Sprintf(`%d.%03d %d 10.10.1.%d TCP_MISS/200 %d GET https://%s/ %s DIRECT/203.0.113.%d text/html`,
				t.Unix(), rng.IntN(1000), rng.IntN(900)+20, rng.IntN(200)+10, rng.IntN(60000)+300, sites[rng.IntN(len(sites))], users[rng.IntN(len(users))], rng.IntN(250)+1)
		case 2:
			line = fmt.Sprintf(`%s dns01 named[812]: client @0x7f 10.10.1.%d#%d (%s): query: %s IN A + (10.10.0.53)`,
				stamp(t), rng.IntN(200)+10, 50000+rng.IntN(9000), sites[rng.IntN(len(sites))], sites[rng.IntN(len(sites))])
		case 3:
			line = fmt.Sprintf(`%s fw-hq sshd[%d]: Accepted publickey for %s from 10.10.2.%d port %d ssh2`,
				stamp(t), 1000+i, users[rng.IntN(len(users))], rng.IntN(200)+10, 50000+rng.IntN(9000))
		default:
			line = fmt.Sprintf(`CEF:0|Fortinet|FortiGate|7.2.5|0419016384|ips|4|src=203.0.113.%d dst=10.10.0.25 spt=%d dpt=445 act=dropped msg=MS.SMB.Server.SMB1.Trans2.Secondary.Handling.Code.Execution cs1=HQ cs1Label=site`,
				rng.IntN(250)+1, 40000+rng.IntN(20000))
		}
		hq = append(hq, collect.Record{Source: "demo:hq", Received: t, Time: t, Raw: []byte(line)})
	}
	var vn []collect.Record
	const m = 150
	for i := range m {
		t := at(i, m)
		line := fmt.Sprintf(`%s vn-web01 sshd[%d]: Failed password for invalid user %s from 192.0.2.%d port %d ssh2`,
			stamp(t), 2000+i, []string{"admin", "root", "oracle", "test", "ubuntu"}[rng.IntN(5)], 60+rng.IntN(3), 30000+rng.IntN(30000))
		if i%3 == 0 {
			line = fmt.Sprintf(`%s vn-router kernel: IN=eth0 OUT= MAC= SRC=192.0.2.%d DST=203.0.113.200 LEN=60 TOS=0x00 PREC=0x00 TTL=49 ID=%d DF PROTO=TCP SPT=%d DPT=3389 WINDOW=29200 RES=0x00 SYN URGP=0`,
				stamp(t), 60+rng.IntN(3), rng.IntN(65000), 30000+rng.IntN(30000))
		}
		vn = append(vn, collect.Record{Source: "demo:vn", Received: t, Time: t, Raw: []byte(line)})
	}
	if err := e.Inputs.Publish(ctx, "demo", e.HQ.ID, "demo-hq", hq); err != nil {
		return err
	}
	return e.Inputs.Publish(ctx, "demo", e.Subsidiary.ID, "demo-vn", vn)
}
