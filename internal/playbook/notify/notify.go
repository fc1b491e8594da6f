// Package notify delivers playbook notifications: mail over SMTP
// (STARTTLS, AUTH PLAIN), and Slack and Microsoft Teams incoming webhooks.
//
// A Message enters with its subject and body already rendered in the
// tenant's language; it leaves as one SMTP transaction or one webhook
// POST. Failures worth retrying are outcall.TransientError.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Message is one notification.
type Message struct {
	Subject string
	Body    string
	// ID identifies the message (the mail's Message-ID), so that a
	// delivery repeated after a crash carries the same one.
	ID string
}

// SMTPConfig says how to reach a mail server and whom to write to.
type SMTPConfig struct {
	Host string
	Port int // 587 when zero
	// StartTLS is "required" (the default: refuse servers without it),
	// "optional" (use it when offered) or "none".
	StartTLS string
	// Username and Password, when set, authenticate with AUTH PLAIN,
	// which net/smtp sends only over TLS or to localhost.
	Username, Password string
	From               string
	To                 []string
	// TLS overrides the TLS configuration (tests; private CAs).
	TLS *tls.Config
}

// Validate checks the addresses and the TLS mode.
func (c SMTPConfig) Validate() error {
	if c.Host == "" {
		return tansa.Errorf(tansa.Invalid, "smtp: host is required")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return tansa.Errorf(tansa.Invalid, "smtp: from %q: %v", c.From, err)
	}
	if len(c.To) == 0 {
		return tansa.Errorf(tansa.Invalid, "smtp: at least one recipient (to) is required")
	}
	for _, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return tansa.Errorf(tansa.Invalid, "smtp: to %q: %v", to, err)
		}
	}
	switch c.StartTLS {
	case "", "required", "optional", "none":
	default:
		return tansa.Errorf(tansa.Invalid, "smtp: starttls must be required, optional or none")
	}
	return nil
}

// SendMail delivers m to every recipient of cfg in one SMTP transaction.
func SendMail(ctx context.Context, cfg SMTPConfig, m Message) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	port := cfg.Port
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return &outcall.TransientError{Err: fmt.Errorf("smtp %s: %w", addr, err)}
	}
	deadline := time.Now().Add(60 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return &outcall.TransientError{Err: fmt.Errorf("smtp %s: %w", addr, err)}
	}
	defer c.Close()
	if err := c.Hello("tansa.localhost"); err != nil {
		return smtpErr(addr, "EHLO", err)
	}
	if cfg.StartTLS != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			tc := &tls.Config{MinVersion: tls.VersionTLS12}
			if cfg.TLS != nil {
				tc = cfg.TLS.Clone()
			}
			if tc.ServerName == "" {
				tc.ServerName = cfg.Host
			}
			if err := c.StartTLS(tc); err != nil {
				return smtpErr(addr, "STARTTLS", err)
			}
		} else if cfg.StartTLS == "" || cfg.StartTLS == "required" {
			return tansa.Errorf(tansa.Invalid, "smtp %s: the server does not offer STARTTLS and starttls is required", addr)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return &tansa.Error{Kind: tansa.Unauthorized, Message: fmt.Sprintf("smtp %s: authentication failed", addr), Err: err}
		}
	}
	from, _ := mail.ParseAddress(cfg.From)
	if err := c.Mail(from.Address); err != nil {
		return smtpErr(addr, "MAIL FROM", err)
	}
	var to []string
	for _, t := range cfg.To {
		a, _ := mail.ParseAddress(t)
		if err := c.Rcpt(a.Address); err != nil {
			return smtpErr(addr, "RCPT TO "+a.Address, err)
		}
		to = append(to, a.String())
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(addr, "DATA", err)
	}
	if _, err := w.Write(Compose(from.String(), to, m, time.Now())); err != nil {
		return smtpErr(addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(addr, "end of DATA", err)
	}
	return c.Quit()
}

// smtpErr classifies an SMTP reply: 4xx is transient, 5xx final.
func smtpErr(addr, stage string, err error) error {
	e := fmt.Errorf("smtp %s: %s: %w", addr, stage, err)
	msg := err.Error()
	if len(msg) >= 1 && msg[0] == '5' {
		return e
	}
	return &outcall.TransientError{Err: e}
}

// Compose renders a message as RFC 5322 text: UTF-8 subject in encoded
// words (Japanese survives every relay), the body in base64.
func Compose(from string, to []string, m Message, now time.Time) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.BEncoding.Encode("UTF-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	if m.ID != "" {
		h("Message-ID", "<"+m.ID+">")
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "base64")
	h("X-Mailer", "Tansa")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n")))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// Slack posts m to a Slack incoming webhook: {"text": …} answered "ok".
func Slack(ctx context.Context, hc *http.Client, webhookURL string, m Message) error {
	body, _ := json.Marshal(map[string]string{"text": "*" + m.Subject + "*\n" + m.Body})
	return post(ctx, hc, webhookURL, body, "slack")
}

// Teams posts m to a Microsoft Teams incoming webhook as a MessageCard.
func Teams(ctx context.Context, hc *http.Client, webhookURL string, m Message) error {
	body, _ := json.Marshal(map[string]string{"@type": "MessageCard", "@context": "https://schema.org/extensions",
		"summary": m.Subject, "title": m.Subject, "text": strings.ReplaceAll(m.Body, "\n", "\n\n")})
	return post(ctx, hc, webhookURL, body, "teams")
}

func post(ctx context.Context, hc *http.Client, u string, body []byte, what string) error {
	req, err := outcall.JSONRequest("POST", u, body)
	if err != nil {
		return err
	}
	_, _, err = outcall.Do(ctx, hc, req, what)
	return err
}
