// Package importer turns threat-intelligence feeds into intel.Indicators
// and back: STIX 2.1 (and 2.0) bundles, MISP events, collections and feeds,
// CSV files and plain lists in, STIX 2.1 bundles and MISP events out.
//
// Data enters as bytes (Import, with format auto-detection) or a
// directory (ImportMISPFeed). Every item is normalised and validated on its
// own: a malformed item is rejected with a reason and the rest proceeds.
// Accepted indicators leave through a Sink, which storage implements
// (intel.Set is the in-memory one), and a Result counts what was added,
// updated, rejected and skipped.
package importer

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Format names an input format.
type Format string

// The input formats. FormatAuto detects the format from the content.
const (
	FormatAuto Format = "auto"
	FormatSTIX Format = "stix"
	FormatMISP Format = "misp"
	FormatCSV  Format = "csv"
	FormatText Format = "text"
)

// ParseFormat returns the Format named by s ("" means auto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatAuto, nil
	case FormatAuto, FormatSTIX, FormatMISP, FormatCSV, FormatText:
		return f, nil
	}
	return "", tansa.Errorf(tansa.Invalid, "unknown import format %q (want auto, stix, misp, csv or text)", s)
}

// Sink receives accepted indicators. Upsert adds the indicator or merges it
// into an existing one with the same Key, and reports which; an error
// rejects that indicator only. intel.Set implements Sink.
type Sink interface {
	Upsert(ind intel.Indicator) (added bool, err error)
}

var _ Sink = (*intel.Set)(nil)

// Options control an import. The zero value imports global indicators with
// no allowlist and the defaults below.
type Options struct {
	Format    Format
	TenantID  string           // owner of the imported indicators; empty = global
	Source    string           // provenance recorded on every indicator ("threatfox", "misp:circl")
	Allowlist *intel.Allowlist // values that hit it are flagged, not dropped; nil checks nothing
	// Defaults applied where the feed says nothing.
	Confidence int           // 0 keeps "unknown"
	TLP        intel.TLP     // TLP when the item carries no marking
	ValidFor   time.Duration // sets ValidUntil = ValidFrom + ValidFor when the item has no end
	Tags       []string      // added to every indicator
	Now        time.Time     // ValidFrom when the item has none; zero means time.Now()
	// CSV only: header name → field ("value", "type", "confidence", "tlp",
	// "tags", "first_seen", "last_seen", "valid_until", "description",
	// "threat_actor", "campaign", "malware", "technique"), extending the
	// built-in aliases.
	Columns map[string]string
	// MaxRejects stops recording rejection details (counts continue) so a
	// garbage upload cannot grow the result without bound; 0 means 10,000.
	MaxRejects int
}

// Rejection is one item that was not imported, and why.
type Rejection struct {
	Item   string `json:"item"`   // the item as found (truncated), or its id and position
	Reason string `json:"reason"` // what is wrong with it, safe to show the uploader
}

// Result summarises an import.
// Its JSON form is what the import API returns.
type Result struct {
	Format   Format      `json:"format"`
	Items    int         `json:"items"`    // items read (objects, attributes, rows, lines)
	Added    int         `json:"added"`    // new indicators
	Updated  int         `json:"updated"`  // indicators merged into existing ones
	Flagged  int         `json:"flagged"`  // accepted indicators that hit the allowlist
	Rejected []Rejection `json:"rejected"` // malformed items, with reasons
	Skipped  []Rejection `json:"skipped"`  // well-formed items that carry no indicator Tansa can use, with reasons
	// RejectedCount and SkippedCount keep counting after MaxRejects.
	RejectedCount int `json:"rejected_count"`
	SkippedCount  int `json:"skipped_count"`
}

// run carries the state of one import.
type run struct {
	ctx  context.Context
	opts Options
	sink Sink
	res  *Result
	now  time.Time
}

