package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// Events is the event store in its own SQLite file, so that a busy
// ingest never holds the access tables' single writer.
//
// Events are kept in compressed blocks, one per tenant and Put (split at
// maxBlock events), with three indexes over them: event IDs (for
// idempotent writes and Event), observables (which events of a block
// mention a value) and free text (which blocks hold a word). A search
// picks candidate blocks from the indexes and the blocks' time bounds and
// checks what the indexes cannot decide (time bounds inside a block, words,
// field values, parse errors) on the events themselves. See
// docs/architecture.md, "Event store".
type Events struct {
	w, r *sql.DB
	c    *codec

	mu      sync.Mutex
	tenants map[string]int64 // committed tenant ids; they never change

	fmu      sync.Mutex
	filters  map[int64]*epochFilter // loaded observable filters by epoch
	damaged  map[int64]int64        // generations of filters found damaged, by epoch
	building sync.Mutex             // held while BuildFilters runs
	closed   int64                  // the epochs below it had their filters built
	latest   int64                  // the latest epoch a Put stored a block in
	bg       sync.WaitGroup         // a background filter build
	bgCtx    context.Context        // cancelled by Close
	bgCancel context.CancelFunc
	live     map[int64]*liveFilter // in-memory filters of epochs without a stored one (events_filter.go)
	liveMax  int64                 // the latest epoch live knows of; -1 for none

	ins *sqlstore.Stmts // Put's multi-row INSERTs, kept prepared on w
	dir blockDir        // every block's bounds, in memory (events_dir.go)
	// reads are a search's per-block and per-chunk queries, prepared once
	// on r: a page of 50 events runs about a hundred of them.
	reads struct{ times, raw, data *sql.Stmt }
}

var _ events.Store = (*Events)(nil)

// OpenEvents opens (creating when absent) the event database at path.
// Events are written with synchronous(NORMAL) in WAL mode: a commit
// survives a crash of Tansa (kill -9) at once and a crash of the machine
// once the WAL is checkpointed; the bus keeps every batch until its events
// are stored, which covers the gap. A database written by an earlier
// version (one row per event) is converted when opened.
func OpenEvents(ctx context.Context, path string) (*Events, error) {
	w, r, err := openPools(ctx, path, "NORMAL")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, mustSub(migrations, "events_migrations"), outOfOrder)
	if err == nil {
		_, err = p.Up(ctx)
	}
	if err != nil {
		w.Close()
		r.Close()
		return nil, describe(path, fmt.Errorf("migrate events: %w", err))
	}
	c, err := newCodec()
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	// Multi-row INSERTs keep a statement journal; in memory, not a temp
	// file written with a system call per page.
	if _, err := w.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		w.Close()
		r.Close()
		return nil, describe(path, err)
	}
	s := &Events{w: w, r: r, c: c, tenants: map[string]int64{}, filters: map[int64]*epochFilter{}, damaged: map[int64]int64{}, ins: sqlstore.NewStmts(w, Dialect)}
	s.bgCtx, s.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.dir.load(ctx, w); err != nil {
		s.Close()
		return nil, describe(path, err)
	}
	for _, q := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.reads.times, "SELECT times FROM event_blocks WHERE id = ?"},
		{&s.reads.raw, "SELECT raw FROM event_chunks WHERE id = ?"},
		{&s.reads.data, "SELECT data FROM event_chunks WHERE id = ?"},
	} {
		if *q.st, err = r.PrepareContext(ctx, q.sql); err != nil {
			s.Close()
			return nil, describe(path, err)
		}
	}
	if err := s.openLive(ctx); err != nil {
		s.Close()
		return nil, describe(path, fmt.Errorf("observable filter: %w", err))
	}
	if err := s.convertV1(ctx); err != nil {
		s.Close()
		return nil, describe(path, fmt.Errorf("convert events: %w", err))
	}
	return s, nil
}

