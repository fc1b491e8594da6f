// Package events is the event store's domain: what a stored event is, how
// it is searched, and who may see which. Events enter through Put (the
// ingest workers) and leave through the Service's searches, which always
// intersect a query with the caller's tenants.
package events

import (
	"context"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Record is an event with the observables extracted from it.
type Record struct {
	Event       *tansa.Event
	Observables []normalize.Observable
}

// Query selects events, newest first.
type Query struct {
	Scope access.Scope
	Since time.Time // inclusive; zero is unbounded
	Until time.Time // exclusive; zero is unbounded
	// Text is free text: every word must occur in the raw event (full-text
	// index, whole words, case-insensitive; "word*" matches a prefix).
	Text string
	// Fields are exact matches on normalised fields ("source.ip" →
	// "203.0.113.5", "event.code" → "4625").
	Fields map[string]string
	// Observable is a value any field or the raw text mentions, looked up in
	// the observable index (an IP, a domain, a hash, a user…).
	Observable string
	// ParseErrors keeps only events the parsers could not read.
	ParseErrors bool
	// CountLimit, when positive, lets Search stop counting once more than
	// CountLimit events match and the page is settled: the total it then
	// returns is only known to exceed CountLimit (a lower bound, shown as
	// "10,000+"). A frequent word over millions of events is counted only
	// as far as the first page needs, as Elasticsearch's track_total_hits
	// does. Zero counts every match exactly.
	CountLimit int
	access.Page
}

// Bucket is one bar of a histogram over time.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
}

// FieldCount is how many matching events have one value of a field.
type FieldCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Store keeps events. Put is idempotent by Event.ID: storing an event
// again changes nothing, so a batch redelivered after a crash is stored
// once. Implementations are safe for concurrent use.
type Store interface {
	Put(ctx context.Context, recs []Record) error
	Search(ctx context.Context, q Query) ([]tansa.Event, int, error)
	Event(ctx context.Context, id string) (tansa.Event, error)
	Histogram(ctx context.Context, q Query, buckets int) ([]Bucket, error)
	Top(ctx context.Context, q Query, field string, n int) ([]FieldCount, error)
	// DeleteBefore removes tenant's events older than t and their index
	// entries, for retention, and returns how many it removed.
	DeleteBefore(ctx context.Context, tenant string, t time.Time) (int, error)
}

// Service answers searches within the caller's tenants.
type Service struct {
	store Store
}

// NewService returns a service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// scoped intersects q with what c may see. Events always belong to a
// tenant, so provider-wide rows do not apply.
func scoped(c access.Caller, q Query) (Query, error) {
	if !c.Can(access.PermEventRead) {
		return q, tansa.Errorf(tansa.Forbidden, "your role %s may not read events", c.Role)
	}
	asked := q.Scope
	q.Scope = c.Scope()
	if len(asked.Tenants) == 1 {
		q.Scope = q.Scope.Narrow(asked.Tenants[0])
	}
	q.Scope.Provider = false
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, tansa.Errorf(tansa.Invalid, "since must be before until")
	}
	return q, nil
}

// Search returns the events matching q that c may see, newest first, and
// their total.
func (s *Service) Search(ctx context.Context, c access.Caller, q Query) ([]tansa.Event, int, error) {
	q, err := scoped(c, q)
	if err != nil {
		return nil, 0, err
	}
	return s.store.Search(ctx, q)
}

// Event returns one event c may see.
func (s *Service) Event(ctx context.Context, c access.Caller, id string) (tansa.Event, error) {
	if !c.Can(access.PermEventRead) {
		return tansa.Event{}, tansa.Errorf(tansa.Forbidden, "your role %s may not read events", c.Role)
	}
	ev, err := s.store.Event(ctx, id)
	if tansa.KindOf(err) == tansa.NotFound || (err == nil && (!c.CanAccess(ev.TenantID) || (c.Current != "" && c.Current != ev.TenantID))) {
		return tansa.Event{}, tansa.Errorf(tansa.NotFound, "event %q not found", id)
	}
	return ev, err
}

// Histogram counts the matching events c may see in buckets over time.
func (s *Service) Histogram(ctx context.Context, c access.Caller, q Query, buckets int) ([]Bucket, error) {
	q, err := scoped(c, q)
	if err != nil {
		return nil, err
	}
	return s.store.Histogram(ctx, q, buckets)
}

// Top returns the n most frequent values of field among the matching
// events c may see.
func (s *Service) Top(ctx context.Context, c access.Caller, q Query, field string, n int) ([]FieldCount, error) {
	q, err := scoped(c, q)
	if err != nil {
		return nil, err
	}
	return s.store.Top(ctx, q, field, n)
}
