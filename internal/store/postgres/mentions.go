package postgres

import (
	"context"
	"fmt"

	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

var _ retro.Index = (*Events)(nil)

// Mentions finds tenant's events since l.Since that mention l's values
// through the observable index, whose primary key (tenant, value, time,
// seq) makes each value a range scan in every partition of the window.
func (s *Events) Mentions(ctx context.Context, tenant string, l retro.Lookup) ([]retro.Mention, error) {
	since := sqlstore.Micros(l.Since)
	limit := int64(l.Max)
	if limit <= 0 {
		limit = 1 << 62
	}
	var out []retro.Mention
	read := func(q string, args ...any) error {
		rows, err := s.db.QueryContext(ctx, q, args...)
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
	if len(l.Values) > 0 {
		// A lateral join takes at most limit rows of each value.
		q := `SELECT v.value, x.id, x.time FROM unnest($2::text[]) AS v(value), LATERAL (
			SELECT e.id, o.time FROM observables o JOIN events e ON e.tenant_id = o.tenant_id AND e.time = o.time AND e.seq = o.seq
			WHERE o.tenant_id = $1 AND o.value = v.value AND o.time >= $3 ORDER BY o.time DESC LIMIT $4) x`
		if err := read(q, tenant, l.Values, since, limit); err != nil {
			return nil, fmt.Errorf("mentions: %w", err)
		}
	}
	// Byte order ("C" collation), not the database's: a linguistic
	// collation ignores the dots the prefixes end with.
	for _, p := range l.Prefixes {
		if p == "" {
			continue
		}
		q := `SELECT o.value, e.id, o.time FROM observables o JOIN events e ON e.tenant_id = o.tenant_id AND e.time = o.time AND e.seq = o.seq
			WHERE o.tenant_id = $1 AND o.value COLLATE "C" >= $2 AND o.value COLLATE "C" < $3 AND o.time >= $4 ORDER BY o.time DESC LIMIT $5`
		if err := read(q, tenant, p, prefixEnd(p), since, limit); err != nil {
			return nil, fmt.Errorf("mentions of %q…: %w", p, err)
		}
	}
	return out, nil
}

// prefixEnd returns the smallest string greater than every string that
// starts with p. Prefixes are IP address text, plain ASCII.
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
