package notify_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/tansa-sec/tansa/internal/playbook/notify"
	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// fakeSMTP is a minimal ESMTP server (RFC 5321) with STARTTLS (RFC 3207)
// and AUTH PLAIN (RFC 4616), enough to see what the client sends.
type fakeSMTP struct {
	ln       net.Listener
	cert     tls.Certificate
	user, pw string
	offerTLS bool
	mu       sync.Mutex
	data     []string
	tlsUsed  bool
	authed   bool
}

func startSMTP(t *testing.T, offerTLS bool) (*fakeSMTP, *tls.Config) {
	// httptest's TLS server brings a certificate for 127.0.0.1 and a
	// client that trusts it.
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(hs.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln, cert: hs.TLS.Certificates[0], user: "soc", pw: "s3cret", offerTLS: offerTLS}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f, hs.Client().Transport.(*http.Transport).TLSClientConfig
}

func (f *fakeSMTP) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.session(c)
	}
}

func (f *fakeSMTP) session(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), c
	say := func(s string) { io.WriteString(w, s+"\r\n") }
	say("220 fake ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		up := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(up, "EHLO"):
			if f.offerTLS && !secure {
				say("250-fake\r\n250-STARTTLS\r\n250 8BITMIME")
			} else {
				say("250-fake\r\n250 AUTH PLAIN")
			}
		case up == "STARTTLS":
			say("220 ready")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{f.cert}})
			if tc.Handshake() != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), tc
			f.mu.Lock()
			f.tlsUsed = true
			f.mu.Unlock()
		case strings.HasPrefix(up, "AUTH PLAIN "):
			b, _ := base64.StdEncoding.DecodeString(cmd[len("AUTH PLAIN "):])
			if string(b) != "\x00"+f.user+"\x00"+f.pw {
				say("535 5.7.8 authentication failed")
				continue
			}
			f.mu.Lock()
			f.authed = true
			f.mu.Unlock()
			say("235 2.7.0 ok")
		case strings.HasPrefix(up, "MAIL FROM:"), strings.HasPrefix(up, "RCPT TO:"):
			if strings.Contains(up, "REJECT") {
				say("550 5.1.1 no such user")
				continue
			}
			say("250 ok")
		case up == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			f.mu.Lock()
			f.data = append(f.data, b.String())
			f.mu.Unlock()
			say("250 queued")
		case up == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestSendMailSTARTTLSAndAuth(t *testing.T) {
	f, tc := startSMTP(t, true)
	port := f.ln.Addr().(*net.TCPAddr).Port
	cfg := notify.SMTPConfig{Host: "127.0.0.1", Port: port, Username: "soc", Password: "s3cret", From: "Tansa <tansa@soc.example>",
		To: []string{"csirt@alpha.example"}, TLS: tc}
	m := notify.Message{Subject: "[Tansa] pc-042 を隔離しました", Body: "ランサムウェアの検知により pc-042 を隔離しました。\nrun 42", ID: "run-42.notify@tansa"}
	if err := notify.SendMail(context.Background(), cfg, m); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tlsUsed || !f.authed || len(f.data) != 1 {
		t.Fatalf("tls %v, auth %v, messages %d", f.tlsUsed, f.authed, len(f.data))
	}
	msg, err := mail.ReadMessage(strings.NewReader(f.data[0]))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("subject %q (%v), want %q", subj, err, m.Subject)
	}
	body, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if strings.ReplaceAll(string(body), "\r\n", "\n") != m.Body {
		t.Errorf("body %q, want %q", body, m.Body)
	}
	if msg.Header.Get("Message-ID") != "<run-42.notify@tansa>" {
		t.Errorf("Message-ID %q", msg.Header.Get("Message-ID"))
	}
}

func TestSendMailRefusals(t *testing.T) {
	f, tc := startSMTP(t, false)
	port := f.ln.Addr().(*net.TCPAddr).Port
	base := notify.SMTPConfig{Host: "127.0.0.1", Port: port, From: "tansa@soc.example", To: []string{"csirt@alpha.example"}, TLS: tc}
	ctx := context.Background()
	// STARTTLS required by default: a server without it is refused
	// before anything is sent.
	if err := notify.SendMail(ctx, base, notify.Message{Subject: "s", Body: "b"}); tansa.KindOf(err) != tansa.Invalid || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("no STARTTLS: %v", err)
	}
	opt := base
	opt.StartTLS = "optional"
	if err := notify.SendMail(ctx, opt, notify.Message{Subject: "s", Body: "b"}); err != nil {
		t.Errorf("optional STARTTLS: %v", err)
	}
	rej := opt
	rej.To = []string{"reject@alpha.example"}
	if err := notify.SendMail(ctx, rej, notify.Message{Subject: "s", Body: "b"}); err == nil {
		t.Error("a 550 recipient was accepted")
	} else if ok, _ := outcall.Transient(err); ok {
		t.Errorf("550 is final, got transient: %v", err)
	}
	bad := base
	bad.From = "not an address"
	if err := notify.SendMail(ctx, bad, notify.Message{}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("bad from: %v", err)
	}
	closed := base
	closed.Port = 1
	if err := notify.SendMail(ctx, closed, notify.Message{}); err == nil {
		t.Error("no server: no error")
	} else if ok, _ := outcall.Transient(err); !ok {
		t.Errorf("no server: %v, want transient", err)
	}
}

func TestChatWebhooks(t *testing.T) {
	var got []map[string]any
	var mu sync.Mutex
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&v) != nil {
			http.Error(w, "invalid_payload", 400)
			return
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ctx := context.Background()
	m := notify.Message{Subject: "critical: Mimikatz", Body: "on dc-1\nin tenant alpha"}
	if err := notify.Slack(ctx, srv.Client(), srv.URL, m); err != nil {
		t.Fatal(err)
	}
	if err := notify.Teams(ctx, srv.Client(), srv.URL, m); err != nil {
		t.Fatal(err)
	}
	if got[0]["text"] != "*critical: Mimikatz*\non dc-1\nin tenant alpha" {
		t.Errorf("slack payload %v", got[0])
	}
	if got[1]["@type"] != "MessageCard" || got[1]["title"] != m.Subject || !strings.Contains(got[1]["text"].(string), "dc-1") {
		t.Errorf("teams payload %v", got[1])
	}
	status = http.StatusTooManyRequests
	if err := notify.Slack(ctx, srv.Client(), srv.URL, m); err == nil {
		t.Error("429 accepted")
	} else if ok, _ := outcall.Transient(err); !ok {
		t.Errorf("429: %v, want transient", err)
	}
}
