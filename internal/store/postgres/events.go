package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

//go:embed events_migrations/*.sql
var eventsMigrations embed.FS

// eventsLockID is the advisory lock under which one node at a time runs the
// event store's migrations; it differs from goose's default, which the
// access store's migrations hold, so neither waits for the other.
const eventsLockID int64 = 0x74616e7361657631 // "tansaev1"

// day is the span of one partition of events and observables.
const day = 24 * time.Hour

// Events is the event store in PostgreSQL, for clusters with many millions
// of events. It is safe for concurrent use, by several nodes too.
//
// Events and their observables are partitioned by day on their time:
// searches over recent days read recent partitions only, and the
// partitions are created on demand (ensurePartitions). Put is idempotent
// through the event_ids table, the one index over every partition (see
// events_migrations). Free text is a tsvector of the words of the raw
// event as SQLite's unicode61 tokenizer cuts them (document, tsQuery).
type Events struct {
	db *sql.DB

	mu   sync.Mutex
	days map[int64]bool // days (since the epoch) whose partitions exist
}

var _ events.Store = (*Events)(nil)

// OpenEvents connects to the database at url (as Open accepts it), brings
// the event store's schema up to date and returns the store. The tables are
// created in the first schema of the connection's search_path, next to the
// access store's if the URL is the same; the migrations are recorded in a
// table of their own, goose_events_version.
func OpenEvents(ctx context.Context, url string) (*Events, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if err := migrateEvents(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return &Events{db: db, days: map[int64]bool{}}, nil
}

func migrateEvents(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(eventsMigrations, "events_migrations")
	if err != nil {
		return fmt.Errorf("event migrations: %w", err)
	}
	// As for the access store: nodes starting together migrate one at a time.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(eventsLockID))
	if err != nil {
		return fmt.Errorf("event migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithTableName("goose_events_version"), outOfOrder)
	if err != nil {
		return fmt.Errorf("event migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate events: %w", err)
	}
	return nil
}

// Close closes the pool.
func (s *Events) Close() error { return s.db.Close() }

// row is an event ready for the database.
type row struct {
	rec        events.Record
	id, tenant string // as TEXT columns hold them (cleanText)
	time       int64
}

// Put stores events and their observables in one transaction; an event
// whose ID is stored already is skipped with its index entries, and of the
// events of recs that share an ID the first is stored.
//
// Idempotency rests on event_ids: the batch's IDs are inserted there first,
// in ID order (so that two nodes storing overlapping batches lock the same
// keys in the same order and cannot deadlock) with ON CONFLICT DO NOTHING,
// and only the IDs that insert returns, with their new seq, go on to
// events and observables. A concurrent Put of the same ID waits for the
// first to commit or roll back, so an event is stored exactly once.
func (s *Events) Put(ctx context.Context, recs []events.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([]row, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, row{rec: r, id: cleanText(r.Event.ID), tenant: cleanText(r.Event.TenantID), time: sqlstore.Micros(r.Event.Time)})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.id, b.id) })
	rows = slices.CompactFunc(rows, func(a, b row) bool { return a.id == b.id })

	days := make([]int64, 0, 2)
	for _, r := range rows {
		if d := dayOf(r.time); !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	// The day after the newest is made ready too, so that nodes crossing
	// midnight together rarely wait for each other's DDL.
	days = append(days, slices.Max(days)+1)
	if err := s.ensurePartitions(ctx, days); err != nil {
		return err
	}
	err := s.put(ctx, rows)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition") {
		// A partition was dropped behind the store's back (by an operator
		// freeing space): forget what it knew and create them again.
		s.mu.Lock()
		clear(s.days)
		s.mu.Unlock()
		if err := s.ensurePartitions(ctx, days); err != nil {
			return err
		}
		err = s.put(ctx, rows)
	}
	return err
}

