package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// convertV1 moves the events of the row-per-event layout (migrations 00001
// to 00003, renamed *_v1 by 00004) into blocks, a slice at a time, and
// drops the old tables when they are empty. Each slice is stored before it
// is deleted; Put skips what an interrupted conversion stored already.
func (s *Events) convertV1(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_v1'").Scan(&n); err != nil || n == 0 {
		return err
	}
	for {
		recs, last, err := s.readV1(ctx, 4096)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		if err := s.Put(ctx, recs); err != nil {
			return err
		}
		for _, stmt := range []string{"DELETE FROM observables_v1 WHERE seq <= ?", "DELETE FROM events_v1 WHERE seq <= ?"} {
			if _, err := s.w.ExecContext(ctx, stmt, last); err != nil {
				return err
			}
		}
	}
	for _, stmt := range []string{"DROP TABLE events_fts_v1", "DROP TABLE observables_v1", "DROP TABLE events_v1"} {
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	_, err := s.w.ExecContext(ctx, "VACUUM")
	return err
}

// readV1 reads the oldest n events of the old layout with their
// observables and returns the last seq read.
func (s *Events) readV1(ctx context.Context, n int) ([]events.Record, int64, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT seq, id, tenant_id, time, received, source, format, parse_error, raw, fields
		FROM events_v1 ORDER BY seq LIMIT ?`, n)
	if err != nil {
		return nil, 0, err
	}
	var recs []events.Record
	bySeq := map[int64]int{}
	var last int64
	for rows.Next() {
		ev := &tansa.Event{}
		var t, rcv int64
		var fields []byte
		if err := rows.Scan(&last, &ev.ID, &ev.TenantID, &t, &rcv, &ev.Source, &ev.Format, &ev.ParseError, &ev.Raw, &fields); err != nil {
			rows.Close()
			return nil, 0, err
		}
		ev.Time, ev.Received = sqlstore.FromMicros(t), sqlstore.FromMicros(rcv)
		if err := json.Unmarshal(fields, &ev.Fields); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("event %s fields: %w", ev.ID, err)
		}
		normalizeNumbers(ev.Fields)
		bySeq[last] = len(recs)
		recs = append(recs, events.Record{Event: ev})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(recs) == 0 {
		return nil, 0, err
	}
	orows, err := s.w.QueryContext(ctx, "SELECT seq, type, value FROM observables_v1 WHERE seq <= ?", last)
	if err != nil {
		return nil, 0, err
	}
	defer orows.Close()
	for orows.Next() {
		var seq int64
		var o normalize.Observable
		if err := orows.Scan(&seq, &o.Type, &o.Value); err != nil {
			return nil, 0, err
		}
		if i, ok := bySeq[seq]; ok {
			recs[i].Observables = append(recs[i].Observables, o)
		}
	}
	return recs, last, orows.Err()
}