// Close stops a background filter build and closes both pools.
func (s *Events) Close() error {
	s.bgCancel()
	s.bg.Wait()
	s.ins.Close()
	for _, st := range []*sql.Stmt{s.reads.times, s.reads.raw, s.reads.data} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// idHash is an event ID's key in event_ids: the 64-bit hash of the ID; or,
// for IDs made of a prefix, a dash and a number below 65536 (the ingest
// workers' batch hash and position), the prefix's hash with the number in
// its low 16 bits, so that a batch's IDs are neighbours in the index and
// storing a batch writes a few pages of it, not one page per event.
func idHash(id string) int64 {
	h := fnv.New64a()
	if i := strings.LastIndexByte(id, '-'); i > 0 && i < len(id)-1 && len(id)-i <= 6 && (id[i+1] != '0' || i == len(id)-2) {
		if n, err := strconv.ParseUint(id[i+1:], 10, 16); err == nil {
			h.Write([]byte(id[:i]))
			return int64(h.Sum64()&^0xffff | n)
		}
	}
	h.Write([]byte(id))
	return int64(h.Sum64())
}

// prefixHash is the key of the addresses of tenant whose text starts with
// p, an ipPrefixes prefix; the \x01 keeps it apart from every value's.
func prefixHash(tenant, p string) int64 { return obsHash(tenant, "\x01"+p) }

// ipPrefixes returns the textual prefixes an address is also indexed
// under, so that intel's hunts for CIDRs (retro.Lookup.Prefixes) are index
// lookups: whole octets of IPv4 ("10.", "10.1.", "10.1.2.") and up to four
// whole groups of IPv6 ("2001:", … "2001:db8:1:2:").
func ipPrefixes(v string) []string {
	sep, most := byte('.'), 3
	if strings.IndexByte(v, ':') >= 0 {
		sep, most = ':', 4
	}
	var out []string
	for i := 0; i < len(v) && len(out) < most; i++ {
		if v[i] == sep {
			if i > 0 && v[i-1] == sep {
				break // "::": the groups after it are not at fixed places
			}
			out = append(out, v[:i+1])
		}
	}
	return out
}

// epochBits groups blocks into epochs in the observable index: its key
// starts with the epoch, so that the rows a Put adds go into the small,
// recent part of the index instead of one random page each; a lookup
// seeks once per epoch.
const epochBits = 6

func epoch(block int64) int64 { return block >> epochBits }

// obsHash is the key of tenant's observable value in event_observables.
func obsHash(tenant, value string) int64 {
	h := fnv.New64a()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return int64(h.Sum64())
}

// encoded is a block ready to insert.
type encoded struct {
	recs       []events.Record
	times      []int64
	tmin, tmax int64
	errs       int
	timesB     []byte
	raws, dats [][]byte // compressed, per chunk
	words      []string // each chunk's full-text document
	hashes     []int64  // obsHash of every observable, record by record
	keys       [][]byte // each chunk's keys (events_keys.go)
}

// chunkID is the event_chunks key (and full-text rowid) of chunk c of a
// block: maxBlock / chunkEvents chunks fit in its low bits.
func chunkID(block int64, c int) int64 { return block<<6 | int64(c) }

// encode builds the stored form of recs (at most maxBlock, one tenant).
func (s *Events) encode(recs []events.Record) *encoded {
	e := &encoded{recs: recs, times: make([]int64, len(recs))}
	raws := make([][]byte, len(recs))
	evs := make([]*tansa.Event, len(recs))
	obs := make([][]normalize.Observable, len(recs))
	for i, r := range recs {
		t := sqlstore.Micros(r.Event.Time)
		e.times[i] = t
		if i == 0 || t < e.tmin {
			e.tmin = t
		}
		if i == 0 || t > e.tmax {
			e.tmax = t
		}
		if r.Event.ParseError != "" {
			e.errs++
		}
		raws[i], evs[i], obs[i] = r.Event.Raw, r.Event, r.Observables
	}
	e.timesB = encodeTimes(e.times)
	sc := s.c.getScratch()
	defer s.c.putScratch(sc)
	e.raws = s.c.encodeChunks(&sc.plain, len(recs), func(buf []byte, lo, hi int) []byte { return encodeRaw(buf, raws[lo:hi]) })
	e.dats = s.c.encodeChunks(&sc.plain, len(recs), func(buf []byte, lo, hi int) []byte { return sc.data.encode(buf, evs[lo:hi], obs[lo:hi]) })
	e.words = make([]string, 0, len(e.raws))
	for lo := 0; lo < len(recs); lo += chunkEvents {
		e.words = append(e.words, sc.words.document(raws[lo:min(lo+chunkEvents, len(recs))]))
	}
	// The observables' index keys, hashed once for both the hunt's keys
	// and the observable index, before the writer is taken.
	e.hashes = obsHashes(recs)
	e.keys = encodeKeys(recs, e.hashes)
	return e
}

// Put stores events and their observables; an event whose ID is stored
// already is skipped with its index entries. The blocks are compressed
// before the writer is taken, so that concurrent Puts compress in parallel
// and hold the single writer only to insert.
func (s *Events) Put(ctx context.Context, recs []events.Record) error {
	var groups [][]events.Record
	byTenant := map[string]int{}
	for _, r := range recs {
		i, ok := byTenant[r.Event.TenantID]
		if !ok {
			i = len(groups)
			byTenant[r.Event.TenantID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	var blocks []*encoded
	for _, g := range groups {
		for lo := 0; lo < len(g); lo += maxBlock {
			blocks = append(blocks, s.encode(g[lo:min(lo+maxBlock, len(g))]))
		}
	}
	return s.write(ctx, blocks)
}

func (s *Events) write(ctx context.Context, blocks []*encoded) error {
	s.ins.PrepareWanted(ctx)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	added := map[string]int64{}
	n := 0
	for _, b := range blocks {
		n += len(b.recs)
	}
	// Sized for every record: a Put of a pipeline's fetch holds
	// thousands, and growing the map step by step rehashed them all.
	inBatch := make(map[int64]string, n)
	var last int64         // the latest block inserted
	var stored []blockInfo // for the block directory, once committed
	for _, b := range blocks {
		tenant := b.recs[0].Event.TenantID
		tid, err := s.tenantID(ctx, tx, tenant, added)
		if err != nil {
			return err
		}
		hs, fresh, err := s.dedupe(ctx, tx, b.recs, inBatch)
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			continue
		}
		if len(fresh) < len(b.recs) {
			// Part of the block was stored by an earlier delivery: encode the rest.
			recs := make([]events.Record, len(fresh))
			keep := make([]int64, len(fresh))
			for i, j := range fresh {
				recs[i], keep[i] = b.recs[j], hs[j]
			}
			b, hs = s.encode(recs), keep
		}
		info, err := s.insertBlock(ctx, tx, tid, tenant, b, hs)
		if err != nil {
			return err
		}
		last = max(last, info.id)
		stored = append(stored, info)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.dir.update(nil, stored)
	// A block in a new epoch closes the ones before it: build their
	// filters.
	s.closeEpochs(last)
	if len(added) > 0 {
		s.mu.Lock()
		for k, v := range added {
			s.tenants[k] = v
		}
		s.mu.Unlock()
	}
	return nil
}

// tenantID returns tenant's small integer, adding it in tx when new.
func (s *Events) tenantID(ctx context.Context, tx *sql.Tx, tenant string, added map[string]int64) (int64, error) {
	s.mu.Lock()
	id, ok := s.tenants[tenant]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	if id, ok := added[tenant]; ok {
		return id, nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO event_tenants (name) VALUES (?)", tenant); err != nil {
		return 0, fmt.Errorf("add tenant: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT id FROM event_tenants WHERE name = ?", tenant).Scan(&id); err != nil {
		return 0, fmt.Errorf("tenant id: %w", err)
	}
	added[tenant] = id
	return id, nil
}

// dedupe finds the records of recs not stored yet and the event_ids key of
// every record: its ID's hash, or the next free value when another ID
// holds it. inBatch holds the keys taken earlier in this transaction.
func (s *Events) dedupe(ctx context.Context, tx *sql.Tx, recs []events.Record, inBatch map[int64]string) (hs []int64, fresh []int, err error) {
	hs = make([]int64, len(recs))
	for i, r := range recs {
		hs[i] = idHash(r.Event.ID)
	}
	stored := map[int64]int64{}
	for lo := 0; lo < len(hs); lo += 500 {
		part := hs[lo:min(lo+500, len(hs))]
		args := make([]any, len(part))
		for i, h := range part {
			args[i] = h
		}
		rows, err := tx.QueryContext(ctx, "SELECT h, ref FROM event_ids WHERE h IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, nil, fmt.Errorf("look up event ids: %w", err)
		}
		for rows.Next() {
			var h, r int64
			if err := rows.Scan(&h, &r); err != nil {
				rows.Close()
				return nil, nil, err
			}
			stored[h] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	ids := map[int64]string{} // stored IDs read back, by key
	for i, r := range recs {
		id := r.Event.ID
		h := hs[i]
		dup := false
		for {
			if other, ok := inBatch[h]; ok {
				if other == id {
					dup = true
					break
				}
				h++
				continue
			}
			ref, ok := stored[h]
			if !ok && h != hs[i] {
				// A probe past the first key: not in the first lookup.
				err := tx.QueryRowContext(ctx, "SELECT ref FROM event_ids WHERE h = ?", h).Scan(&ref)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, nil, err
				}
				ok = err == nil
			}
			if !ok {
				break
			}
			other, seen := ids[h]
			if !seen {
				if other, err = s.storedID(ctx, tx, ref); err != nil {
					return nil, nil, err
				}
				ids[h] = other
			}
			if other == id {
				dup = true
				break
			}
			h++
		}
		if dup {
			continue
		}
		hs[i] = h
		inBatch[h] = id
		fresh = append(fresh, i)
	}
	return hs, fresh, nil
}

// storedID reads the ID of the event at ref.
func (s *Events) storedID(ctx context.Context, q querier, ref int64) (string, error) {
	block, pos := ref>>refBits, int(ref&(1<<refBits-1))
	var dat []byte
	if err := q.QueryRowContext(ctx, "SELECT data FROM event_chunks WHERE id = ?", chunkID(block, pos/chunkEvents)).Scan(&dat); err != nil {
		return "", fmt.Errorf("event block %d: %w", block, err)
	}
	plain, err := s.c.decode(dat)
	if err != nil {
		return "", err
	}
	evs, _, _, err := decodeData(plain, pos%chunkEvents)
	if err != nil || pos%chunkEvents >= len(evs) {
		return "", fmt.Errorf("event block %d: damaged", block)
	}
	return evs[pos%chunkEvents].ID, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// The multi-row INSERTs a Put runs (through s.ins, which keeps them
// prepared: parsing a statement of hundreds of rows costs as much as
// running it).
const (
	insChunks      = "INSERT OR IGNORE INTO event_chunks (id, raw, data) VALUES "
	insText        = "INSERT INTO event_text (rowid, body) VALUES "
	insIDs         = "INSERT OR IGNORE INTO event_ids (h, ref) VALUES "
	insObservables = "INSERT OR IGNORE INTO event_observables (epoch, h, block, pos) VALUES "
)

// insertBlock inserts one encoded block of tenant with its index entries;
// hs are the records' event_ids keys. It returns the block's entry for the
// block directory, which the caller adds once tx has committed.
func (s *Events) insertBlock(ctx context.Context, tx *sql.Tx, tid int64, tenant string, b *encoded, hs []int64) (blockInfo, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO event_blocks (tenant, tmin, tmax, n, errors, times) VALUES (?, ?, ?, ?, ?, ?)",
		tid, b.tmin, b.tmax, len(b.recs), b.errs, b.timesB)
	if err != nil {
		return blockInfo{}, fmt.Errorf("insert event block: %w", err)
	}
	block, err := res.LastInsertId()
	if err != nil {
		return blockInfo{}, err
	}
	info := blockInfo{id: block, tenant: tid, tmin: b.tmin, tmax: b.tmax, n: len(b.recs), errs: b.errs}
	args := make([]any, 0, 3*len(b.raws))
	for c := range b.raws {
		args = append(args, chunkID(block, c), b.raws[c], b.dats[c])
	}
	if err := s.ins.InsertRows(ctx, tx, insChunks, "", 3, args); err != nil {
		return blockInfo{}, fmt.Errorf("insert event chunks: %w", err)
	}
	if err := s.insertKeys(ctx, tx, block, b); err != nil {
		return blockInfo{}, err
	}
	args = args[:0]
	for c, w := range b.words {
		args = append(args, chunkID(block, c), w)
	}
	if err := s.ins.InsertRows(ctx, tx, insText, "", 2, args); err != nil {
		return blockInfo{}, fmt.Errorf("index text: %w", err)
	}
	args = make([]any, 0, 2*len(hs))
	for i, h := range hs {
		args = append(args, h, ref(block, i))
	}
	if err := s.ins.InsertRows(ctx, tx, insIDs, "", 2, args); err != nil {
		return blockInfo{}, fmt.Errorf("index event ids: %w", err)
	}
	sc := s.c.getScratch()
	defer s.c.putScratch(sc)
	rows := &sc.obs
	rows.reset()
	k := 0
	for i, r := range b.recs {
		for _, o := range r.Observables {
			rows.add(i, b.hashes[k])
			k++
			if o.Type == normalize.IP {
				for _, p := range ipPrefixes(o.Value) {
					rows.add(i, prefixHash(tenant, p))
				}
			}
		}
	}
	// In key order, each row goes next to the previous one in the
	// epoch's part of the index: the B-tree pages stay in cache.
	order, pos := rows.rows()
	// Every row shares the epoch and block: box them once, not per row.
	args = slices.Grow(args[:0], 4*len(order))
	ep, bl := any(epoch(block)), any(block)
	for k, h := range order {
		args = append(args, ep, h, bl, pos[k])
	}
	if err := s.ins.InsertRows(ctx, tx, insObservables, "", 4, args); err != nil {
		return blockInfo{}, fmt.Errorf("index observables: %w", err)
	}
	s.liveAdd(epoch(block), order)
	// An epoch with a filter is closed: a block lands in it only when
	// block ids are reused, and then its filter no longer holds every key.
	if _, err := tx.ExecContext(ctx, "DELETE FROM event_filters WHERE epoch = ?", epoch(block)); err != nil {
		return blockInfo{}, fmt.Errorf("index observables: %w", err)
	}
	return info, nil
}

// decodePositions reads an observable row's positions.
func decodePositions(b []byte) []int {
	var out []int
	p := 0
	for len(b) > 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 {
			break
		}
		p += int(d)
		out = append(out, p-1)
		b = b[k:]
	}
	return out
}

// blockInfo is a candidate block of a search.
type blockInfo struct {
	id, tenant, tmin, tmax int64
	n, errs                int
}

// plan is a query resolved against the store: tenants, bounds, the
// indexes' conditions and what must be checked event by event.
type plan struct {
	q         events.Query
	lo, hi    int64 // time bounds in µs; hi exclusive; 0 is unbounded
	tenantIDs []int64
	all       bool
	none      bool
	words     []textWord
	obsHashes []int64
	fields    map[string]string
	chunks    map[int64]bool // for free text: the chunks that hold every word
	full      bool           // decode whole chunks: most of their events are read
}

func (s *Events) tenantNames(ctx context.Context) (map[int64]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name FROM event_tenants")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// resolve turns q into a plan.
func (s *Events) resolve(ctx context.Context, q events.Query, names map[int64]string) (*plan, error) {
	p := &plan{q: q, fields: q.Fields}
	for f := range q.Fields {
		if err := events.CheckField(f); err != nil {
			return nil, err
		}
	}
	if !q.Since.IsZero() {
		p.lo = sqlstore.Micros(q.Since)
	}
	if !q.Until.IsZero() {
		p.hi = sqlstore.Micros(q.Until)
	}
	var inScope []string
	switch sc := q.Scope; {
	case sc.All:
		p.all = true
		for _, n := range names {
			inScope = append(inScope, n)
		}
	default:
		want := map[string]bool{}
		for _, t := range sc.Tenants {
			want[t] = true
		}
		if sc.Provider {
			want[""] = true
		}
		for id, n := range names {
			if want[n] {
				p.tenantIDs = append(p.tenantIDs, id)
				inScope = append(inScope, n)
			}
		}
		p.none = len(p.tenantIDs) == 0
	}
	if q.Text != "" {
		words, ok := parseText(q.Text)
		if !ok {
			p.none = true
		}
		p.words = words
	}
	if q.Observable != "" {
		v := events.ObservableValue(q.Observable)
		for _, t := range inScope {
			p.obsHashes = append(p.obsHashes, obsHash(t, v))
		}
		if len(p.obsHashes) == 0 {
			p.none = true
		}
	}
	return p, nil
}

// candidates lists the blocks that may hold matches, latest first, and
// for an observable search the positions in each block.
func (s *Events) candidates(ctx context.Context, p *plan) ([]blockInfo, map[int64][]int, error) {
	if p.none {
		return nil, nil, nil
	}
	w := &sqlstore.Where{}
	if !p.all {
		w.Add("b.tenant IN ("+placeholders(len(p.tenantIDs))+")", int64sToAny(p.tenantIDs)...)
	}
	if p.lo != 0 {
		w.Add("b.tmax >= ?", p.lo)
	}
	if p.hi != 0 {
		w.Add("b.tmin < ?", p.hi)
	}
	if p.q.ParseErrors {
		w.Add("b.errors > 0")
	}
	// restrict narrows the candidates to the blocks an index names; they
	// are then looked up in the block directory, not in event_blocks.
	var only map[int64]bool
	restrict := func(ids map[int64]bool) {
		if only != nil {
			for b := range only {
				if !ids[b] {
					delete(only, b)
				}
			}
			return
		}
		only = ids
	}
	if len(p.words) > 0 {
		p.chunks = map[int64]bool{}
		rows, err := s.r.QueryContext(ctx, "SELECT rowid FROM event_text WHERE event_text MATCH ?", ftsQuery(p.words))
		if err != nil {
			return nil, nil, fmt.Errorf("text search: %w", err)
		}
		blocks := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, nil, err
			}
			p.chunks[id] = true
			blocks[id>>6] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		if len(blocks) == 0 {
			return nil, nil, nil
		}
		restrict(blocks)
	}
	var positions map[int64][]int
	if len(p.obsHashes) > 0 {
		var err error
		if positions, err = s.observablePositions(ctx, p.obsHashes); err != nil {
			return nil, nil, fmt.Errorf("observable lookup: %w", err)
		}
		if len(positions) == 0 {
			return nil, positions, nil
		}
		ids := make(map[int64]bool, len(positions))
		for b := range positions {
			ids[b] = true
		}
		restrict(ids)
	}
	if only != nil {
		var tenants map[int64]bool
		if !p.all {
			tenants = make(map[int64]bool, len(p.tenantIDs))
			for _, t := range p.tenantIDs {
				tenants[t] = true
			}
		}
		return s.dir.pick(only, func(b blockInfo) bool {
			return (p.all || tenants[b.tenant]) && (p.lo == 0 || b.tmax >= p.lo) && (p.hi == 0 || b.tmin < p.hi) && (!p.q.ParseErrors || b.errs > 0)
		}), positions, nil
	}
	rows, err := s.r.QueryContext(ctx, "SELECT b.id, b.tenant, b.tmin, b.tmax, b.n, b.errors FROM event_blocks b"+w.String()+" ORDER BY b.tmax DESC, b.id DESC", w.Args...)
	if err != nil {
		return nil, nil, fmt.Errorf("search events: %w", err)
	}
	defer rows.Close()
	var out []blockInfo
	for rows.Next() {
		var b blockInfo
		if err := rows.Scan(&b.id, &b.tenant, &b.tmin, &b.tmax, &b.n, &b.errs); err != nil {
			return nil, nil, err
		}
		out = append(out, b)
	}
	return out, positions, rows.Err()
}

func int64sToAny(xs []int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// blockReader reads one block's columns on demand during a search.
type blockReader struct {
	s     *Events
	ctx   context.Context
	b     blockInfo
	full  bool // decode a data chunk's every event at once
	times []int64
	raws  map[int][][]byte
	plain map[int][]byte     // decompressed data chunks
	evs   map[int]*dataChunk // decoded data chunks (full) or single events
}

// dataChunk is a decoded data chunk, or some of its events.
type dataChunk struct {
	evs []tansa.Event
	rcv []int64
	obs [][]normalize.Observable
}

func (s *Events) readBlock(ctx context.Context, b blockInfo, full bool) *blockReader {
	return &blockReader{s: s, ctx: ctx, b: b, full: full, raws: map[int][][]byte{}, plain: map[int][]byte{}, evs: map[int]*dataChunk{}}
}

func (br *blockReader) loadTimes() ([]int64, error) {
	if br.times != nil {
		return br.times, nil
	}
	var tb []byte
	if err := br.s.reads.times.QueryRowContext(br.ctx, br.b.id).Scan(&tb); err != nil {
		return nil, fmt.Errorf("event block %d: %w", br.b.id, err)
	}
	t, err := decodeTimes(tb, br.b.n)
	br.times = t
	return t, err
}

// column reads and decompresses column col (raw or data) of chunk c.
func (br *blockReader) column(col string, c int) ([]byte, error) {
	st := br.s.reads.data
	if col == "raw" {
		st = br.s.reads.raw
	}
	var b []byte
	if err := st.QueryRowContext(br.ctx, chunkID(br.b.id, c)).Scan(&b); err != nil {
		return nil, fmt.Errorf("event block %d chunk %d: %w", br.b.id, c, err)
	}
	return br.s.c.decode(b)
}

func (br *blockReader) rawAt(pos int) ([]byte, error) {
	c := pos / chunkEvents
	if rs, ok := br.raws[c]; ok {
		return rs[pos%chunkEvents], nil
	}
	plain, err := br.column("raw", c)
	if err != nil {
		return nil, err
	}
	rs, err := decodeRaw(plain, min(chunkEvents, br.b.n-c*chunkEvents))
	if err != nil {
		return nil, err
	}
	br.raws[c] = rs
	return rs[pos%chunkEvents], nil
}

// eventAt returns the event at pos without Raw, Time, Received and
// TenantID, its received time relative to its time, and its observables.
func (br *blockReader) eventAt(pos int) (*tansa.Event, int64, []normalize.Observable, error) {
	c, i := pos/chunkEvents, pos%chunkEvents
	d := br.evs[c]
	if d == nil || (!br.full && d.evs[i].Fields == nil) {
		plain, ok := br.plain[c]
		if !ok {
			var err error
			if plain, err = br.column("data", c); err != nil {
				return nil, 0, nil, err
			}
			br.plain[c] = plain
		}
		only := i
		if br.full {
			only = -1
		}
		evs, rcv, obs, err := decodeData(plain, only)
		if err != nil {
			return nil, 0, nil, err
		}
		if i >= len(evs) {
			return nil, 0, nil, fmt.Errorf("event block %d: damaged", br.b.id)
		}
		if d == nil || br.full {
			d = &dataChunk{evs: evs, rcv: rcv, obs: obs}
			br.evs[c] = d
		} else {
			d.evs[i], d.obs[i] = evs[i], obs[i]
		}
	}
	return &d.evs[i], d.rcv[i], d.obs[i], nil
}

// fieldText is a field value as the filters compare it: SQL's text of the
// JSON value (numbers in decimal, true and false as 1 and 0, lists as
// JSON); ok is false for null.
func fieldText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10), true // as JSON stored it
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		if x {
			return "1", true
		}
		return "0", true
	case nil:
		return "", false
	default:
		j, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		return string(j), true
	}
}

// visit calls fn with the time and position of every event of the plan's
// candidate blocks that matches, block by block, latest block first. skip,
// when not nil, may pass over a block before its events are checked; a
// block skipped is not counted. whole, when not nil, is offered a block
// whose n matching events are known without reading it (the block is
// inside the time bounds and only the block's own conditions or the
// observable index decide); when it takes them, fn is not called for them.
func (s *Events) visit(ctx context.Context, p *plan, skip func(b blockInfo) bool, whole func(b blockInfo, n int) bool, fn func(br *blockReader, pos int, t int64) error) error {
	blocks, positions, err := s.candidates(ctx, p)
	if err != nil {
		return err
	}
	m := &matcher{words: p.words}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if skip != nil && skip(b) {
			continue
		}
		inside := (p.lo == 0 || b.tmin >= p.lo) && (p.hi == 0 || b.tmax < p.hi)
		if inside && whole != nil && len(p.words) == 0 && len(p.fields) == 0 && !p.q.ParseErrors {
			n := b.n
			if positions != nil {
				n = 0
				for _, pos := range positions[b.id] {
					if pos < b.n {
						n++
					}
				}
			}
			if whole(b, n) {
				continue
			}
		}
		br := s.readBlock(ctx, b, p.full || len(p.fields) > 0 || p.q.ParseErrors)
		times, err := br.loadTimes()
		if err != nil {
			return err
		}
		check := func(pos int) error {
			if pos >= b.n {
				return nil
			}
			if p.chunks != nil && !p.chunks[chunkID(b.id, pos/chunkEvents)] {
				return nil
			}
			t := times[pos]
			if (p.lo != 0 && t < p.lo) || (p.hi != 0 && t >= p.hi) {
				return nil
			}
			if len(p.words) > 0 {
				raw, err := br.rawAt(pos)
				if err != nil {
					return err
				}
				if !m.match(raw) {
					return nil
				}
			}
			if len(p.fields) > 0 || p.q.ParseErrors {
				ev, _, _, err := br.eventAt(pos)
				if err != nil {
					return err
				}
				if p.q.ParseErrors && ev.ParseError == "" {
					return nil
				}
				for f, want := range p.fields {
					got, ok := fieldText(ev.Fields[f])
					if _, present := ev.Fields[f]; !present || !ok || got != want {
						return nil
					}
				}
			}
			return fn(br, pos, t)
		}
		if positions != nil {
			for _, pos := range positions[b.id] {
				if err := check(pos); err != nil {
					return err
				}
			}
			continue
		}
		for pos := range b.n {
			if err := check(pos); err != nil {
				return err
			}
		}
	}
	return nil
}

// hit is one matching event: its time and its reference.
type hit struct{ t, ref int64 }

func newer(a, b hit) bool { return a.t > b.t || (a.t == b.t && a.ref > b.ref) }

// Search returns matching events, newest first, and their total.
func (s *Events) Search(ctx context.Context, q events.Query) ([]tansa.Event, int, error) {
	names, err := s.tenantNames(ctx)
	if err != nil {
		return nil, 0, err
	}
	p, err := s.resolve(ctx, q, names)
	if err != nil {
		return nil, 0, err
	}
	keep := 0
	if q.Limit > 0 {
		keep = q.Offset + q.Limit
	}
	total := 0
	// top holds the newest hits; after each prune its first keep are sorted
	// and floor is the keep-th, which later hits must beat.
	var top []hit
	var floor *hit
	readers := map[int64]*blockReader{}
	prune := func() {
		slices.SortFunc(top, func(a, b hit) int {
			if newer(a, b) {
				return -1
			}
			if newer(b, a) {
				return 1
			}
			return 0
		})
		if len(top) >= keep {
			top = top[:keep]
			f := top[keep-1]
			floor = &f
		}
	}
	// A block wholly inside the bounds with nothing to check adds its count
	// without being read, unless it may hold one of the newest keep hits.
	whole := func(b blockInfo, n int) bool {
		if keep > 0 {
			if floor == nil && len(top) >= keep {
				prune()
			}
			if floor == nil || b.tmax >= floor.t {
				return false
			}
		}
		total += n
		return true
	}
	// enough tells, before a block is read, that the count has passed
	// q.CountLimit and no block from here on (they come latest first) can
	// change the page: every later block is then skipped.
	done := false
	enough := func(b blockInfo) bool {
		if done || q.CountLimit <= 0 || total <= q.CountLimit {
			return done
		}
		if keep > 0 {
			if len(top) < keep {
				return false
			}
			if floor == nil || len(top) > keep {
				prune()
			}
			if b.tmax >= floor.t {
				return false
			}
		}
		done = true
		return true
	}
	err = s.visit(ctx, p, enough, whole, func(br *blockReader, pos int, t int64) error {
		total++
		if keep == 0 {
			return nil
		}
		h := hit{t, ref(br.b.id, pos)}
		if floor != nil && !newer(h, *floor) {
			return nil
		}
		top = append(top, h)
		readers[br.b.id] = br
		if len(top) >= 2*keep+64 {
			prune()
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	out := []tansa.Event{}
	if keep == 0 || q.Offset >= total {
		return out, total, nil
	}
	prune()
	if q.Offset >= len(top) {
		return out, total, nil
	}
	out, err = s.materializeAll(top[q.Offset:], readers, names)
	return out, total, err
}

// materializeAll builds the events of hits, in their order. Each block's
// hits are built by one goroutine (a blockReader is not shared), on up
// to one per CPU: a page's events mostly lie in different blocks, each a
// chunk to read and decompress.
func (s *Events) materializeAll(hits []hit, readers map[int64]*blockReader, names map[int64]string) ([]tansa.Event, error) {
	out := make([]tansa.Event, len(hits))
	byBlock := map[int64][]int{}
	var blocks []int64
	for i, h := range hits {
		b := h.ref >> refBits
		if byBlock[b] == nil {
			blocks = append(blocks, b)
		}
		byBlock[b] = append(byBlock[b], i)
	}
	build := func(b int64) error {
		for _, i := range byBlock[b] {
			h := hits[i]
			ev, err := s.materialize(readers[b], int(h.ref&(1<<refBits-1)), h.t, names)
			if err != nil {
				return err
			}
			out[i] = ev
		}
		return nil
	}
	if err := eachParallel(len(blocks), func(k int) error { return build(blocks[k]) }); err != nil {
		return nil, err
	}
	return out, nil
}

// eachParallel calls fn(0) … fn(n-1) on up to one goroutine per CPU (at
// most 4) and returns the first error; after an error no new call starts.
// The store's reads are many small SQLite queries and decompressions that
// share nothing, so a search's wall time shrinks with the cores.
func eachParallel(n int, fn func(k int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n, 4)
	if workers <= 1 {
		for k := range n {
			if err := fn(k); err != nil {
				return err
			}
		}
		return nil
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var first error
	next := 0
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				k, stop := next, first != nil
				next++
				mu.Unlock()
				if k >= n || stop {
					return
				}
				if err := fn(k); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// materialize builds the whole event at pos of br.
func (s *Events) materialize(br *blockReader, pos int, t int64, names map[int64]string) (tansa.Event, error) {
	e, rcv, _, err := br.eventAt(pos)
	if err != nil {
		return tansa.Event{}, err
	}
	raw, err := br.rawAt(pos)
	if err != nil {
		return tansa.Event{}, err
	}
	ev := *e
	ev.TenantID = names[br.b.tenant]
	ev.Time = sqlstore.FromMicros(t)
	if rcv != noReceived {
		ev.Received = sqlstore.FromMicros(t + rcv)
	}
	ev.Raw = raw
	return ev, nil
}

// Event returns event id.
func (s *Events) Event(ctx context.Context, id string) (tansa.Event, error) {
	h := idHash(id)
	for {
		var r int64
		err := s.r.QueryRowContext(ctx, "SELECT ref FROM event_ids WHERE h = ?", h).Scan(&r)
		if errors.Is(err, sql.ErrNoRows) {
			return tansa.Event{}, tansa.Errorf(tansa.NotFound, "event %q not found", id)
		}
		if err != nil {
			return tansa.Event{}, err
		}
		var b blockInfo
		b.id = r >> refBits
		if err := s.r.QueryRowContext(ctx, "SELECT tenant, tmin, tmax, n, errors FROM event_blocks WHERE id = ?", b.id).Scan(&b.tenant, &b.tmin, &b.tmax, &b.n, &b.errs); err != nil {
			return tansa.Event{}, fmt.Errorf("event %s: block %d: %w", id, b.id, err)
		}
		br := s.readBlock(ctx, b, false)
		pos := int(r & (1<<refBits - 1))
		e, _, _, err := br.eventAt(pos)
		if err != nil {
			return tansa.Event{}, err
		}
		if e.ID != id {
			h++ // another ID with the same hash; this one was stored further on
			continue
		}
		times, err := br.loadTimes()
		if err != nil {
			return tansa.Event{}, err
		}
		names, err := s.tenantNames(ctx)
		if err != nil {
			return tansa.Event{}, err
		}
		return s.materialize(br, pos, times[pos], names)
	}
}

// Histogram counts matching events in equal buckets between the query's
// bounds (or the matching events' first and last times).
func (s *Events) Histogram(ctx context.Context, q events.Query, buckets int) ([]events.Bucket, error) {
	if buckets < 1 || buckets > 1000 {
		return nil, tansa.Errorf(tansa.Invalid, "buckets: %d must be from 1 to 1000", buckets)
	}
	names, err := s.tenantNames(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.resolve(ctx, q, names)
	if err != nil {
		return nil, err
	}
	lo, hi := p.lo, p.hi
	if q.Since.IsZero() || q.Until.IsZero() {
		var mn, mx int64
		found := false
		err := s.visit(ctx, p, nil, nil, func(_ *blockReader, _ int, t int64) error {
			if !found || t < mn {
				mn = t
			}
			if !found || t > mx {
				mx = t
			}
			found = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("histogram bounds: %w", err)
		}
		if !found {
			return []events.Bucket{}, nil
		}
		if q.Since.IsZero() {
			lo = mn
		}
		if q.Until.IsZero() {
			hi = mx + 1
		}
	}
	width := max((hi-lo+int64(buckets)-1)/int64(buckets), 1)
	out := make([]events.Bucket, buckets)
	for i := range out {
		out[i].Start = sqlstore.FromMicros(lo + int64(i)*width)
	}
	err = s.visit(ctx, p, nil, func(b blockInfo, n int) bool {
		// A block within one bucket adds its count without its times.
		if b.tmin < lo || (b.tmin-lo)/width != (b.tmax-lo)/width || (b.tmin-lo)/width >= int64(buckets) {
			return false
		}
		out[(b.tmin-lo)/width].Count += n
		return true
	}, func(_ *blockReader, _ int, t int64) error {
		if t < lo {
			return nil
		}
		if i := (t - lo) / width; i < int64(buckets) {
			out[i].Count++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return out, nil
}

// Top returns the n most frequent values of field among matching events.
func (s *Events) Top(ctx context.Context, q events.Query, field string, n int) ([]events.FieldCount, error) {
	if err := events.CheckField(field); err != nil {
		return nil, err
	}
	names, err := s.tenantNames(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.resolve(ctx, q, names)
	if err != nil {
		return nil, err
	}
	p.full = true // every matching event's fields are read
	counts := map[string]int{}
	err = s.visit(ctx, p, nil, nil, func(br *blockReader, pos int, _ int64) error {
		ev, _, _, err := br.eventAt(pos)
		if err != nil {
			return err
		}
		if v, ok := fieldText(ev.Fields[field]); ok {
			if _, present := ev.Fields[field]; present {
				counts[v]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("top %s: %w", field, err)
	}
	out := make([]events.FieldCount, 0, len(counts))
	for v, c := range counts {
		out = append(out, events.FieldCount{Value: v, Count: c})
	}
	slices.SortFunc(out, func(a, b events.FieldCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// DeleteBefore removes tenant's events older than t with their index
// entries, a block per transaction so the writer is never held for long. A
// block holding older and newer events is written again without the older
// ones.
func (s *Events) DeleteBefore(ctx context.Context, tenant string, t time.Time) (int, error) {
	cut := sqlstore.Micros(t)
	total := 0
	for {
		var b blockInfo
		err := s.r.QueryRowContext(ctx, `SELECT b.id, b.tenant, b.tmin, b.tmax, b.n, b.errors FROM event_blocks b JOIN event_tenants t ON t.id = b.tenant
			WHERE t.name = ? AND b.tmin < ? ORDER BY b.tmin LIMIT 1`, tenant, cut).Scan(&b.id, &b.tenant, &b.tmin, &b.tmax, &b.n, &b.errs)
		if errors.Is(err, sql.ErrNoRows) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("retention: %w", err)
		}
		n, err := s.rewriteBlock(ctx, b, tenant, cut)
		if err != nil {
			return total, fmt.Errorf("retention: %w", err)
		}
		total += n
	}
}

// rewriteBlock removes block b with its index entries and stores again
// its events at or after cut; it returns how many it removed.
func (s *Events) rewriteBlock(ctx context.Context, b blockInfo, tenant string, cut int64) (int, error) {
	br := s.readBlock(ctx, b, true)
	times, err := br.loadTimes()
	if err != nil {
		return 0, err
	}
	var keep []events.Record
	var hs []any
	obs := map[int64]bool{}
	removed := 0
	for pos := range b.n {
		e, rcv, o, err := br.eventAt(pos)
		if err != nil {
			return 0, err
		}
		for _, x := range o {
			obs[obsHash(tenant, x.Value)] = true
			if x.Type == normalize.IP {
				for _, p := range ipPrefixes(x.Value) {
					obs[prefixHash(tenant, p)] = true
				}
			}
		}
		hs = append(hs, idHash(e.ID))
		if times[pos] < cut {
			removed++
			continue
		}
		raw, err := br.rawAt(pos)
		if err != nil {
			return 0, err
		}
		ev := *e
		ev.TenantID = tenant
		ev.Time = sqlstore.FromMicros(times[pos])
		if rcv != noReceived {
			ev.Received = sqlstore.FromMicros(times[pos] + rcv)
		}
		ev.Raw = slices.Clone(raw)
		keep = append(keep, events.Record{Event: &ev, Observables: o})
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	lo, hi := ref(b.id, 0), ref(b.id+1, 0)
	deleted := int64(0)
	for i := 0; i < len(hs); i += 500 {
		part := hs[i:min(i+500, len(hs))]
		// Clipped: appending the bounds to part itself overwrote the
		// next two keys in hs, whose IDs then stayed in event_ids
		// pointing at the deleted block, and storing the kept events
		// failed on them.
		res, err := tx.ExecContext(ctx, "DELETE FROM event_ids WHERE h IN ("+placeholders(len(part))+") AND ref >= ? AND ref < ?", append(slices.Clip(part), lo, hi)...)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		deleted += n
	}
	// An ID stored past its hash (a collision, rare) is found by probing.
	for i := 0; deleted < int64(len(hs)) && i < len(hs); i++ {
		for h := hs[i].(int64) + 1; ; h++ {
			var r int64
			err := tx.QueryRowContext(ctx, "SELECT ref FROM event_ids WHERE h = ?", h).Scan(&r)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return 0, err
			}
			if r >= lo && r < hi {
				if _, err := tx.ExecContext(ctx, "DELETE FROM event_ids WHERE h = ?", h); err != nil {
					return 0, err
				}
				deleted++
			}
		}
	}
	var ohs []any
	for h := range obs {
		ohs = append(ohs, h)
	}
	for i := 0; i < len(ohs); i += 500 {
		part := ohs[i:min(i+500, len(ohs))]
		if _, err := tx.ExecContext(ctx, "DELETE FROM event_observables WHERE epoch = ? AND block = ? AND h IN ("+placeholders(len(part))+")", append([]any{epoch(b.id), b.id}, part...)...); err != nil {
			return 0, err
		}
	}
	for _, stmt := range []string{"DELETE FROM event_text WHERE rowid >= ? AND rowid < ?", "DELETE FROM event_chunks WHERE id >= ? AND id < ?",
		"DELETE FROM event_keys WHERE id >= ? AND id < ?"} {
		if _, err := tx.ExecContext(ctx, stmt, chunkID(b.id, 0), chunkID(b.id+1, 0)); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM event_blocks WHERE id = ?", b.id); err != nil {
		return 0, err
	}
	var again []blockInfo // the kept events' new block
	if len(keep) > 0 {
		var tid int64
		if err := tx.QueryRowContext(ctx, "SELECT id FROM event_tenants WHERE name = ?", tenant).Scan(&tid); err != nil {
			return 0, err
		}
		enc := s.encode(keep)
		hs, fresh, err := s.dedupe(ctx, tx, keep, map[int64]string{})
		if err != nil {
			return 0, err
		}
		if len(fresh) != len(keep) {
			return 0, fmt.Errorf("event block %d: %d of its events are stored twice", b.id, len(keep)-len(fresh))
		}
		info, err := s.insertBlock(ctx, tx, tid, tenant, enc, hs)
		if err != nil {
			return 0, err
		}
		again = append(again, info)
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	// The old block out and the new one in at once: the new block may
	// have taken the same id.
	s.dir.update([]int64{b.id}, again)
	return removed, nil
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