func (s *Events) put(ctx context.Context, rows []row) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	ids, tenants, times := make([]string, len(rows)), make([]string, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		ids[i], tenants[i], times[i] = r.id, r.tenant, r.time
	}
	res, err := tx.QueryContext(ctx, `INSERT INTO event_ids (id, tenant_id, time)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
		ON CONFLICT (id) DO NOTHING RETURNING id, seq`, ids, tenants, times)
	if err != nil {
		return fmt.Errorf("insert event ids: %w", err)
	}
	seqs := make(map[string]int64, len(rows))
	for res.Next() {
		var id string
		var seq int64
		if err := res.Scan(&id, &seq); err != nil {
			res.Close()
			return fmt.Errorf("insert event ids: %w", err)
		}
		seqs[id] = seq
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("insert event ids: %w", err)
	}
	if len(seqs) == 0 {
		return nil // every event was stored by an earlier delivery
	}

	var e struct {
		tenant, id, source, format, parseError, fields, body []string
		time, seq, received                                  []int64
		raw                                                  [][]byte
	}
	var o struct {
		tenant, value, typ []string
		time, seq          []int64
	}
	for i, r := range rows {
		seq, ok := seqs[ids[i]]
		if !ok {
			continue
		}
		ev := r.rec.Event
		fields, err := fieldsJSON(ev.Fields)
		if err != nil {
			return fmt.Errorf("event %s fields: %w", ev.ID, err)
		}
		e.tenant = append(e.tenant, tenants[i])
		e.time = append(e.time, r.time)
		e.seq = append(e.seq, seq)
		e.id = append(e.id, ids[i])
		e.received = append(e.received, sqlstore.Micros(ev.Received))
		e.source = append(e.source, cleanText(ev.Source))
		e.format = append(e.format, cleanText(ev.Format))
		e.parseError = append(e.parseError, cleanText(ev.ParseError))
		raw := ev.Raw
		if raw == nil {
			raw = []byte{} // not NULL
		}
		e.raw = append(e.raw, raw)
		e.fields = append(e.fields, fields)
		e.body = append(e.body, document(ev.Raw))
		var seen []string
		for _, ob := range r.rec.Observables {
			v := observableKey(ob.Value)
			if slices.Contains(seen, v) {
				continue // one row per value, as SQLite's INSERT OR IGNORE keeps
			}
			seen = append(seen, v)
			o.tenant = append(o.tenant, tenants[i])
			o.value = append(o.value, v)
			o.time = append(o.time, r.time)
			o.seq = append(o.seq, seq)
			o.typ = append(o.typ, cleanText(string(ob.Type)))
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (tenant_id, time, seq, id, received, source, format, parse_error, raw, fields, search)
		SELECT t, tm, sq, id, rc, src, f, pe, raw, fl::jsonb, body::tsvector
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::text[], $11::text[])
			AS u(t, tm, sq, id, rc, src, f, pe, raw, fl, body)`,
		e.tenant, e.time, e.seq, e.id, e.received, e.source, e.format, e.parseError, e.raw, e.fields, e.body); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	if len(o.value) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO observables (tenant_id, value, time, seq, type)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])`,
			o.tenant, o.value, o.time, o.seq, o.typ); err != nil {
			return fmt.Errorf("insert observables: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// dayOf returns the day since the epoch of t in microseconds, rounding
// down before 1970 too.
func dayOf(t int64) int64 {
	d := day.Microseconds()
	if t < 0 {
		return (t - d + 1) / d
	}
	return t / d
}

// ensurePartitions creates the partitions of events and observables for
// days that do not have them yet. Several nodes may reach a new day at
// once: they take a transaction-scoped advisory lock (one per schema)
// before CREATE TABLE IF NOT EXISTS, so one creates the partitions and the
// others find them, instead of racing on the catalog. The lock and the
// parent's lock that creating a partition takes are held only for this
// short transaction, never across a Put.
func (s *Events) ensurePartitions(ctx context.Context, days []int64) error {
	s.mu.Lock()
	var missing []int64
	for _, d := range days {
		if !s.days[d] {
			missing = append(missing, d)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin partitions: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.tansa.events.partitions'))"); err != nil {
		return fmt.Errorf("lock partitions: %w", err)
	}
	for _, d := range missing {
		lo := d * day.Microseconds()
		name := time.UnixMicro(lo).UTC().Format("20060102")
		for _, table := range []string{"events", "observables"} {
			stmt := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)",
				pgx.Identifier{table + "_p" + name}.Sanitize(), table, lo, lo+day.Microseconds())
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create partition %s_p%s: %w", table, name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit partitions: %w", err)
	}
	s.mu.Lock()
	for _, d := range missing {
		s.days[d] = true
	}
	s.mu.Unlock()
	return nil
}

// cleanText makes s storable in a TEXT column, which holds neither NUL
// nor invalid UTF-8: both become U+FFFD. The raw event is stored as bytes
// and keeps them.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// fieldsJSON encodes fields for a JSONB column, which refuses the NUL
// character (\u0000) in strings: those become U+FFFD.
func fieldsJSON(fields map[string]any) (string, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	if bytes.Contains(b, []byte(`\u0000`)) {
		b, err = json.Marshal(cleanValue(fields))
	}
	return string(b), err
}

func cleanValue(v any) any {
	switch v := v.(type) {
	case string:
		return cleanText(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = cleanText(s)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cleanValue(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[cleanText(k)] = cleanValue(x)
		}
		return out
	}
	return v
}

// maxObservable is the longest observable value indexed as it is; a
// B-tree entry must fit in a third of a page, and URLs can be longer.
const maxObservable = 1000

// observableKey returns the value the observable index holds for v: v
// itself, or for values too long to index a SHA-256 digest of them,
// computed the same way for lookups.
func observableKey(v string) string {
	v = cleanText(v)
	if len(v) <= maxObservable {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "#sha256:" + hex.EncodeToString(sum[:])
}

// Limits of PostgreSQL's tsvector: a lexeme is at most 2047 bytes, the
// lexemes of one vector at most 1 MiB together, a position at most 16383,
// and a lexeme keeps at most 256 positions.
const (
	maxWord      = 2047
	maxDocument  = 512 << 10
	maxPosition  = 16383
	maxPositions = 256
)

// isWordRune reports whether r belongs to a word, as SQLite's unicode61
// tokenizer decides: letters, numbers and their combining marks; anything
// else separates words.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// eachWord calls fn with each lower-case word of s, as SQLite's unicode61
// tokenizer cuts them (it also folds diacritics, which this does not);
// invalid UTF-8 separates words. fn must not keep w, whose array is
// reused.
func eachWord(s []byte, fn func(w []byte)) {
	var w []byte
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(s[i:])
		}
		i += size
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
				w = append(w, byte(r))
				continue
			}
		} else if r = unicode.ToLower(r); isWordRune(r) {
			w = utf8.AppendRune(w, r)
			continue
		}
		if len(w) > 0 {
			fn(w)
			w = w[:0]
		}
	}
	if len(w) > 0 {
		fn(w)
	}
}

