package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Events is the event store in its own SQLite file, so that a busy
// ingest never holds the access tables' single writer.
type Events struct {
	w, r *sql.DB
}

var _ events.Store = (*Events)(nil)

// OpenEvents opens (creating when absent) the event database at path.
// Events are written with synchronous(NORMAL) in WAL mode: a commit
// survives a crash of Tansa (kill -9) at once and a crash of the machine
// once the WAL is checkpointed; the bus keeps every batch until its events
// are stored, which covers the gap.
func OpenEvents(ctx context.Context, path string) (*Events, error) {
	w, r, err := openPools(ctx, path, "NORMAL")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, mustSub(migrations, "events_migrations"))
	if err == nil {
		_, err = p.Up(ctx)
	}
	if err != nil {
		w.Close()
		r.Close()
		return nil, describe(path, fmt.Errorf("migrate events: %w", err))
	}
	return &Events{w: w, r: r}, nil
}

// Close closes both pools.
func (s *Events) Close() error { return errors.Join(s.r.Close(), s.w.Close()) }

// Put stores events and their observables; an event whose ID is stored
// already is skipped with its index entries.
func (s *Events) Put(ctx context.Context, recs []events.Record) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO events (id, tenant_id, time, received, source, format, parse_error, raw, fields)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	fts, err := tx.PrepareContext(ctx, `INSERT INTO events_fts (rowid, body) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	obs, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO observables (tenant_id, value, time, seq, type) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	for _, rec := range recs {
		ev := rec.Event
		fields, err := json.Marshal(ev.Fields)
		if err != nil {
			return fmt.Errorf("event %s fields: %w", ev.ID, err)
		}
		t := sqlstore.Micros(ev.Time)
		res, err := ins.ExecContext(ctx, ev.ID, ev.TenantID, t, sqlstore.Micros(ev.Received), ev.Source, ev.Format, ev.ParseError, ev.Raw, fields)
		if err != nil {
			return fmt.Errorf("insert event %s: %w", ev.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // stored by an earlier delivery of the same batch
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := fts.ExecContext(ctx, seq, string(ev.Raw)); err != nil {
			return fmt.Errorf("index event %s: %w", ev.ID, err)
		}
		for _, o := range rec.Observables {
			if _, err := obs.ExecContext(ctx, ev.TenantID, o.Value, t, seq, string(o.Type)); err != nil {
				return fmt.Errorf("index observable of %s: %w", ev.ID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// jsonPath returns the JSON path of field, refusing names that are not
// field names (they could not be in the store anyway).
func jsonPath(field string) (string, error) {
	if err := events.CheckField(field); err != nil {
		return "", err
	}
	return `$."` + field + `"`, nil
}

// ftsQuery turns free text into an FTS5 query: every word must occur;
// a trailing * matches a prefix; FTS5 syntax in the text is taken
// literally.
func ftsQuery(text string) string {
	var parts []string
	for _, word := range strings.Fields(text) {
		prefix := strings.HasSuffix(word, "*")
		word = strings.TrimRight(word, "*")
		if word == "" {
			continue
		}
		q := `"` + strings.ReplaceAll(word, `"`, `""`) + `"`
		if prefix {
			q += "*"
		}
		parts = append(parts, q)
	}
	return strings.Join(parts, " ")
}

// where builds the conditions of q on the events table (alias e).
func where(q events.Query) (*sqlstore.Where, error) {
	w := &sqlstore.Where{}
	w.Scope("e.tenant_id", q.Scope)
	if !q.Since.IsZero() {
		w.Add("e.time >= ?", sqlstore.Micros(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("e.time < ?", sqlstore.Micros(q.Until))
	}
	if q.Text != "" {
		if fq := ftsQuery(q.Text); fq != "" {
			w.Add("e.seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)", fq)
		}
	}
	if q.Observable != "" {
		o := &sqlstore.Where{}
		o.Scope("o.tenant_id", q.Scope)
		o.Add("o.value = ?", events.ObservableValue(q.Observable))
		if !q.Since.IsZero() {
			o.Add("o.time >= ?", sqlstore.Micros(q.Since))
		}
		if !q.Until.IsZero() {
			o.Add("o.time < ?", sqlstore.Micros(q.Until))
		}
		w.Add("e.seq IN (SELECT o.seq FROM observables o"+o.String()+")", o.Args...)
	}
	for field, value := range q.Fields {
		path, err := jsonPath(field)
		if err != nil {
			return nil, err
		}
		w.Add("CAST(json_extract(e.fields, ?) AS TEXT) = ?", path, value)
	}
	if q.ParseErrors {
		w.Add("e.parse_error != ''")
	}
	return w, nil
}

const eventCols = "e.id, e.tenant_id, e.time, e.received, e.source, e.format, e.parse_error, e.raw, e.fields"

func scanEvent(row interface{ Scan(...any) error }) (tansa.Event, error) {
	var ev tansa.Event
	var t, rcv int64
	var fields []byte
	if err := row.Scan(&ev.ID, &ev.TenantID, &t, &rcv, &ev.Source, &ev.Format, &ev.ParseError, &ev.Raw, &fields); err != nil {
		return ev, err
	}
	ev.Time, ev.Received = sqlstore.FromMicros(t), sqlstore.FromMicros(rcv)
	if err := json.Unmarshal(fields, &ev.Fields); err != nil {
		return ev, fmt.Errorf("event %s fields: %w", ev.ID, err)
	}
	normalizeNumbers(ev.Fields)
	return ev, nil
}

// normalizeNumbers turns JSON's float64 back into int64 where the value is
// whole, as parsers store counts and ports.
func normalizeNumbers(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			if x == float64(int64(x)) {
				m[k] = int64(x)
			}
		case []any:
			ss := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					ss = nil
					break
				}
				ss = append(ss, s)
			}
			if ss != nil {
				m[k] = ss
			}
		}
	}
}

