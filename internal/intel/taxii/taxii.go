// Package taxii speaks TAXII 2.1 (OASIS, 2021): the resources a server
// answers (discovery, API root, collections, envelopes of objects,
// manifests, errors) and a Client that walks discovery → API roots →
// collections → objects with added_after paging. Tansa's read-only server
// (internal/web, /taxii2/) answers with these types; scheduled feed pulls
// (internal/intel/feeds) use the Client.
//
// Every decoder bounds what it reads and says what was wrong and where:
// a server's answer is outside input.
package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// The media types of TAXII 2.1 resources and of the STIX objects they carry.
const (
	MediaType     = "application/taxii+json;version=2.1"
	STIXMediaType = "application/stix+json;version=2.1"
)

// TimeFormat is how TAXII writes timestamps: RFC 3339 in UTC with
// microseconds, so added_after round-trips exactly.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Discovery is the server's entry point (GET /taxii2/).
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// APIRoot describes one API root.
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int      `json:"max_content_length"`
}

// Collection describes one collection.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Collections lists an API root's collections.
type Collections struct {
	Collections []Collection `json:"collections,omitempty"`
}

// Envelope is one page of objects.
type Envelope struct {
	More    bool              `json:"more,omitempty"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

// Manifest is one page of a collection's manifest.
type Manifest struct {
	More    bool             `json:"more,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`
}

// ManifestRecord says what one object is and when it was added.
type ManifestRecord struct {
	ID        string    `json:"id"`
	DateAdded Timestamp `json:"date_added"`
	Version   string    `json:"version"`
	MediaType string    `json:"media_type,omitempty"`
}

// Error is TAXII's error message resource.
type Error struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ErrorID     string `json:"error_id,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	HTTPStatus  string `json:"http_status,omitempty"`
}

// Timestamp is a time written in TimeFormat.
type Timestamp struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseTime reads a TAXII timestamp (RFC 3339, any precision).
func ParseTime(s string) (time.Time, error) {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, tansa.Errorf(tansa.Invalid, "timestamp %q is not RFC 3339", s)
	}
	return v.UTC(), nil
}

// FormatTime writes t as TAXII does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// MaxResource bounds a discovery, API root, collections or error resource.
const MaxResource = 1 << 20

// MaxEnvelope bounds one page of objects.
const MaxEnvelope = 64 << 20

// IsTAXII reports whether a Content-Type names a TAXII 2.1 resource (or
// is missing the version, as some servers send).
func IsTAXII(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	v, ok := params["version"]
	return mt == "application/taxii+json" && (!ok || v == "2.1")
}

// Accepts reports whether an Accept header admits a TAXII 2.1 answer.
func Accepts(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/json":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

// decode reads one JSON resource of at most max bytes from r into v,
// refusing trailing data; what names the resource in errors.
func decode(r io.Reader, max int64, what string, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return fmt.Errorf("%s: read: %w", what, err)
	}
	if int64(len(b)) > max {
		return tansa.Errorf(tansa.TooLarge, "%s: larger than %d bytes", what, max)
	}
	return DecodeBytes(b, what, v)
}

// DecodeBytes decodes one JSON resource from b into v; errors name what
// and the byte offset of the problem.
func DecodeBytes(b []byte, what string, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return tansa.Errorf(tansa.Invalid, "%s: malformed JSON at byte %d: %v", what, se.Offset, err)
		case errors.As(err, &te):
			return tansa.Errorf(tansa.Invalid, "%s: field %q at byte %d: want %s, got JSON %s", what, te.Field, te.Offset, te.Type, te.Value)
		}
		return tansa.Errorf(tansa.Invalid, "%s: %v", what, err)
	}
	if d.More() {
		return tansa.Errorf(tansa.Invalid, "%s: data after the JSON object at byte %d", what, d.InputOffset())
	}
	return nil
}