// words returns the words of s as eachWord cuts them.
func words(s string) []string {
	var ws []string
	eachWord([]byte(s), func(w []byte) { ws = append(ws, string(w)) })
	return ws
}

// appendLexeme appends w quoted for the text form of a tsvector or
// tsquery, where nothing inside the quotes is syntax.
func appendLexeme(b, w []byte) []byte {
	b = append(b, '\'')
	for _, c := range w {
		switch c {
		case '\'', '\\':
			b = append(b, c) // doubled: '' and \\ stand for themselves
		}
		b = append(b, c)
	}
	return append(b, '\'')
}

// document returns the text form of the tsvector that indexes raw: its
// words (eachWord) with their positions, for phrases. The store cuts the
// words, not PostgreSQL: its parser would keep URLs, hosts and paths in
// one piece (so "pay*" would not find "http://evil.example/payload.exe"),
// and reading a tsvector's text form costs a fraction of to_tsvector.
// Words too long to index are left out, and a very long event is indexed
// up to its first maxDocument bytes of words.
func document(raw []byte) string {
	type span struct{ start, end, pos int }
	var text []byte // the words, one after the other
	var spans []span
	pos := 0
	eachWord(raw, func(w []byte) {
		if len(w) > maxWord || len(text)+len(w) > maxDocument {
			return
		}
		pos = min(pos+1, maxPosition)
		spans = append(spans, span{len(text), len(text) + len(w), pos})
		text = append(text, w...)
	})
	// Sorted by word, each word's positions in order: PostgreSQL would sort
	// them anyway.
	slices.SortStableFunc(spans, func(a, b span) int {
		return bytes.Compare(text[a.start:a.end], text[b.start:b.end])
	})
	out := make([]byte, 0, len(text)+8*len(spans))
	for i := 0; i < len(spans); {
		word := text[spans[i].start:spans[i].end]
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = appendLexeme(out, word)
		sep, last, n := byte(':'), 0, 0
		for ; i < len(spans) && bytes.Equal(text[spans[i].start:spans[i].end], word); i++ {
			if p := spans[i].pos; p != last && n < maxPositions {
				out = strconv.AppendInt(append(out, sep), int64(p), 10)
				sep, last, n = ',', p, n+1
			}
		}
	}
	return string(out)
}

