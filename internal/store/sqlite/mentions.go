package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

var _ retro.Index = (*Events)(nil)

// Mentions finds tenant's events since l.Since that mention l's values,
// through the observable index: one range scan of (tenant, value, time)
// per value, inside one read transaction so that a hunt sees one state of
// the store. Prefixes scan the range of values that start with them.
func (s *Events) Mentions(ctx context.Context, tenant string, l retro.Lookup) ([]retro.Mention, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	since := sqlstore.Micros(l.Since)
	limit := l.Max
	if limit <= 0 {
		limit = -1
	}
	exact, err := tx.PrepareContext(ctx, `SELECT o.value, e.id, o.time FROM observables o JOIN events e ON e.seq = o.seq
		WHERE o.tenant_id = ? AND o.value = ? AND o.time >= ? ORDER BY o.time DESC LIMIT ?`)
	if err != nil {
		return nil, err
	}
	ranged, err := tx.PrepareContext(ctx, `SELECT o.value, e.id, o.time FROM observables o JOIN events e ON e.seq = o.seq
		WHERE o.tenant_id = ? AND o.value >= ? AND o.value < ? AND o.time >= ? LIMIT ?`)
	if err != nil {
		return nil, err
	}
	var out []retro.Mention
	read := func(rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m retro.Mention
			var t int64
			if err := rows.Scan(&m.Value, &m.Ref, &t); err != nil {
				return err
			}
			m.Time = sqlstore.FromMicros(t)
			out = append(out, m)
		}
		return rows.Err()
	}
	for _, v := range l.Values {
		if err := read(exact.QueryContext(ctx, tenant, v, since, limit)); err != nil {
			return nil, fmt.Errorf("mentions of %q: %w", v, err)
		}
	}
	for _, p := range l.Prefixes {
		if p == "" {
			continue
		}
		if err := read(ranged.QueryContext(ctx, tenant, p, prefixEnd(p), since, limit)); err != nil {
			return nil, fmt.Errorf("mentions of %q…: %w", p, err)
		}
	}
	return out, nil
}

// prefixEnd returns the smallest string greater than every string that
// starts with p: p with its last byte incremented ("10.1." → "10.1/").
func prefixEnd(p string) string {
	b := []byte(strings.Clone(p))
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}
