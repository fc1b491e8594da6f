package kv_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/kv"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, line, format string
		want               map[string]any
		time               time.Time
	}{
		{
			name:   "FortiGate IPS",
			line:   `date=2016-06-15 time=09:41:35 devname=Device_Name devid=FGTXXXX9999999999 logid=0419016384 type=utm subtype=ips eventtype=signature level=alert vd="root" severity=info srcip=192.168.10.8 dstip=157.55.235.162 srcintf="internal2" dstintf="wan2" policyid=2 sessionid=1473454 action=reset proto=6 service=tcp/20480 attack="HTTP.Unknown.Tunnelling" srcport=62216 dstport=80 msg="http_decoder: HTTP.Unknown.Tunnelling,"`,
			format: kv.FortiGate,
			want: map[string]any{
				"source.ip": "192.168.10.8", "destination.ip": "157.55.235.162", "source.port": int64(62216),
				"destination.port": int64(80), "network.transport": "tcp", "event.action": "reset", "event.code": "0419016384",
				"rule.name": "HTTP.Unknown.Tunnelling", "observer.name": "Device_Name", "vd": "root", "srcintf": "internal2",
				"observer.vendor": "Fortinet", "message": "http_decoder: HTTP.Unknown.Tunnelling,",
			},
			time: time.Date(2016, 6, 15, 9, 41, 35, 0, time.UTC),
		},
		{
			name:   "FortiGate with eventtime in nanoseconds and escaped quote",
			line:   `date=2026-11-21 time=10:00:00 eventtime=1763719200000000000 tz="+0900" devname="FG" logid="0000000013" type="traffic" srcip=10.0.0.1 dstip=8.8.8.8 user="ta\"ro" hostname="Example.com" url="/a"`,
			format: kv.FortiGate,
			want:   map[string]any{"user.name": `ta"ro`, "url.full": "http://Example.com/a", "url.domain": "example.com"},
			time:   time.Unix(0, 1763719200000000000).UTC(),
		},
		{
			name:   "Palo Alto THREAT CSV",
			line:   `1,2021/07/12 09:46:23,321321321,THREAT,url,0,2021/07/12 09:46:00,199.195.252.165,172.30.250.61,0.0.0.0,0.0.0.0,Allow-Web,corp\alice,,web-browsing,vsys1,trust,untrust,ethernet1/1,tunnel.2,Fwd,2021/07/12 09:46:00,51557,1,55094,443,0,0,0x502000,tcp,alert,"Example.com/path?q=""x""",(9999),business-and-economy,informational,client-to-server`,
			format: kv.PaloAlto,
			want: map[string]any{
				"type": "THREAT", "subtype": "url", "source.ip": "199.195.252.165", "destination.ip": "172.30.250.61",
				"rule.name": "Allow-Web", "source.user.name": `corp\alice`, "network.application": "web-browsing",
				"source.port": int64(55094), "destination.port": int64(443), "network.transport": "tcp", "event.action": "alert",
				"url.original": `Example.com/path?q="x"`, "url.domain": "example.com", "misc": `Example.com/path?q="x"`,
				"direction": "client-to-server",
			},
			time: time.Date(2021, 7, 12, 9, 46, 0, 0, time.UTC),
		},
		{
			name:   "Palo Alto TRAFFIC CSV",
			line:   `0,2021/07/15 11:58:58,1321564321,TRAFFIC,end,0,2021/07/15 11:59:02,10.210.0.84,51.11.168.232,,,DENY-ALL,,,not-applicable,vsys1,INSPECTION,INSPECTION,ethernet1/1,,AWS-PANORAMA,2021/07/15 11:59:02,0,1,500,500,0,0,0x0,udp,deny,1200,700,500,1`,
			format: kv.PaloAlto,
			want: map[string]any{
				"event.action": "deny", "rule.name": "DENY-ALL", "source.bytes": int64(700), "destination.bytes": int64(500),
				"bytes": "1200", "observer.serial_number": "1321564321",
			},
		},
		{
			name:   "Cisco ASA deny with interfaces and ACL",
			line:   `%ASA-4-106023: Deny tcp src inside:111.11.11.1/2143 dst outside:172.11.1.11/139 by access-group "inside_inbound" [0x0, 0x0]`,
			format: kv.CiscoASA,
			want: map[string]any{
				"event.code": "106023", "event.severity": int64(4), "log.level": "warning", "observer.product": "ASA",
				"source.ip": "111.11.11.1", "source.port": int64(2143), "destination.ip": "172.11.1.11",
				"destination.port": int64(139), "network.transport": "tcp", "event.action": "deny", "rule.name": "inside_inbound",
				"observer.ingress.interface.name": "inside", "observer.egress.interface.name": "outside",
			},
		},
		{
			name:   "Cisco ASA with the device's own stamp",
			line:   `Oct 03 2018 17:34:08: %ASA-6-605004: Login denied from 192.168.2.10/32597 to outside:192.168.2.14/ssh for user "root"`,
			format: kv.CiscoASA,
			want:   map[string]any{"event.code": "605004", "user.name": "root", "source.ip": "192.168.2.10"},
			time:   time.Date(2018, 10, 3, 17, 34, 8, 0, time.UTC),
		},
		{
			name:   "Cisco FTD without a colon",
			line:   `%FTD-4-401004 Shunned packet: 192.168.0.1 = 192.168.0.2 on interface inside`,
			format: kv.CiscoASA,
			want:   map[string]any{"event.code": "401004", "observer.product": "FTD"},
		},
		{
			name:   "iptables with uptime stamp and flags",
			line:   `[4475569.016000] FW-DROP IN=eth0 OUT= MAC=00:08:02:da:c8:51 SRC=1.2.3.36 DST=1.2.3.194 LEN=52 TOS=0x10 PREC=0x00 TTL=64 ID=49546 DF PROTO=TCP SPT=43068 DPT=22 WINDOW=8192 RES=0x00 SYN URGP=0`,
			format: kv.IPTables,
			want: map[string]any{
				"rule.name": "FW-DROP", "event.action": "drop", "source.ip": "1.2.3.36", "destination.ip": "1.2.3.194",
				"source.port": int64(43068), "destination.port": int64(22), "network.transport": "tcp",
				"observer.ingress.interface.name": "eth0", "LEN": "52",
			},
		},
		{
			name:   "Check Point",
			line:   `[action:"Drop"; flags:"400644"; ifdir:"inbound"; ifname:"eth2"; origin:"11.22.33.44"; time:"1557937550"; rule_name:"CleanUp Rule"; product:"VPN-1 & FireWall-1"; proto:"17"; s_port:"55036"; service:"1514"; src:"11.22.33.77"; dst:"11.22.33.55"; ike::"Main Mode \"x\""; ]`,
			format: kv.CheckPoint,
			want: map[string]any{
				"event.action": "drop", "rule.name": "CleanUp Rule", "source.ip": "11.22.33.77", "destination.ip": "11.22.33.55",
				"source.port": int64(55036), "destination.port": int64(1514), "network.transport": "udp", "observer.ip": "11.22.33.44",
				"ike": `Main Mode "x"`,
			},
			time: time.Unix(1557937550, 0).UTC(),
		},
		{
			name:   "generic key=value (SonicWall)",
			line:   `id=firewall sn=00301E0526B1 time="2004-04-01 10:39:35" fw=67.32.44.2 pri=5 c=64 m=36 msg="TCP connection dropped" n=2686 src=67.101.200.27:4507:WAN dst=67.32.44.2:445:LAN rule=0`,
			format: kv.Generic,
			want:   map[string]any{"msg": "TCP connection dropped", "time": "2004-04-01 10:39:35", "src": "67.101.200.27:4507:WAN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kv.Detect(tt.line); got != tt.format {
				t.Errorf("Detect = %q, want %q", got, tt.format)
			}
			ev := normalizetest.NewEvent()
			if err := kv.Parse(tt.line, ev); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			normalizetest.CheckValues(t, ev.Fields)
			if ev.Format != tt.format {
				t.Errorf("Format = %q, want %q", ev.Format, tt.format)
			}
			for k, want := range tt.want {
				if got := ev.Fields[k]; got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			if !tt.time.IsZero() && !ev.Time.Equal(tt.time) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.time)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`date=2016-06-15 devname=x msg="unterminated`, `kv: value of "msg" has no closing quote [col 30]`},
		{`[action:"Drop"; src:"1.2.3.4`, `checkpoint: value of "src" has no closing quote [col 19]`},
		{`[action:"Drop"; ...`, `checkpoint: "..." is not key:"value" [col 16]`},
		{`%ASA-x-1: text`, `cisco_asa: message id "ASA-x-1" is not PRODUCT-LEVEL-NUMBER [col 1]`},
		{`1,2021/07/12 09:46:23,1,THREAT,url,0,"unterminated`, `paloalto: field 6 has no closing quote [col 37]`},
		{`just words`, `kv: no key=value pairs`},
	}
	for _, tt := range tests {
		err := kv.Parse(tt.line, normalizetest.NewEvent())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

var seeds = []string{
	`date=2016-06-15 time=10:42:31 devname=Device_Name devid=FGT logid=9999999999 type=event subtype=vpn vd="root" msg="IPsec DPD failure" remip=1.2.3.4`,
	`1,2020/02/09 00:00:00,00000000,SYSTEM,general,0,2020/00/00 00:00:00,,general,,0,0,general,high,"xxx",0000000,0x0`,
	`%ASA-2-106001: Inbound TCP connection denied from 111.93.241.59/54322 to 116.6.127.122/1433 flags SYN on interface outside`,
	`FIREWALL_OUT IN= OUT=eth0 SRC=192.168.6.57 DST=216.161.248.225 LEN=40 PROTO=TCP SPT=46388 DPT=37628 ACK RST`,
	`[action:"Drop"; src:"11.22.33.77"; ike::"x\"y"; ]`,
	`a=1 b="2 3" c=\"`,
}

func FuzzParseKV(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	if normalizetest.Available() {
		for _, file := range []string{"fortigate.ini", "cisco_asa.ini", "iptables.ini"} {
			for _, l := range normalizetest.WazuhLogs(f, file) {
				f.Add(l)
			}
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev := normalizetest.NewEvent()
		_ = kv.Parse(line, ev)
		normalizetest.CheckValues(t, ev.Fields)
		if ev.Format == "" {
			t.Fatal("Format not set")
		}
	})
}

func benchmark(b *testing.B, line string) {
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		if err := kv.Parse(line, normalizetest.NewEvent()); err != nil {
			b.Fatal(err)
		}
	}
	normalizetest.ReportRate(b, cpu0)
}

func BenchmarkParseFortiGate(b *testing.B) { benchmark(b, seeds[0]) }
func BenchmarkParsePaloAlto(b *testing.B) {
	benchmark(b, `0,2021/07/15 11:58:58,1321564321,TRAFFIC,end,0,2021/07/15 11:59:02,10.210.0.84,51.11.168.232,,,DENY-ALL,,,not-applicable,vsys1,INSPECTION,INSPECTION,ethernet1/1,,AWS-PANORAMA,2021/07/15 11:59:02,0,1,500,500,0,0,0x0,udp,deny,1200,700,500,1,2021/07/15 11:59:02,0,any,0,91501273,0x8000000000000000,10.0.0.0-10.255.255.255,United States,0,1,0,policy-deny`)
}
func BenchmarkParseCiscoASA(b *testing.B) { benchmark(b, seeds[2]) }
func BenchmarkParseIPTables(b *testing.B) { benchmark(b, seeds[3]) }
