package normalize_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func TestObservables(t *testing.T) {
	p := normalize.NewParser(nil)
	tests := []struct {
		name, raw string
		want      []normalize.Observable
		not       []normalize.Observable
	}{
		{
			name: "sshd: user, address, host, process",
			raw:  "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 173.234.31.186 port 38926 ssh2",
			want: []normalize.Observable{
				{Type: normalize.User, Value: "root"}, {Type: normalize.IP, Value: "173.234.31.186"},
				{Type: normalize.Host, Value: "labsz"}, {Type: normalize.Process, Value: "sshd"},
			},
		},
		{
			name: "Squid: URL, its domain, client, user",
			raw:  "1140701230.827    781 192.168.1.210 TCP_MISS/200 1785 GET HTTP://WWW.Example.COM/Path?q=1 alice HIER_DIRECT/93.184.216.34 text/html",
			want: []normalize.Observable{
				{Type: normalize.URL, Value: "http://www.example.com/Path?q=1"}, {Type: normalize.Domain, Value: "www.example.com"},
				{Type: normalize.IP, Value: "192.168.1.210"}, {Type: normalize.IP, Value: "93.184.216.34"}, {Type: normalize.User, Value: "alice"},
			},
		},
		{
			name: "free text: defanged URL, e-mail, hashes, IPv6, address with port",
			raw:  `hello: user Mallory@Evil.Example sent hxxps://bad[.]example/x.exe md5=44D88612FEA8A8F36DE82E1278ABB02F sha256 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f from [2001:DB8::1]:443 and 10.0.0.1:8080 ran chrome.exe`,
			want: []normalize.Observable{
				{Type: normalize.Email, Value: "mallory@evil.example"}, {Type: normalize.URL, Value: "https://bad.example/x.exe"},
				{Type: normalize.Domain, Value: "bad.example"}, {Type: normalize.MD5, Value: "44d88612fea8a8f36de82e1278abb02f"},
				{Type: normalize.SHA256, Value: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"},
				{Type: normalize.IP, Value: "2001:db8::1"}, {Type: normalize.IP, Value: "10.0.0.1"},
			},
			not: []normalize.Observable{{Type: normalize.Domain, Value: "chrome.exe"}},
		},
		{
			name: "DNS question and answers",
			raw:  `{"_path":"dns","id.orig_h":"::ffff:10.47.1.100","query":"ISE.wrccdc.org.","qtype_name":"A","answers":["ise.wrccdc.cpp.edu","134.71.3.16"]}`,
			want: []normalize.Observable{
				{Type: normalize.IP, Value: "10.47.1.100"}, {Type: normalize.Domain, Value: "ise.wrccdc.org"},
				{Type: normalize.Domain, Value: "ise.wrccdc.cpp.edu"}, {Type: normalize.IP, Value: "134.71.3.16"},
			},
		},
		{
			name: "placeholders are not observables",
			raw:  `date=2016-06-15 time=10:42:31 devname=FG devid=FGT logid=1 user="N/A" srcip=N/A msg="none"`,
			not:  []normalize.Observable{{Type: normalize.User, Value: "N/A"}, {Type: normalize.IP, Value: "N/A"}},
		},
		{
			name: "Office 365: user e-mail and client address",
			raw:  `{"CreationTime":"2026-11-20T08:15:30","Operation":"FileDownloaded","UserId":"Hanako@Contoso.co.jp","ClientIP":"198.51.100.7:51234","ObjectId":"https://contoso.sharepoint.com/a.xlsx"}`,
			want: []normalize.Observable{
				{Type: normalize.User, Value: "Hanako@Contoso.co.jp"}, {Type: normalize.Email, Value: "hanako@contoso.co.jp"},
				{Type: normalize.IP, Value: "198.51.100.7"}, {Type: normalize.URL, Value: "https://contoso.sharepoint.com/a.xlsx"},
				{Type: normalize.Domain, Value: "contoso.sharepoint.com"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := p.Parse([]byte(tt.raw), "", received)
			got := normalize.Observables(ev)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing %+v in %+v", w, got)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(got, n) {
					t.Errorf("unexpected %+v in %+v", n, got)
				}
			}
			seen := map[normalize.Observable]bool{}
			for _, o := range got {
				if seen[o] {
					t.Errorf("duplicate %+v", o)
				}
				seen[o] = true
			}
			if again := normalize.Observables(ev); !slices.Equal(again, got) || !slices.IsSortedFunc(got, cmpObservable) {
				t.Errorf("not sorted, or a second call differs: %+v", again)
			}
		})
	}
	if got := normalize.Observables(&tansa.Event{Format: "raw", Raw: []byte("contact 192.0.2.1")}); !slices.Contains(got, normalize.Observable{Type: normalize.IP, Value: "192.0.2.1"}) {
		t.Errorf("raw event without fields: %+v", got)
	}
}

