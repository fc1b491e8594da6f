package blocklist

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func sample() []intel.Indicator {
	mk := func(t intel.Type, v string) intel.Indicator {
		return intel.Indicator{Type: t, Value: v, Confidence: 80, ValidFrom: now.Add(-time.Hour)}
	}
	expired := mk(intel.TypeDomain, "old.example-bad.net")
	expired.ValidUntil = now.Add(-time.Minute)
	weak := mk(intel.TypeIPv4, "45.1.1.1")
	weak.Confidence = 20
	flagged := mk(intel.TypeDomain, "flagged.example-bad.net")
	flagged.Allowlisted = "tenant's own domain"
	other := mk(intel.TypeDomain, "other-tenant.example-bad.net")
	other.TenantID = "b"
	mine := mk(intel.TypeDomain, "mine.example-bad.net")
	mine.TenantID = "a"
	return []intel.Indicator{
		mk(intel.TypeIPv4, "45.154.244.193"),
		mk(intel.TypeIPv4, "45.154.244.193"),
		mk(intel.TypeCIDR, "45.154.0.0/16"),
		mk(intel.TypeIPv4, "45.155.1.2"),
		mk(intel.TypeIPv6, "2a00:1450:4001:82b::200e"),
		mk(intel.TypeCIDR, "2a01:4f8::/32"),
		mk(intel.TypeDomain, "evil.example-bad.net"),
		mk(intel.TypeDomain, "sub.evil.example-bad.net"),
		mk(intel.TypeDomain, "xn--bcher-kva.example-bad.jp"),
		mk(intel.TypeDomain, "under_score.example-bad.org"),
		mk(intel.TypeURL, "http://shared-host.example-host.org/phish/login.php?id=1"),
		mk(intel.TypeURL, "https://evil.example-bad.net/"+strings.Repeat("a", 300)),
		mk(intel.TypeMD5, "0123456789abcdef0123456789abcdef"),
		mk(intel.TypeIPv4, "8.8.8.8"),
		mk(intel.TypeDomain, "update.microsoft.com"),
		mk(intel.TypeCIDR, "104.16.0.0/12"),
		expired, weak, flagged, other, mine,
	}
}

func build(t *testing.T) *List {
	t.Helper()
	allow, err := intel.DefaultAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	return Build(sample(), allow, Options{Now: now, TenantID: "a", MinConfidence: 50})
}

func TestEDL(t *testing.T) {
	l := build(t)
	want := map[Kind]string{
		KindIP: "45.154.0.0/16\n45.155.1.2\n2a00:1450:4001:82b::200e\n2a01:4f8::/32\n",
		KindDomain: "evil.example-bad.net\n*.evil.example-bad.net\nmine.example-bad.net\n*.mine.example-bad.net\n" +
			"under_score.example-bad.org\n*.under_score.example-bad.org\nxn--bcher-kva.example-bad.jp\n*.xn--bcher-kva.example-bad.jp\n",
		KindURL: "shared-host.example-host.org/phish/login.php?id=1\n",
	}
	for k, w := range want {
		var buf bytes.Buffer
		if err := l.WriteEDL(&buf, k); err != nil {
			t.Fatal(err)
		}
		if buf.String() != w {
			t.Errorf("EDL %s:\n%s\nwant:\n%s", k, buf.String(), w)
		}
	}
	reasons := map[string]string{}
	for _, e := range l.Excluded {
		reasons[e.Value] = e.Reason
	}
	for v, frag := range map[string]string{
		"8.8.8.8": "public DNS", "update.microsoft.com": "Microsoft", "104.16.0.0/12": "Cloudflare",
		"old.example-bad.net": "not active", "45.1.1.1": "confidence", "flagged.example-bad.net": "own domain",
		"https://evil.example-bad.net/" + strings.Repeat("a", 300): "longer than",
	} {
		if !strings.Contains(reasons[v], frag) {
			t.Errorf("exclusion of %s = %q, want it to mention %q", v, reasons[v], frag)
		}
	}
	if _, ok := reasons["other-tenant.example-bad.net"]; ok {
		t.Error("another tenant's indicator was considered at all")
	}
}

func TestRPZIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1/32":             "32.1.2.0.192.rpz-ip",
		"45.154.0.0/16":            "16.0.0.154.45.rpz-ip",
		"2001:db8::1/128":          "128.1.zz.db8.2001.rpz-ip",
		"2a01:4f8::/32":            "32.zz.4f8.2a01.rpz-ip",
		"2001:db8:0:1:0:0:0:2/128": "128.2.zz.1.0.db8.2001.rpz-ip",
	} {
		if got := rpzIP(netip.MustParsePrefix(in)); got != want {
			t.Errorf("rpzIP(%s) = %s, want %s", in, got, want)
		}
	}
}

func writeZone(t *testing.T) (dir, file string, body string) {
	t.Helper()
	l := build(t)
	var buf bytes.Buffer
	skipped, err := l.WriteRPZ(&buf, RPZ{Zone: "rpz.tansa.test", Serial: 2026112201})
	if err != nil || len(skipped) != 0 {
		t.Fatalf("WriteRPZ: %v, skipped %v", err, skipped)
	}
	dir = t.TempDir()
	file = filepath.Join(dir, "rpz.tansa.test.zone")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file, buf.String()
}

func TestRPZContent(t *testing.T) {
	_, _, body := writeZone(t)
	for _, line := range []string{
		"$ORIGIN rpz.tansa.test.", "@ IN SOA localhost. hostmaster.localhost. ( 2026112201 3600 600 604800 300 )", "@ IN NS localhost.",
		"evil.example-bad.net CNAME .", "*.evil.example-bad.net CNAME .", "16.0.0.154.45.rpz-ip CNAME .",
		"32.zz.4f8.2a01.rpz-ip CNAME .",
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("zone lacks %q:\n%s", line, body)
		}
	}
	if strings.Contains(body, "shared-host") || strings.Contains(body, "8.8.8.8") {
		t.Errorf("zone contains a URL host or an allowlisted value:\n%s", body)
	}
}

// TestRPZNamedCheckzone loads the zone with BIND's named-checkzone, when the
// tool is installed (Debian: bind9-utils).
func TestRPZNamedCheckzone(t *testing.T) {
	tool, err := exec.LookPath("named-checkzone")
	if err != nil {
		t.Skip("named-checkzone not installed (apt-get install bind9-utils); skipping the BIND syntax check")
	}
	_, file, _ := writeZone(t)
	out, err := exec.Command(tool, "-k", "fail", "rpz.tansa.test", file).CombinedOutput()
	if err != nil {
		t.Fatalf("named-checkzone rejected the zone: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Errorf("named-checkzone output: %s", out)
	}
}

// TestRPZUnboundCheckconf loads the zone into an Unbound configuration with
// an rpz: clause and checks it with unbound-checkconf, when installed.
func TestRPZUnboundCheckconf(t *testing.T) {
	tool, err := exec.LookPath("unbound-checkconf")
	if err != nil {
		t.Skip("unbound-checkconf not installed (apt-get install unbound); skipping the Unbound check")
	}
	dir, file, _ := writeZone(t)
	conf := filepath.Join(dir, "unbound.conf")
	cfg := "server:\n  module-config: \"respip validator iterator\"\n  directory: \"" + dir + "\"\n  chroot: \"\"\n  username: \"\"\n" +
		"  pidfile: \"\"\n  use-syslog: no\n\nrpz:\n  name: rpz.tansa.test\n  zonefile: \"" + file + "\"\n  rpz-log: yes\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, conf).CombinedOutput()
	if err != nil {
		t.Fatalf("unbound-checkconf rejected the configuration: %v\n%s", err, out)
	}
}
