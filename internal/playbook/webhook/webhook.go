// Package webhook calls a customer's or a partner's HTTPS endpoint from a
// playbook with a signed JSON body, so the receiver can check that the
// call came from Tansa and was not replayed.
//
// The body is signed with HMAC-SHA256 over "<timestamp>.<body>" and sent
// in the X-Tansa-Signature header as "t=<unix seconds>,v1=<hex>"; the
// Idempotency-Key header carries the run step's key, the same on every
// retry, so a receiver can drop a repeat. Verify is the receiver's check.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// SignatureHeader is the header carrying the signature.
const SignatureHeader = "X-Tansa-Signature"

// Sign returns the signature header value for body at time t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body: the MAC must match and
// the timestamp be within tolerance of now.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return tansa.Errorf(tansa.Unauthorized, "webhook signature: malformed header %q", header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return tansa.Errorf(tansa.Unauthorized, "webhook signature: timestamp %s is outside the tolerance", time.Unix(sec, 0).UTC())
	}
	want := Sign(secret, body, time.Unix(sec, 0))
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return tansa.Errorf(tansa.Unauthorized, "webhook signature: mismatch")
	}
	return nil
}

// Call is one webhook request.
type Call struct {
	URL     string
	Secret  []byte            // HMAC key; empty sends no signature
	Headers map[string]string // extra headers (an API key of the receiver)
	Body    []byte            // JSON
	Key     string            // Idempotency-Key
}

// Send posts the call and returns the receiver's status and answer.
func Send(ctx context.Context, hc *http.Client, c Call, now time.Time) (int, []byte, error) {
	if !strings.HasPrefix(c.URL, "https://") && !strings.HasPrefix(c.URL, "http://") {
		return 0, nil, tansa.Errorf(tansa.Invalid, "webhook: url %q must be http(s)", c.URL)
	}
	req, err := outcall.JSONRequest("POST", c.URL, c.Body)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	if len(c.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(c.Secret, c.Body, now))
	}
	if c.Key != "" {
		req.Header.Set("Idempotency-Key", c.Key)
	}
	status, body, err := outcall.Do(ctx, hc, req, "webhook")
	if err != nil {
		return status, body, fmt.Errorf("%w", err)
	}
	return status, body, nil
}