func newRun(ctx context.Context, opts Options, sink Sink, f Format) *run {
	if opts.MaxRejects == 0 {
		opts.MaxRejects = 10000
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	return &run{ctx: ctx, opts: opts, sink: sink, res: &Result{Format: f}, now: now}
}

func truncate(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (r *run) reject(item, reason string) {
	r.res.RejectedCount++
	if len(r.res.Rejected) < r.opts.MaxRejects {
		r.res.Rejected = append(r.res.Rejected, Rejection{Item: truncate(item), Reason: reason})
	}
}

func (r *run) skip(item, reason string) {
	r.res.SkippedCount++
	if len(r.res.Skipped) < r.opts.MaxRejects {
		r.res.Skipped = append(r.res.Skipped, Rejection{Item: truncate(item), Reason: reason})
	}
}

// emit normalises, completes and stores one indicator; on failure it
// records a rejection naming item.
func (r *run) emit(item string, ind intel.Indicator) {
	if ind.Type != intel.TypeSTIXPattern || ind.Value == "" {
		v, err := intel.Normalize(ind.Type, ind.Value)
		if err != nil {
			r.reject(item, tansa.MessageOf(err))
			return
		}
		ind.Value = v
	}
	ind.TenantID = r.opts.TenantID
	if ind.Source == "" {
		ind.Source = r.opts.Source
	}
	if ind.Confidence == 0 {
		ind.Confidence = r.opts.Confidence
	}
	if ind.TLP == "" {
		ind.TLP = r.opts.TLP
	}
	if ind.ValidFrom.IsZero() {
		ind.ValidFrom = r.now
	}
	if ind.ValidUntil.IsZero() && r.opts.ValidFor > 0 {
		ind.ValidUntil = ind.ValidFrom.Add(r.opts.ValidFor)
	}
	if ind.FirstSeen.IsZero() {
		ind.FirstSeen = ind.ValidFrom
	}
	if ind.LastSeen.IsZero() {
		ind.LastSeen = ind.FirstSeen
	}
	for _, t := range r.opts.Tags {
		ind.Tags = appendUnique(ind.Tags, t)
	}
	if ind.ID == "" {
		ind.ID = DeterministicID(r.opts.TenantID, ind.Type, ind.Value)
	}
	if r.opts.Allowlist != nil && r.opts.Allowlist.Flag(&ind) {
		r.res.Flagged++
	}
	added, err := r.sink.Upsert(ind)
	if err != nil {
		r.reject(item, tansa.MessageOf(err))
		return
	}
	if added {
		r.res.Added++
	} else {
		r.res.Updated++
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// MaxInput bounds the bytes Import reads, so an upload cannot exhaust
// memory; larger inputs are refused with a TooLarge error.
const MaxInput = 512 << 20

// Import reads one feed document in opts.Format (detected when auto) and
// writes its indicators to sink. It fails as a whole only when the format
// cannot be detected, the document's envelope is not parseable (for example
// broken JSON), the input is too large, or ctx is cancelled; item-level
// problems are in the Result.
func Import(ctx context.Context, data []byte, opts Options, sink Sink) (*Result, error) {
	if len(data) > MaxInput {
		return nil, tansa.Errorf(tansa.TooLarge, "import of %d bytes exceeds the %d-byte limit", len(data), MaxInput)
	}
	f := opts.Format
	if f == "" || f == FormatAuto {
		var err error
		if f, err = Detect(data); err != nil {
			return nil, err
		}
	}
	r := newRun(ctx, opts, sink, f)
	var err error
	switch f {
	case FormatSTIX:
		err = r.stix(data)
	case FormatMISP:
		err = r.misp(data)
	case FormatCSV:
		err = r.csv(data)
	case FormatText:
		err = r.text(data)
	default:
		return nil, tansa.Errorf(tansa.Invalid, "unknown import format %q", f)
	}
	if err != nil {
		return r.res, err
	}
	return r.res, nil
}

// Detect guesses the format of a feed document: JSON with STIX markers
// ("type": "bundle", "spec_version", "indicator" objects) is STIX, JSON
// with MISP markers ("Event", "Attribute", "Object") is MISP, delimited
// text with a header row or a consistent delimiter is CSV, and anything
// else that is text is a plain list.
func Detect(data []byte) (Format, error) {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\xef\xbb\xbf"))
	if len(t) == 0 {
		return "", tansa.Errorf(tansa.Invalid, "empty input")
	}
	if t[0] == '{' || t[0] == '[' {
		head := t
		if len(head) > 1<<16 {
			head = head[:1<<16]
		}
		switch {
		case bytes.Contains(head, []byte(`"Event"`)) || bytes.Contains(head, []byte(`"Attribute"`)) || bytes.Contains(head, []byte(`"Object"`)):
			return FormatMISP, nil
		case bytes.Contains(head, []byte(`"spec_version"`)) || bytes.Contains(head, []byte(`"bundle"`)) ||
			bytes.Contains(head, []byte(`"pattern"`)) || bytes.Contains(head, []byte(`"objects"`)):
			return FormatSTIX, nil
		}
		return "", tansa.Errorf(tansa.Invalid, "JSON input is neither a STIX bundle nor a MISP document")
	}
	if bytes.IndexByte(t[:min(len(t), 4096)], 0) >= 0 {
		return "", tansa.Errorf(tansa.Invalid, "binary input: not a feed")
	}
	if looksLikeCSV(t) {
		return FormatCSV, nil
	}
	return FormatText, nil
}

func errCancelled(err error) error {
	return tansa.Errorf(tansa.Unavailable, "import cancelled: %w", err)
}

func position(kind string, i int) string { return fmt.Sprintf("%s %d", kind, i+1) }