// tsQuery turns free text into the text form of a tsquery over document's
// lexemes, as SQLite's ftsQuery does for FTS5: every word must occur; a
// word that holds several (such as an address, 203.0.113.5) is a phrase
// of them; a trailing * matches a prefix of the last. The words are cut
// and lower-cased as document cuts them and each is quoted, so tsquery
// syntax in the text (& | ! <-> parentheses) is taken literally; no text
// search configuration touches them on either side, so no word is stemmed
// (PostgreSQL's simple configuration would not stem either, but its
// parser would cut some words otherwise than document does).
// match is false when the text cannot match anything (it has words, but
// none with a letter or digit, as FTS5 finds nothing for "(").
// An empty query with match true imposes no condition.
func tsQuery(text string) (query string, match bool) {
	var parts []string
	asked := false
	for _, word := range strings.Fields(text) {
		prefix := strings.HasSuffix(word, "*")
		word = strings.TrimRight(word, "*")
		if word == "" {
			continue
		}
		asked = true
		ws := words(word)
		if len(ws) == 0 {
			continue
		}
		quoted := make([]string, len(ws))
		for i, w := range ws {
			if len(w) > maxWord {
				return "", false // never indexed
			}
			quoted[i] = string(appendLexeme(nil, []byte(w)))
		}
		if prefix {
			quoted[len(quoted)-1] += ":*"
		}
		parts = append(parts, "("+strings.Join(quoted, " <-> ")+")")
	}
	if len(parts) == 0 {
		return "", !asked
	}
	return strings.Join(parts, " & "), true
}

// where builds the conditions of q on the events table (alias e), with ?
// placeholders for Dialect().Q.
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
		switch tq, match := tsQuery(q.Text); {
		case !match:
			w.Add("FALSE")
		case tq != "":
			w.Add("e.search @@ ?::tsquery", tq)
		}
	}
	if q.Observable != "" {
		o := &sqlstore.Where{}
		o.Scope("o.tenant_id", q.Scope)
		o.Add("o.value = ?::text", observableKey(events.ObservableValue(q.Observable)))
		if !q.Since.IsZero() {
			o.Add("o.time >= ?", sqlstore.Micros(q.Since))
		}
		if !q.Until.IsZero() {
			o.Add("o.time < ?", sqlstore.Micros(q.Until))
		}
		// The whole key, so that each partition answers from its primary key.
		w.Add("(e.tenant_id, e.time, e.seq) IN (SELECT o.tenant_id, o.time, o.seq FROM observables o"+o.String()+")", o.Args...)
	}
	for field, value := range q.Fields {
		if err := events.CheckField(field); err != nil {
			return nil, err
		}
		// ->> gives numbers as their JSON text, as SQLite's CAST of
		// json_extract does; booleans read "true" here and "1" there.
		w.Add("e.fields ->> ?::text = ?::text", field, cleanText(value))
	}
	if q.ParseErrors {
		w.Add("e.parse_error <> ''")
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
	dec := json.NewDecoder(bytes.NewReader(fields))
	dec.UseNumber()
	if err := dec.Decode(&ev.Fields); err != nil {
		return ev, fmt.Errorf("event %s fields: %w", ev.ID, err)
	}
	normalizeValues(ev.Fields)
	return ev, nil
}

