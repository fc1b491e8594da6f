package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

var _ retro.Index = (*Events)(nil)

// Mentions finds tenant's events since l.Since that mention l's values,
// newest first, at most l.Max per value or prefix, through the observable
// index. A prefix is looked up under the longest indexed prefix it starts
// with (ipPrefixes) and the addresses are then compared in full.
func (s *Events) Mentions(ctx context.Context, tenant string, l retro.Lookup) ([]retro.Mention, error) {
	names, err := s.tenantNames(ctx)
	if err != nil {
		return nil, err
	}
	var tid int64 = -1
	for id, n := range names {
		if n == tenant {
			tid = id
		}
	}
	if tid < 0 {
		return nil, nil
	}
	// Closed epochs without a filter (a store written before filters, a
	// crash while building one, a damaged one) get it now, so that the
	// hunt seeks only where its values may be.
	if _, err := s.BuildFilters(ctx); err != nil {
		return nil, err
	}
	since := sqlstore.Micros(l.Since)
	var out []retro.Mention
	// Values are looked up in batches: one index query and one pass over
	// the blocks it names per batch, not per value, so a hunt of 100,000
	// indicators makes a few hundred queries and reads each block once
	// per batch at most.
	for start := 0; start < len(l.Values); start += mentionBatch {
		ms, err := s.mentionsOf(ctx, tid, tenant, l.Values[start:min(start+mentionBatch, len(l.Values))], since, l.Max)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	for _, p := range l.Prefixes {
		if p == "" {
			continue
		}
		indexed := ""
		for _, q := range ipPrefixes(p + "0") {
			if strings.HasPrefix(p, q) {
				indexed = q
			}
		}
		if indexed == "" {
			continue
		}
		ms, err := s.mentions(ctx, tid, prefixHash(tenant, indexed), since, l.Max, func(o normalize.Observable) bool {
			return o.Type == normalize.IP && strings.HasPrefix(o.Value, p)
		})
		if err != nil {
			return nil, fmt.Errorf("mentions of %q…: %w", p, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// mentions reads the index rows under key h of tenant tid and returns,
// newest first, the observables of those events that want accepts.
func (s *Events) mentions(ctx context.Context, tid, h, since int64, max int, want func(normalize.Observable) bool) ([]retro.Mention, error) {
	p := &plan{tenantIDs: []int64{tid}, obsHashes: []int64{h}, lo: since}
	type found struct {
		t   int64
		ref int64
		br  *blockReader
	}
	var hits []found
	// The index rows are checked against the events' own observables, so
	// a hash shared by two values cannot report the wrong one.
	err := s.visit(ctx, p, nil, nil, func(br *blockReader, pos int, t int64) error {
		hits = append(hits, found{t, ref(br.b.id, pos), br})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(hits, func(a, b found) int {
		if c := cmp.Compare(b.t, a.t); c != 0 {
			return c
		}
		return cmp.Compare(b.ref, a.ref)
	})
	var out []retro.Mention
	for _, f := range hits {
		if max > 0 && len(out) >= max {
			break
		}
		pos := int(f.ref & (1<<refBits - 1))
		ev, _, obs, err := f.br.eventAt(pos)
		if err != nil {
			return nil, err
		}
		for _, o := range obs {
			if want(o) {
				out = append(out, retro.Mention{Value: o.Value, Ref: ev.ID, Time: sqlstore.FromMicros(f.t)})
				if max > 0 && len(out) >= max {
					break
				}
			}
		}
	}
	return out, nil
}

// mentionBatch is how many values one index query looks up.
const mentionBatch = 500

// mentionsOf looks up several values at once: the index rows of all their
// hashes, then each named event's own observables, which say which of the
// values it holds. It returns at most max mentions per value, newest first.
func (s *Events) mentionsOf(ctx context.Context, tid int64, tenant string, values []string, since int64, max int) ([]retro.Mention, error) {
	want := make(map[string]bool, len(values))
	p := &plan{tenantIDs: []int64{tid}, lo: since}
	for _, v := range values {
		if !want[v] {
			want[v] = true
			p.obsHashes = append(p.obsHashes, obsHash(tenant, v))
		}
	}
	byValue := map[string][]retro.Mention{}
	err := s.visit(ctx, p, nil, nil, func(br *blockReader, pos int, t int64) error {
		ev, _, obs, err := br.eventAt(pos)
		if err != nil {
			return err
		}
		for _, o := range obs {
			if want[o.Value] {
				byValue[o.Value] = append(byValue[o.Value], retro.Mention{Value: o.Value, Ref: ev.ID, Time: sqlstore.FromMicros(t)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mentions of %d values: %w", len(values), err)
	}
	var out []retro.Mention
	for _, v := range values {
		ms := byValue[v]
		if len(ms) == 0 {
			continue
		}
		delete(byValue, v) // a value given twice is reported once
		slices.SortStableFunc(ms, func(a, b retro.Mention) int {
			if c := b.Time.Compare(a.Time); c != 0 {
				return c
			}
			return cmp.Compare(b.Ref, a.Ref)
		})
		ms = slices.CompactFunc(ms, func(a, b retro.Mention) bool { return a.Ref == b.Ref })
		if max > 0 && len(ms) > max {
			ms = ms[:max]
		}
		out = append(out, ms...)
	}
	return out, nil
}
