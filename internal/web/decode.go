package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// maxBody bounds every JSON request body of the administrative API.
const maxBody = 1 << 20

// decode reads exactly one JSON object from r's body into v, refusing
// unknown fields, wrong types, trailing data, a wrong content type and bodies
// over maxBody, each with a message that says what and where.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return tansa.Errorf(tansa.Invalid, "content type %q: send application/json", ct)
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	return decodeJSON(body, v)
}

// decodeJSON is decode without the HTTP parts, so it can be fuzzed.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return tansa.Errorf(tansa.Invalid, "request body: unexpected data after the JSON object")
		}
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		max  *http.MaxBytesError
		null *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &max):
		return tansa.Errorf(tansa.TooLarge, "request body: larger than %d bytes", max.Limit)
	case errors.As(err, &syn):
		return tansa.Errorf(tansa.Invalid, "request body: malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(the body)"
		}
		return tansa.Errorf(tansa.Invalid, "request body: field %s must be %s, not %s (at byte %d)", field, typ.Type.String(), typ.Value, typ.Offset)
	case errors.Is(err, io.EOF):
		return tansa.Errorf(tansa.Invalid, "request body: empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tansa.Errorf(tansa.Invalid, "request body: JSON ends too early")
	case errors.As(err, &null):
		return fmt.Errorf("decode: %w", err)
	}
	// encoding/json reports unknown fields only as text.
	return tansa.Errorf(tansa.Invalid, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// paging reads limit and offset from the query: limit defaults to 50, may be 0
// (count only), and is at most 500.
func paging(r *http.Request) (access.Page, error) {
	p := access.Page{Limit: 50}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 500 {
			return p, tansa.Errorf(tansa.Invalid, "limit: %q must be a whole number from 0 to 500", v)
		}
		p.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000_000 {
			return p, tansa.Errorf(tansa.Invalid, "offset: %q must be a whole number from 0", v)
		}
		p.Offset = n
	}
	return p, nil
}

// listBody is the shape of every list the API returns.
type listBody[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func writeList[T any](w http.ResponseWriter, items []T, total int, p access.Page) {
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, listBody[T]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}

// askedScope turns a ?tenant= query parameter into the scope a list asks
// for; the service intersects it with the caller's.
func askedScope(r *http.Request) access.Scope {
	if t := r.URL.Query().Get("tenant"); t != "" {
		return access.Scope{Tenants: []string{t}}
	}
	return access.Scope{}
}

// timeRange reads the since and until parameters of v, each an RFC 3339
// time or absent (the zero time).
func timeRange(v url.Values) (since, until time.Time, err error) {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if s := v.Get(f.name); s != "" {
			if *f.dst, err = time.Parse(time.RFC3339, s); err != nil {
				return since, until, tansa.Errorf(tansa.Invalid, "%s: %q is not an RFC 3339 time such as 2026-04-01T00:00:00Z", f.name, s)
			}
		}
	}
	return since, until, nil
}