// normalizeValues gives decoded fields the types parsers store: whole
// numbers as int64 (exactly, beyond float64's 2^53 too), other numbers as
// float64, and lists of strings as []string.
func normalizeValues(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				m[k] = i
			} else if f, err := x.Float64(); err == nil {
				m[k] = f
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
	d := Dialect()
	var total int
	count, args := "SELECT COUNT(*) FROM events e"+w.String(), w.Args
	if q.CountLimit > 0 {
		// Past the limit the count is a lower bound: count one more than
		// the limit and stop.
		count, args = "SELECT COUNT(*) FROM (SELECT 1 FROM events e"+w.String()+" LIMIT ?) c", append(slices.Clip(w.Args), q.CountLimit+1)
	}
	if err := s.db.QueryRowContext(ctx, d.Q(count), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count events: %w", err)
	}
	out := []tansa.Event{}
	exact := q.CountLimit <= 0 || total <= q.CountLimit
	if q.Limit <= 0 || (exact && q.Offset >= total) {
		return out, total, nil
	}
	rows, err := s.db.QueryContext(ctx, d.Q("SELECT "+eventCols+" FROM events e"+w.String()+" ORDER BY e.time DESC, e.seq DESC LIMIT ? OFFSET ?"),
		append(w.Args, q.Limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("search events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("search events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search events: %w", err)
	}
	return out, total, nil
}

// Event returns event id, found through event_ids and then in the one
// partition that holds it.
func (s *Events) Event(ctx context.Context, id string) (tansa.Event, error) {
	ev, err := scanEvent(s.db.QueryRowContext(ctx, "SELECT "+eventCols+` FROM event_ids i
		JOIN events e ON e.tenant_id = i.tenant_id AND e.time = i.time AND e.seq = i.seq WHERE i.id = $1`, cleanText(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return ev, tansa.Errorf(tansa.NotFound, "event %q not found", id)
	}
	if err != nil {
		return ev, fmt.Errorf("event %s: %w", id, err)
	}
	return ev, nil
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
	d := Dialect()
	lo, hi := sqlstore.Micros(q.Since), sqlstore.Micros(q.Until)
	if q.Since.IsZero() || q.Until.IsZero() {
		var mn, mx sql.NullInt64
		if err := s.db.QueryRowContext(ctx, d.Q("SELECT MIN(e.time), MAX(e.time) FROM events e"+w.String()), w.Args...).Scan(&mn, &mx); err != nil {
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
	rows, err := s.db.QueryContext(ctx, d.Q("SELECT (e.time - ?::bigint) / ?::bigint, COUNT(*) FROM events e"+w.String()+" GROUP BY 1"),
		append([]any{lo, width}, w.Args...)...)
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			return nil, fmt.Errorf("histogram: %w", err)
		}
		if b >= 0 && b < int64(buckets) {
			out[b].Count += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return out, nil
}

// Top returns the n most frequent values of field among matching events,
// ties in byte order of the value as in SQLite.
func (s *Events) Top(ctx context.Context, q events.Query, field string, n int) ([]events.FieldCount, error) {
	if err := events.CheckField(field); err != nil {
		return nil, err
	}
	w, err := where(q)
	if err != nil {
		return nil, err
	}
	var limit any = n
	if n < 0 {
		limit = nil // every value, as SQLite reads a negative LIMIT
	}
	rows, err := s.db.QueryContext(ctx, Dialect().Q("SELECT v, COUNT(*) AS c FROM (SELECT e.fields ->> ?::text AS v FROM events e"+
		w.String()+`) m WHERE v IS NOT NULL GROUP BY v ORDER BY c DESC, v COLLATE "C" LIMIT ?::bigint`), append(append([]any{field}, w.Args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("top %s: %w", field, err)
	}
	defer rows.Close()
	out := []events.FieldCount{}
	for rows.Next() {
		var fc events.FieldCount
		if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
			return nil, fmt.Errorf("top %s: %w", field, err)
		}
		out = append(out, fc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top %s: %w", field, err)
	}
	return out, nil
}

// retentionSlice is about how many events DeleteBefore removes in one
// transaction.
const retentionSlice = 5000

// DeleteBefore removes tenant's events older than t with their observables
// and IDs, oldest first, in transactions of about retentionSlice events
// each (a time window of the tenant's events), so that no transaction
// holds many locks or a long snapshot. It returns how many events it
// removed, those of the slices committed before an error too.
//
// Partitions hold every tenant's events of one day, so retention deletes
// rows. When every tenant's retention has passed a day, dropping (or
// detaching) its two partitions would free the space at once without
// vacuum; that needs the retention of all tenants, which this store does
// not know.
func (s *Events) DeleteBefore(ctx context.Context, tenant string, t time.Time) (int, error) {
	cut := sqlstore.Micros(t)
	total := 0
	for {
		n, err := s.deleteSlice(ctx, tenant, cut)
		total += n
		if err != nil {
			return total, fmt.Errorf("retention of %s: %w", tenant, err)
		}
		if n == 0 {
			return total, nil
		}
	}
}

// deleteSlice removes the oldest window of tenant's events before cut
// that holds about retentionSlice events, and returns how many it removed.
func (s *Events) deleteSlice(ctx context.Context, tenant string, cut int64) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var lo sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MIN(time) FROM events WHERE tenant_id = $1 AND time < $2", tenant, cut).Scan(&lo); err != nil {
		return 0, err
	}
	if !lo.Valid {
		return 0, nil
	}
	hi := cut
	var last int64
	err = tx.QueryRowContext(ctx, "SELECT time FROM events WHERE tenant_id = $1 AND time >= $2 AND time < $3 ORDER BY time OFFSET $4 LIMIT 1",
		tenant, lo.Int64, cut, retentionSlice-1).Scan(&last)
	switch {
	case err == nil:
		hi = min(last+1, cut) // every event of the last microsecond goes too
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, "DELETE FROM events WHERE tenant_id = $1 AND time >= $2 AND time < $3 RETURNING id", tenant, lo.Int64, hi)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// An observable has its event's tenant and time, so the same window
	// holds exactly the removed events' observables.
	if _, err := tx.ExecContext(ctx, "DELETE FROM observables WHERE tenant_id = $1 AND time >= $2 AND time < $3", tenant, lo.Int64, hi); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM event_ids WHERE id = ANY($1::text[])", ids); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return len(ids), nil
}