func BenchmarkObservables(b *testing.B) {
	p := normalize.NewParser(nil)
	ev := p.Parse([]byte(`<134>Sep 19 13:35:00 bigip-4 ASM:CEF:0|F5|ASM|11.3.0|200021069|Automated client access|5|dvchost=bigip-4 dvc=172.16.73.34 src=10.0.0.1 spt=4431 dst=10.0.0.2 dpt=443 act=blocked request=https://www.example.com/index.php suser=alice msg=blocked a request from 10.0.0.1 to www.example.com`), "", received)
	b.ReportAllocs()
	cpu0 := normalizetest.CPUTime()
	for b.Loop() {
		p.Observables(ev) // the pipeline's way, reusing the parser's space
	}
	normalizetest.ReportRate(b, cpu0)
}

func cmpObservable(a, b normalize.Observable) int {
	if a.Type != b.Type {
		return strings.Compare(string(a.Type), string(b.Type))
	}
	return strings.Compare(a.Value, b.Value)
}

// TestParserObservables checks that a parser's Observables, which reuses
// its working space, gives what Observables gives, event after event, and
// that a result stays intact once the next event is done.
func TestParserObservables(t *testing.T) {
	p := normalize.NewParser(nil)
	lines := []string{
		`<134>Sep 19 13:35:00 bigip-4 ASM:CEF:0|F5|ASM|11.3.0|200021069|Automated client access|5|dvchost=bigip-4 dvc=172.16.73.34 src=10.0.0.1 spt=4431 dst=10.0.0.2 dpt=443 act=blocked request=https://www.example.com/index.php suser=alice`,
		`date=2026-11-22 time=13:45:01 devname="fw1" logid="0000000013" type="traffic" srcip=192.0.2.7 srcport=51234 dstip=198.51.100.9 dstport=443 action="accept" hostname="www.example.org"`,
		`plain words without anything`,
		`Failed password for root from 203.0.113.5 port 22 ssh2`,
	}
	var kept, wants [][]normalize.Observable
	for round := range 3 {
		for i, l := range lines {
			ev := p.Parse([]byte(l), "", received)
			got, want := p.Observables(ev), normalize.Observables(ev)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d line %d: parser's %+v, package's %+v", round, i, got, want)
			}
			kept, wants = append(kept, got), append(wants, want)
		}
	}
	for i := range kept {
		if !slices.Equal(kept[i], wants[i]) {
			t.Errorf("result %d changed after later events: %+v, want %+v", i, kept[i], wants[i])
		}
	}
	for _, o := range []normalize.Observable{{Type: normalize.IP, Value: "192.0.2.7"}, {Type: normalize.Domain, Value: "www.example.org"}} {
		if !slices.Contains(kept[len(kept)-3], o) {
			t.Errorf("FortiGate line: %+v lacks %+v", kept[len(kept)-3], o)
		}
	}
	if len(kept[2]) != 0 {
		t.Errorf("plain words: %+v, want none", kept[2])
	}
}