// Search returns matching events, newest first, and their total.
func (s *Events) Search(ctx context.Context, q events.Query) ([]tansa.Event, int, error) {
	w, err := where(q)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM events e"+w.String(), w.Args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count events: %w", err)
	}
	out := []tansa.Event{}
	if q.Limit <= 0 || q.Offset >= total {
		return out, total, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+eventCols+" FROM events e"+w.String()+" ORDER BY e.time DESC, e.seq DESC LIMIT ? OFFSET ?",
		append(w.Args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ev)
	}
	return out, total, rows.Err()
}

// Event returns event id.
func (s *Events) Event(ctx context.Context, id string) (tansa.Event, error) {
	ev, err := scanEvent(s.r.QueryRowContext(ctx, "SELECT "+eventCols+" FROM events e WHERE e.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return ev, tansa.Errorf(tansa.NotFound, "event %q not found", id)
	}
	return ev, err
}

// Histogram counts matching events in equal buckets between the query's
// bounds (or the matching events' first and last times).
func (s *Events) Histogram(ctx context.Context, q events.Query, buckets int) ([]events.Bucket, error) {
	if buckets < 1 || buckets > 1000 {
		return nil, tansa.Errorf(tansa.Invalid, "buckets: %d must be from 1 to 1000", buckets)
	}
	w, err := where(q)
	if err != nil {
		return nil, err
	}
	lo, hi := sqlstore.Micros(q.Since), sqlstore.Micros(q.Until)
	if q.Since.IsZero() || q.Until.IsZero() {
		var mn, mx sql.NullInt64
		if err := s.r.QueryRowContext(ctx, "SELECT MIN(e.time), MAX(e.time) FROM events e"+w.String(), w.Args...).Scan(&mn, &mx); err != nil {
			return nil, fmt.Errorf("histogram bounds: %w", err)
		}
		if !mn.Valid {
			return []events.Bucket{}, nil
		}
		if q.Since.IsZero() {
			lo = mn.Int64
		}
		if q.Until.IsZero() {
			hi = mx.Int64 + 1
		}
	}
	width := max((hi-lo+int64(buckets)-1)/int64(buckets), 1)
	out := make([]events.Bucket, buckets)
	for i := range out {
		out[i].Start = sqlstore.FromMicros(lo + int64(i)*width)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT (e.time - ?) / ?, COUNT(*) FROM events e"+w.String()+" GROUP BY 1",
		append([]any{lo, width}, w.Args...)...)
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			return nil, err
		}
		if b >= 0 && b < int64(buckets) {
			out[b].Count += n
		}
	}
	return out, rows.Err()
}

// Top returns the n most frequent values of field among matching events.
func (s *Events) Top(ctx context.Context, q events.Query, field string, n int) ([]events.FieldCount, error) {
	path, err := jsonPath(field)
	if err != nil {
		return nil, err
	}
	w, err := where(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT v, COUNT(*) AS c FROM (SELECT CAST(json_extract(e.fields, ?) AS TEXT) AS v FROM events e"+
		w.String()+") WHERE v IS NOT NULL GROUP BY v ORDER BY c DESC, v LIMIT ?", append(append([]any{path}, w.Args...), n)...)
	if err != nil {
		return nil, fmt.Errorf("top %s: %w", field, err)
	}
	defer rows.Close()
	out := []events.FieldCount{}
	for rows.Next() {
		var fc events.FieldCount
		if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	return out, rows.Err()
}

// DeleteBefore removes tenant's events older than t with their index
// entries, in slices so the writer is never held for long.
func (s *Events) DeleteBefore(ctx context.Context, tenant string, t time.Time) (int, error) {
	total := 0
	for {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return total, err
		}
		rows, err := tx.QueryContext(ctx, "SELECT seq FROM events WHERE tenant_id = ? AND time < ? LIMIT 5000", tenant, sqlstore.Micros(t))
		if err != nil {
			tx.Rollback()
			return total, err
		}
		var seqs []any
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				tx.Rollback()
				return total, err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if len(seqs) == 0 {
			tx.Rollback()
			return total, nil
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(seqs)), ",") + ")"
		for _, stmt := range []string{"DELETE FROM events_fts WHERE rowid IN " + in, "DELETE FROM observables WHERE seq IN " + in, "DELETE FROM events WHERE seq IN " + in} {
			if _, err := tx.ExecContext(ctx, stmt, seqs...); err != nil {
				tx.Rollback()
				return total, fmt.Errorf("retention: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return total, err
		}
		total += len(seqs)
	}
}
