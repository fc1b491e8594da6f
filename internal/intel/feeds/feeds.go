// Package feeds pulls threat-intelligence feeds on a schedule: a TAXII 2.1
// collection (or a discovery or API root URL, whose readable collections
// are pulled), a plain http(s) URL of a STIX, MISP, CSV or text document,
// or a local file. Each tenant configures its own feeds; a provider
// administrator over all tenants configures global ones and local files.
//
// Feeds are configured through Service (Create, Update, Delete, Feeds,
// Feed) and pulled by Run, which pulls every feed whose time has come, and
// by Pull ("pull now"). A pull imports through the intel service like an
// upload does (intel/service.Service.Import), so it is logged, audited,
// matched live and retro-hunted like any import; its outcome and the TAXII
// cursor are stored on the feed.
package feeds

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel/importer"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Kind is where a feed comes from.
type Kind string

// The feed kinds.
const (
	KindTAXII Kind = "taxii" // a TAXII 2.1 collection, API root or discovery URL
	KindURL   Kind = "url"   // an http(s) URL of one document
	KindFile  Kind = "file"  // a local file on the server
)

// Feed is one configured feed.
type Feed struct {
	ID       string
	TenantID string // "" for global intelligence
	Name     string
	Kind     Kind
	Source   string
	Format   importer.Format // for url and file feeds; auto when empty
	// Secret is the credential sent to the source (a TAXII or HTTP bearer
	// token, or "user:password" for HTTP Basic). It is stored, never shown.
	Secret   string
	Interval time.Duration
	Enabled  bool
	// Restricted feeds were configured by a tenant's own people: they may
	// not reach the server's own network (loopback, private and
	// link-local addresses).
	Restricted bool
	// Cursor is where the next TAXII pull resumes: the latest date added
	// per collection URL, as JSON.
	Cursor     string
	LastPull   time.Time
	LastStatus string // "", "ok" or "error"
	LastError  string
	LastResult *Summary
	NextPull   time.Time
	Created    time.Time
	Updated    time.Time
}

// Summary is what a pull imported.
type Summary struct {
	Documents int `json:"documents"` // documents or TAXII pages imported
	Objects   int `json:"objects"`   // TAXII objects read
	Items     int `json:"items"`
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Rejected  int `json:"rejected"`
	Skipped   int `json:"skipped"`
}

// Input is what a person configures of a feed; nil fields are left as
// they are on update.
type Input struct {
	TenantID *string          `json:"tenant_id"`
	Name     *string          `json:"name"`
	Kind     *Kind            `json:"kind"`
	Source   *string          `json:"source"`
	Format   *importer.Format `json:"format"`
	Secret   *string          `json:"secret"`
	Interval *string          `json:"interval"` // a Go duration, "1h"
	Enabled  *bool            `json:"enabled"`
}

// Bounds of a feed's configuration.
const (
	MinInterval = 5 * time.Minute
	MaxInterval = 30 * 24 * time.Hour
	maxName     = 200
	maxSource   = 2000
	maxSecret   = 4096
)

// DecodeInput reads a feed configuration from JSON, refusing unknown
// fields, and checks it (Check).
func DecodeInput(b []byte) (Input, error) {
	var in Input
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return in, tansa.Errorf(tansa.Invalid, "feed: %v", err)
	}
	if d.More() {
		return in, tansa.Errorf(tansa.Invalid, "feed: data after the JSON object at byte %d", d.InputOffset())
	}
	return in, nil
}

// apply sets in's fields on f and checks the result.
func (in Input) apply(f *Feed) error {
	if in.Name != nil {
		f.Name = strings.TrimSpace(*in.Name)
	}
	if in.Kind != nil {
		f.Kind = *in.Kind
	}
	if in.Source != nil {
		f.Source = strings.TrimSpace(*in.Source)
	}
	if in.Format != nil {
		f.Format = *in.Format
	}
	if in.Secret != nil {
		f.Secret = *in.Secret
	}
	if in.Interval != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*in.Interval))
		if err != nil {
			return tansa.Errorf(tansa.Invalid, "interval: %q is not a duration such as 1h or 30m", *in.Interval)
		}
		f.Interval = d
	}
	if in.Enabled != nil {
		f.Enabled = *in.Enabled
	}
	return Check(f)
}

// Check validates a feed's configuration and names the offending field.
func Check(f *Feed) error {
	switch {
	case f.Name == "" || len(f.Name) > maxName:
		return tansa.Errorf(tansa.Invalid, "name: 1 to %d characters", maxName)
	case f.Kind != KindTAXII && f.Kind != KindURL && f.Kind != KindFile:
		return tansa.Errorf(tansa.Invalid, "kind: %q must be taxii, url or file", f.Kind)
	case f.Source == "" || len(f.Source) > maxSource:
		return tansa.Errorf(tansa.Invalid, "source: 1 to %d characters", maxSource)
	case len(f.Secret) > maxSecret:
		return tansa.Errorf(tansa.Invalid, "secret: at most %d bytes", maxSecret)
	case f.Interval < MinInterval || f.Interval > MaxInterval:
		return tansa.Errorf(tansa.Invalid, "interval: %s is outside %s-%s", f.Interval, MinInterval, MaxInterval)
	case strings.ContainsAny(f.Source, "\x00\r\n"):
		return tansa.Errorf(tansa.Invalid, "source: control characters")
	}
	if f.Format != "" {
		if _, err := importer.ParseFormat(string(f.Format)); err != nil {
			return tansa.Errorf(tansa.Invalid, "format: %v", err)
		}
	}
	switch f.Kind {
	case KindFile:
		if !filepath.IsAbs(f.Source) {
			return tansa.Errorf(tansa.Invalid, "source: a file feed needs an absolute path")
		}
	default:
		u, err := url.Parse(f.Source)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return tansa.Errorf(tansa.Invalid, "source: %q is not an http(s) URL", f.Source)
		}
		if u.User != nil {
			return tansa.Errorf(tansa.Invalid, "source: put credentials in secret, not in the URL")
		}
	}
	return nil
}

// Query selects feeds, by name.
type Query struct {
	Scope access.Scope // Provider includes global feeds
	access.Page
}

// Store keeps feeds. Lookups of a missing feed fail with kind
// tansa.NotFound.
type Store interface {
	CreateFeed(ctx context.Context, f Feed) error
	Feed(ctx context.Context, id string) (Feed, error)
	Feeds(ctx context.Context, q Query) ([]Feed, int, error)
	// UpdateFeed stores f's configuration and pull state.
	UpdateFeed(ctx context.Context, f Feed) error
	DeleteFeed(ctx context.Context, id string) error
	// DueFeeds returns enabled feeds whose next pull is at or before now.
	DueFeeds(ctx context.Context, now time.Time) ([]Feed, error)
}

// cursor is a TAXII feed's position per collection URL.
type cursor map[string]time.Time

func parseCursor(s string) cursor {
	c := cursor{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &c) // a damaged cursor pulls everything again, which is safe
	}
	return c
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func summaryOf(r *importer.Result) Summary {
	return Summary{Documents: 1, Items: r.Items, Added: r.Added, Updated: r.Updated, Rejected: r.RejectedCount, Skipped: r.SkippedCount}
}

func (s *Summary) add(o Summary) {
	s.Documents += o.Documents
	s.Objects += o.Objects
	s.Items += o.Items
	s.Added += o.Added
	s.Updated += o.Updated
	s.Rejected += o.Rejected
	s.Skipped += o.Skipped
}

func (s Summary) String() string {
	return fmt.Sprintf("%d added, %d updated, %d rejected", s.Added, s.Updated, s.Rejected)
}
