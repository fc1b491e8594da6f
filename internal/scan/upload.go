package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBackoff caps the wait between upload attempts.
const maxBackoff = 5 * time.Minute

// upload POSTs the sealed result to the server's sweeps endpoint,
// retrying transport errors, 408, 425, 429 and 5xx answers with
// exponential back-off and full jitter so that thousands of endpoints
// started by one GPO do not retry in step. The sweep ID is sent as the
// Idempotency-Key, so the server stores a retried upload once.
func upload(ctx context.Context, opts Options, sweepID string, sealed []byte, logf func(string, ...any)) error {
	url := strings.TrimRight(opts.Server, "/") + "/api/v1/sweeps"
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	retries := cmpInt(opts.Retries, 6)
	base := opts.RetryBase
	if base == 0 {
		base = 2 * time.Second
	}
	var last error
	for attempt := 0; ; attempt++ {
		retryAfter, err := post(ctx, client, url, opts.Token, sweepID, sealed)
		if err == nil {
			return nil
		}
		last = err
		var perm permanentError
		if errors.As(err, &perm) || attempt >= retries {
			break
		}
		wait := backoff(base, attempt)
		if retryAfter > wait {
			wait = min(retryAfter, maxBackoff)
		}
		logf("upload attempt %d failed (%v); retrying in %s", attempt+1, err, wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("scan: upload to %s: %w (last error: %v)", url, ctx.Err(), last)
		case <-t.C:
		}
	}
	return fmt.Errorf("scan: upload to %s: %w", url, last)
}

// backoff returns a random wait in [d/2, d] where d = base·2^attempt,
// capped at maxBackoff.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for range attempt {
		if d >= maxBackoff/2 {
			d = maxBackoff
			break
		}
		d *= 2
	}
	half := d / 2
	return half + rand.N(half+1)
}

// permanentError is an answer that retrying cannot change (a refused
// token, a malformed request).
type permanentError struct{ error }

func post(ctx context.Context, client *http.Client, url, token, sweepID string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Idempotency-Key", sweepID)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300, resp.StatusCode == http.StatusConflict:
		return 0, nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return 0, permanentError{fmt.Errorf("server refused the upload: %s: %s", resp.Status, strings.TrimSpace(string(msg)))}
}

// ContentType is the media type of an uploaded sweep: a gzip-compressed
// result JSON encrypted with age.
const ContentType = "application/vnd.tansa.sweep+age"

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
