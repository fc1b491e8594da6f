// Package outcall makes the HTTP calls playbook actions send to outside
// services (EDR consoles, chat webhooks, customers' endpoints) and sorts
// their failures into the ones worth retrying — 429 with its Retry-After,
// 5xx, a connection that never answered — and the ones that are final.
//
// A request enters through Do and leaves as the response body, or as an
// error that Transient recognises. Do never retries by itself: whether a
// call may be repeated is the caller's decision (after reconciling).
package outcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// MaxBody is the most of a response Do reads.
const MaxBody = 4 << 20

// TransientError is a failure that may succeed later.
type TransientError struct {
	Err error
	// RetryAfter is how long the service asked us to wait (429, 503);
	// zero when it did not say.
	RetryAfter time.Duration
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient reports whether err is worth retrying and after how long the
// service asked to wait.
func Transient(err error) (bool, time.Duration) {
	var t *TransientError
	if errors.As(err, &t) {
		return true, t.RetryAfter
	}
	return false, 0
}

// StatusError is a final HTTP failure.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.Status, e.Body) }

// Do sends req and returns the status and body of a 2xx response. Other
// answers become errors: 429 and 5xx transient (with Retry-After), 401 and
// 403 tansa.Unauthorized, 404 tansa.NotFound, the rest final StatusErrors.
// A request that got no answer is transient too; the caller decides
// whether repeating it is safe.
func Do(ctx context.Context, c *http.Client, req *http.Request, what string) (int, []byte, error) {
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &TransientError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBody))
	if err != nil {
		return 0, nil, &TransientError{Err: fmt.Errorf("%s: read answer: %w", what, err)}
	}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return res.StatusCode, body, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return res.StatusCode, body, &TransientError{Err: fmt.Errorf("%s: %w", what, &StatusError{res.StatusCode, string(body)}),
			RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now())}
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return res.StatusCode, body, &tansa.Error{Kind: tansa.Unauthorized, Message: fmt.Sprintf("%s: the service refused our credentials (HTTP %d)", what, res.StatusCode),
			Err: &StatusError{res.StatusCode, string(body)}}
	case res.StatusCode == http.StatusNotFound:
		return res.StatusCode, body, &tansa.Error{Kind: tansa.NotFound, Message: fmt.Sprintf("%s: not found (HTTP 404)", what),
			Err: &StatusError{res.StatusCode, string(body)}}
	}
	return res.StatusCode, body, fmt.Errorf("%s: %w", what, &StatusError{res.StatusCode, string(body)})
}

// retryAfter reads a Retry-After header: seconds or an HTTP date, capped
// at ten minutes so a confused service cannot park a run for days.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, 10*time.Minute)
}

// JSONRequest builds a request with a JSON body (nil: none).
func JSONRequest(method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "request %s: %w", url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Tansa")
	return req, nil
}
