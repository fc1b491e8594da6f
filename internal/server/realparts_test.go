package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/server"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// These tests drive real servers from Debian's packages with a running
// Tansa: Unbound obeying Tansa's RPZ feed (TANSA_TEST_UNBOUND, set by
// .ci/unbound.sh) and Postfix delivering Tansa's mail
// (TANSA_TEST_SMTP and TANSA_TEST_MAILBOX, set by .ci/mail.sh).

// tansaNode is an in-process Tansa server listening on loopback, with a
// tenant and a provider administrator's API token.
type tansaNode struct {
	t      *testing.T
	url    string
	token  string
	tenant tansa.Tenant
	srv    *server.Server
}

func startTansa(t *testing.T) *tansaNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var cfg server.Config
	cfg.Data, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.Open(ctx, cfg, log, "test")
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(a string) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	n := &tansaNode{t: t, url: "http://" + <-addr, srv: s}
	for range 500 {
		if res, err := http.Get(n.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	sys := access.Caller{Principal: access.System("test")}
	name, lang := "Alpha", "ja"
	if n.tenant, err = s.Access.CreateTenant(ctx, sys, access.TenantInput{Name: &name, Language: &lang}); err != nil {
		t.Fatal(err)
	}
	if _, n.token, err = s.Access.CreateToken(ctx, sys, access.TokenInput{Name: "test", Role: tansa.RoleProviderAdmin}); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *tansaNode) do(method, path string, body any) map[string]any {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		n.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	var v map[string]any
	json.Unmarshal(b, &v)
	return v
}

// runToEnd starts a run of playbook src by hand with alert, approves its
// "approve" step when it waits, and returns the finished run.
func (n *tansaNode) runToEnd(src string, alert map[string]any) map[string]any {
	n.t.Helper()
	pb := n.do("POST", "/api/v1/playbooks", map[string]any{"tenant_id": n.tenant.ID, "source": src, "enabled": true})
	run := n.do("POST", "/api/v1/playbooks/"+pb["id"].(string)+"/runs", map[string]any{"alert": alert})
	id := run["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		run = n.do("GET", "/api/v1/playbook-runs/"+id, nil)
		switch run["status"] {
		case "waiting":
			n.do("POST", "/api/v1/playbook-runs/"+id+"/decide", map[string]string{"step": "approve", "decision": "approve", "comment": "agreed"})
		case "succeeded":
			return run
		case "failed", "rejected":
			n.t.Fatalf("run %s: %v", run["status"], run["error"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("run did not finish: %v", run)
	return nil
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const blockPlaybook = `name: Block a C2 domain
trigger: {manual: true}
steps:
  - id: approve
    action: approval
    approvers: {roles: [provider-admin]}
    timeout: 1h
  - id: block
    action: block
    with: {values: "{{ observables.domain }}", reason: "{{ rule }}"}
tests:
  - name: blocks after approval
    manual: true
    alert: {rule: C2, observables: {domain: [evil.example]}}
    want: {steps: [approve, block], status: succeeded}
  - name: a rejection blocks nothing
    manual: true
    alert: {rule: C2, observables: {domain: [evil.example]}}
    decisions: {approve: reject}
    want: {steps: [approve], status: rejected}
`

// TestUnboundObeysTansaRPZ lets a playbook block evil.example and checks
// that a real Unbound, loading Tansa's RPZ feed over HTTP, answers
// NXDOMAIN for it while another name resolves; unblocking restores it.
// Unbound's url: fetch sends no credentials, so a loopback proxy in front
// of Tansa adds the feed token, as a site would with its own fetcher.
func TestUnboundObeysTansaRPZ(t *testing.T) {
	bin := os.Getenv("TANSA_TEST_UNBOUND")
	if bin == "" {
		t.Skip("TANSA_TEST_UNBOUND is not set (run .ci/unbound.sh, which installs unbound and dnsutils and prints it)")
	}
	n := startTansa(t)
	target, _ := url.Parse(n.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	feed := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+n.token)
		proxy.ServeHTTP(w, r)
	})}
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go feed.Serve(fl)
	t.Cleanup(func() { feed.Close() })

	dir := t.TempDir()
	port := freePort(t, "udp")
	conf := filepath.Join(dir, "unbound.conf")
	zoneURL := fmt.Sprintf("http://%s/api/v1/intel/feeds/rpz?tenant=%s", fl.Addr(), n.tenant.ID)
	os.WriteFile(conf, []byte(fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %d
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    username: ""
    chroot: ""
    directory: "%s"
    pidfile: "%s/unbound.pid"
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    module-config: "respip iterator"
auth-zone:
    name: "example."
    zonefile: "%s/example.zone"
    for-downstream: no
    for-upstream: yes
rpz:
    name: "rpz.tansa.local"
    url: "%s"
    rpz-log: yes
remote-control:
    control-enable: yes
    control-interface: "%s/unbound.ctl"
    control-use-cert: no
`, port, dir, dir, dir, zoneURL, dir)), 0o644)
	// The names are served from an authoritative zone that the iterator
	// resolves through, as answers from the Internet would be: RPZ rewrites
	// resolved answers, not the resolver's own local-data.
	os.WriteFile(filepath.Join(dir, "example.zone"), []byte(`$ORIGIN example.
$TTL 60
@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 60
@ IN NS ns.example.
ns IN A 192.0.2.1
evil IN A 192.0.2.66
good IN A 192.0.2.10
`), 0o644)
	if out, err := exec.Command(bin+"-checkconf", conf).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v: %s", err, out)
	}
	cmd := exec.Command(bin, "-d", "-c", conf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	dig := func(name string) string {
		out, _ := exec.Command("dig", "@127.0.0.1", "-p", fmt.Sprint(port), "+tries=1", "+time=2", name, "A").CombinedOutput()
		return string(out)
	}
	reload := func() {
		out, err := exec.Command(bin+"-control", "-c", conf, "auth_zone_transfer", "rpz.tansa.local").CombinedOutput()
		if err != nil {
			t.Logf("unbound-control auth_zone_transfer: %v: %s", err, out)
		}
	}
	// until waits for name's answer to contain want.
	until := func(name, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := dig(name)
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("dig %s: want %q, got:\n%s\nunbound:\n%s", name, want, got, logs.String())
			}
			reload()
			time.Sleep(300 * time.Millisecond)
		}
	}
	until("evil.example", "192.0.2.66")
	until("good.example", "192.0.2.10")

	run := n.runToEnd(blockPlaybook, map[string]any{"rule": "C2 beacon", "observables": map[string]any{"domain": []string{"evil.example"}}})
	reload()
	until("evil.example", "status: NXDOMAIN")
	if got := dig("good.example"); !strings.Contains(got, "192.0.2.10") {
		t.Errorf("good.example stopped resolving while evil.example is blocked:\n%s", got)
	}
	// Unblock from the run: the name resolves again.
	n.do("POST", "/api/v1/playbook-runs/"+run["id"].(string)+"/revert", map[string]string{"step": "block"})
	reload()
	until("evil.example", "192.0.2.66")
}

// TestMailThroughPostfix sends a playbook notification in the tenant's
// language (Japanese) through a real Postfix and reads it back from the
// mailbox it was delivered to.
func TestMailThroughPostfix(t *testing.T) {
	smtpAddr, mailbox := os.Getenv("TANSA_TEST_SMTP"), os.Getenv("TANSA_TEST_MAILBOX")
	if smtpAddr == "" || mailbox == "" {
		t.Skip("TANSA_TEST_SMTP and TANSA_TEST_MAILBOX are not set (run .ci/mail.sh, which installs postfix on loopback and prints them)")
	}
	host, port, err := net.SplitHostPort(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	rcpt := os.Getenv("TANSA_TEST_MAIL_TO")
	if rcpt == "" {
		rcpt = "tansa-test@localhost"
	}
	cfg := map[string]string{"host": host, "port": port, "starttls": "optional", "from": "Tansa SOC <soc@localhost>", "to": rcpt}
	if ca := os.Getenv("TANSA_TEST_SMTP_CA"); ca != "" {
		// The server's certificate: STARTTLS is then required and verified.
		pemCA, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		cfg["ca_pem"], cfg["starttls"] = string(pemCA), "required"
	}
	n := startTansa(t)
	n.do("PUT", "/api/v1/connectors", map[string]any{"tenant_id": n.tenant.ID, "name": "tenant-mail", "kind": "smtp", "config": cfg})
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	src := `name: Notify
trigger: {manual: true}
steps:
  - id: mail
    action: notify
    with: {connector: tenant-mail, template: isolated, subject: "isolated {{ host }}"}
tests:
  - name: notifies
    manual: true
    alert: {host: pc-042}
    want: {steps: [mail]}
  - name: runs by hand only
    alert: {host: pc-042}
    want: {triggered: false}
`
	n.runToEnd(src, map[string]any{"host": "pc-" + marker, "rule": "ランサムウェアの暗号化"})
	want := "[Tansa] pc-" + marker + " をネットワークから隔離しました"
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(mailbox)
		for _, raw := range strings.Split("\n"+string(b), "\nFrom ") {
			_, rest, ok := strings.Cut(raw, "\n") // the mbox "From " line
			if !ok {
				continue
			}
			msg, err := mail.ReadMessage(strings.NewReader(rest))
			if err != nil {
				continue
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if subj != want {
				continue
			}
			body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
			if err != nil || !strings.Contains(string(body), "プレイブック「Notify」により pc-"+marker+" をネットワークから隔離しました") ||
				!strings.Contains(string(body), "ランサムウェアの暗号化") {
				t.Fatalf("body %q (%v)", body, err)
			}
			if msg.Header.Get("Content-Type") != "text/plain; charset=UTF-8" || !strings.HasPrefix(msg.Header.Get("Message-ID"), "<") {
				t.Errorf("headers %v", msg.Header)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with subject %q in %s after 30 s", want, mailbox)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
