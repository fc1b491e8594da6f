// Package edr isolates and releases endpoints through EDR consoles, each
// connector written from its vendor's published API: Microsoft Defender
// for Endpoint (machine actions isolate/unisolate, OAuth2 client
// credentials), CrowdStrike Falcon (device actions contain and
// lift_containment, OAuth2 /oauth2/token) and VMware Carbon Black Cloud
// (device_actions QUARANTINE with an X-Auth-Token).
//
// A host enters as the vendor's device ID or as a host name (looked up
// through the vendor's device search). Each Client also answers
// Reconcile: whether an isolate or release sent with an idempotency key
// took effect, so that a run resumed after a crash does not send it twice.
package edr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/internal/playbook/outcall"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Client isolates and releases hosts through one EDR console.
type Client interface {
	// Isolate cuts host off the network; key identifies the request for
	// Reconcile (sent in the action's comment where the API keeps one).
	Isolate(ctx context.Context, host, comment, key string) (map[string]any, error)
	// Release undoes an isolation.
	Release(ctx context.Context, host, comment, key string) (map[string]any, error)
	// Reconcile reports whether the isolation (release=false) or release
	// sent with key — or one that reached the same state — is in effect,
	// with what the console says about it.
	Reconcile(ctx context.Context, host, key string, release bool) (map[string]any, bool, error)
}

// tokenSource caches an OAuth2 client-credentials token until shortly
// before it expires.
type tokenSource struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	fetch   func(ctx context.Context) (string, time.Duration, error)
}

func (t *tokenSource) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.expires) {
		return t.token, nil
	}
	tok, ttl, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.token, t.expires = tok, time.Now().Add(ttl-time.Minute)
	return tok, nil
}

func (t *tokenSource) forget() {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
}

// clientCredentials fetches a token with the OAuth2 client-credentials
// grant (RFC 6749 §4.4) from tokenURL.
func clientCredentials(ctx context.Context, hc *http.Client, tokenURL string, form url.Values, what string) (string, time.Duration, error) {
	req, err := http.NewRequest("POST", tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, tansa.Errorf(tansa.Invalid, "%s token URL: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	_, body, err := outcall.Do(ctx, hc, req, what+" token")
	if err != nil {
		return "", 0, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", 0, fmt.Errorf("%s token: no access_token in the answer", what)
	}
	if tok.ExpiresIn <= 60 {
		tok.ExpiresIn = 120
	}
	return tok.AccessToken, time.Duration(tok.ExpiresIn) * time.Second, nil
}

// bearerCall sends a JSON request with a bearer token, fetching a new
// token once when the API says the old one is no longer good.
func bearerCall(ctx context.Context, hc *http.Client, ts *tokenSource, method, u string, body any, what string) ([]byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := ts.get(ctx)
		if err != nil {
			return nil, err
		}
		req, err := outcall.JSONRequest(method, u, raw)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		status, b, err := outcall.Do(ctx, hc, req, what)
		if status == http.StatusUnauthorized && attempt == 0 {
			ts.forget()
			continue
		}
		return b, err
	}
}

// marker is how a request's key appears in the comment the console keeps.
func marker(key string) string { return "[tansa:" + key + "]" }

func withMarker(comment, key string) string {
	if comment == "" {
		comment = "Isolated by a Tansa playbook"
	}
	return comment + " " + marker(key)
}
