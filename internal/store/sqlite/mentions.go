package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
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
	// Values are looked up in large batches: each epoch's filter is probed
	// for every value and its index seeked only for those that pass, then
	// each block and data chunk the answers name is read once per batch.
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
const mentionBatch = 100000

// mentionsOf looks up several values at once: the index rows of all their
// hashes, then each named event's ID, time and own observables' hashes,
// which say which of the values it holds. It returns at most max mentions
// per value, newest first.
//
// It reads less than a search does: one query per 500 candidate blocks for
// their bounds (not their times), then the keys (version 2) of the chunks
// that hold a hit, each once, 64 to a query, the queries on up to one
// reader per CPU side by side; nothing is decompressed. Chunks whose keys
// cannot answer (older stores, a hash two values share) are read as
// before: their blocks' times, then their version 1 keys or their data.
//
// The chunks are read after the blocks, not in the same snapshot: a block
// that retention deleted in between is skipped (its events are gone), and
// the chunk query checks the tenant again, so a block id that another
// tenant's new block took in between reports nothing; nor does one that
// the same tenant's rewritten block took (its count or first time differ
// from those the positions were taken with).
func (s *Events) mentionsOf(ctx context.Context, tid int64, tenant string, values []string, since int64, max int) ([]retro.Mention, error) {
	want := make(map[string]bool, len(values))
	byHash := make(map[int64][]string, len(values)) // two values may share a hash
	var hashes []int64
	for _, v := range values {
		if !want[v] {
			want[v] = true
			h := obsHash(tenant, v)
			if byHash[h] == nil {
				hashes = append(hashes, h)
			}
			byHash[h] = append(byHash[h], v)
		}
	}
	return s.mentionsOfHashes(ctx, tid, values, want, byHash, hashes, since, max)
}

// mentionsOfHashes is mentionsOf once the values' hashes are known:
// byHash holds the values of each hash, hashes each hash once.
func (s *Events) mentionsOfHashes(ctx context.Context, tid int64, values []string, want map[string]bool, byHash map[int64][]string, hashes []int64, since int64, max int) ([]retro.Mention, error) {
	positions, err := s.observablePositions(ctx, hashes)
	if err != nil {
		return nil, fmt.Errorf("mentions of %d values: observable lookup: %w", len(values), err)
	}
	// First the blocks' bounds only (tenant, last time, size), then the
	// hit chunks' keys, which hold the events' times (version 2): the
	// blocks' times are read only for the chunks whose keys are older or
	// missing, or name a hash two of the values share.
	reads, err := s.huntReads(ctx, tid, since, positions, false)
	if err != nil {
		return nil, fmt.Errorf("mentions of %d values: %w", len(values), err)
	}
	// The chunks' keys are read a group at a time, each group with one
	// query, on up to one reader per CPU.
	groups := (len(reads) + huntChunkGroup - 1) / huntChunkGroup
	found := make([][]retro.Mention, groups)
	rest := make([][]chunkRead, groups)
	if err := eachParallel(groups, func(k int) error {
		var err error
		found[k], rest[k], err = s.readKeys(ctx, tid, reads[k*huntChunkGroup:min((k+1)*huntChunkGroup, len(reads))], byHash, since)
		return err
	}); err != nil {
		return nil, fmt.Errorf("mentions of %d values: %w", len(values), err)
	}
	// The rest are read as before version 2: their blocks' times, then
	// their version 1 keys, or their data, whose values are compared.
	older := map[int64][]int{}
	for _, rs := range rest {
		for _, r := range rs {
			b, c := r.id>>6, int(r.id&63)
			for _, at := range r.at {
				older[b] = append(older[b], c*chunkEvents+at)
			}
		}
	}
	if len(older) > 0 {
		reads, err := s.huntReads(ctx, tid, since, older, true)
		if err != nil {
			return nil, fmt.Errorf("mentions of %d values: %w", len(values), err)
		}
		groups := (len(reads) + huntChunkGroup - 1) / huntChunkGroup
		more := make([][]retro.Mention, groups)
		if err := eachParallel(groups, func(k int) error {
			var err error
			more[k], err = s.readHits(ctx, tid, reads[k*huntChunkGroup:min((k+1)*huntChunkGroup, len(reads))], want)
			return err
		}); err != nil {
			return nil, fmt.Errorf("mentions of %d values: %w", len(values), err)
		}
		found = append(found, more...)
	}
	byValue := map[string][]retro.Mention{}
	for _, ms := range found {
		for _, m := range ms {
			byValue[m.Value] = append(byValue[m.Value], m)
		}
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

// huntReads returns the data chunks of tenant tid's blocks that hold a
// position of positions, their blocks read 500 to a query, the queries on
// up to one reader per CPU. With times, each block's times are read too
// (a few pages each) and only the positions at or after since are kept;
// without, every position is, and the chunks' keys say their times.
func (s *Events) huntReads(ctx context.Context, tid, since int64, positions map[int64][]int, times bool) ([]chunkRead, error) {
	ids := make([]int64, 0, len(positions))
	for b, ps := range positions {
		slices.Sort(ps)
		positions[b] = slices.Compact(ps)
		ids = append(ids, b)
	}
	slices.Sort(ids)
	parts := make([][]chunkRead, (len(ids)+499)/500)
	if err := eachParallel(len(parts), func(k int) error {
		var err error
		parts[k], err = s.huntBlocks(ctx, tid, since, ids[k*500:min((k+1)*500, len(ids))], positions, times, nil)
		return err
	}); err != nil {
		return nil, err
	}
	var reads []chunkRead
	for _, p := range parts {
		reads = append(reads, p...)
	}
	return reads, nil
}

// readKeys reads the version 2 keys of the chunks of reads (tenant tid's
// only) and returns a mention of each looked-up value whose hash (byHash)
// a named event at or after since holds, and the chunks it could not
// answer for: those without a keys row or with a version 1 row, and those
// where a named event holds a hash that two looked-up values share.
func (s *Events) readKeys(ctx context.Context, tid int64, reads []chunkRead, byHash map[int64][]string, since int64) ([]retro.Mention, []chunkRead, error) {
	byID := make(map[int64]*chunkRead, len(reads))
	ids := make([]int64, len(reads))
	for i := range reads {
		byID[reads[i].id] = &reads[i]
		ids[i] = reads[i].id
	}
	rows, err := s.r.QueryContext(ctx, "SELECT c.id, c.keys, b.n, b.tmin FROM event_keys c JOIN event_blocks b ON b.id = (c.id >> 6) WHERE b.tenant = ? AND c.id IN ("+placeholders(len(ids))+")",
		append([]any{tid}, int64sToAny(ids)...)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []retro.Mention
	var rest []chunkRead
	for rows.Next() {
		var id, n, tmin int64
		var key sql.RawBytes
		if err := rows.Scan(&id, &key, &n, &tmin); err != nil {
			return nil, nil, err
		}
		r := byID[id]
		if r != nil && r.changed(n, tmin) {
			delete(byID, id) // rewritten by retention since: its hits are gone
			continue
		}
		if r == nil || len(key) == 0 || key[0] != keysV2 {
			continue // version 1: read with the rest
		}
		delete(byID, id)
		mark, shared := len(out), false
		err := scanKeysV2(key, r.at, func(k int, h keyHit) {
			if h.t < since {
				return
			}
			for j := 0; j+8 <= len(h.hashes); j += 8 {
				switch vs := byHash[int64(binary.LittleEndian.Uint64(h.hashes[j:]))]; len(vs) {
				case 0:
				case 1:
					out = append(out, retro.Mention{Value: vs[0], Ref: h.id, Time: sqlstore.FromMicros(h.t)})
				default:
					shared = true
				}
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("event block %d chunk %d: %w", id>>6, id&63, err)
		}
		if shared {
			out = out[:mark]
			rest = append(rest, *r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for i := range reads {
		if byID[reads[i].id] != nil {
			rest = append(rest, reads[i])
		}
	}
	return out, rest, nil
}

// huntChunkGroup is how many data chunks one query of a hunt reads.
const huntChunkGroup = 64

// chunkRead is one data chunk a hunt reads: the positions in it of the
// events the index named (ascending) and their times.
type chunkRead struct {
	id    int64
	at    []int
	times []int64
	// n and tmin are the block's when the positions were taken: retention
	// may rewrite the block under the same id (the latest block's id is
	// free again once it is deleted) before its chunks are read, and then
	// the positions no longer name the same events.
	n, tmin int64
}

// changed reports whether the block of r now holds other events than when
// r's positions were taken (see chunkRead).
func (r *chunkRead) changed(n, tmin int64) bool { return n != r.n || tmin != r.tmin }

// huntBlocks adds to reads the data chunks of blocks ids (tenant tid's
// only: the query keeps to the tenant's blocks whatever the index said)
// that hold a hit at or after since.
func (s *Events) huntBlocks(ctx context.Context, tid, since int64, ids []int64, positions map[int64][]int, times bool, reads []chunkRead) ([]chunkRead, error) {
	cols := "id, n, tmin, x''"
	if times {
		cols = "id, n, tmin, times"
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+cols+" FROM event_blocks WHERE tenant = ? AND tmax >= ? AND id IN ("+placeholders(len(ids))+")",
		append([]any{tid, since}, int64sToAny(ids)...)...)
	if err != nil {
		return reads, err
	}
	defer rows.Close()
	var ts []int64 // a block's times up to its last hit, reused
	for rows.Next() {
		var id, tmin int64
		var n int
		var tb sql.RawBytes
		if err := rows.Scan(&id, &n, &tmin, &tb); err != nil {
			return reads, err
		}
		ps := positions[id] // ascending; any at or past n are stale
		for len(ps) > 0 && ps[len(ps)-1] >= n {
			ps = ps[:len(ps)-1]
		}
		if len(ps) == 0 {
			continue
		}
		if !times {
			for _, pos := range ps {
				c := chunkID(id, pos/chunkEvents)
				if len(reads) == 0 || reads[len(reads)-1].id != c {
					reads = append(reads, chunkRead{id: c, n: int64(n), tmin: tmin})
				}
				r := &reads[len(reads)-1]
				r.at = append(r.at, pos%chunkEvents)
			}
			continue
		}
		if ts, err = appendTimes(ts[:0], tb, ps[len(ps)-1]+1); err != nil {
			return reads, fmt.Errorf("event block %d: %w", id, err)
		}
		for _, pos := range ps {
			t := ts[pos]
			if t < since {
				continue
			}
			c := chunkID(id, pos/chunkEvents)
			if len(reads) == 0 || reads[len(reads)-1].id != c {
				reads = append(reads, chunkRead{id: c, n: int64(n), tmin: tmin})
			}
			r := &reads[len(reads)-1]
			r.at = append(r.at, pos%chunkEvents)
			r.times = append(r.times, t)
		}
	}
	return reads, rows.Err()
}

// readHits reads the chunks of reads and returns a mention of each wanted
// value held by an event the index named: their version 1 keys
// (event_keys) with one query, then the data of the others (stored before
// keys were, or whose version 2 keys hold only hashes) with another.
// Only chunks of tenant tid's blocks are read: a chunk missing, whose
// block id now belongs to another tenant, or whose block holds other
// events than when it was read (chunkRead.changed), was deleted or
// rewritten by retention since and is skipped.
func (s *Events) readHits(ctx context.Context, tid int64, reads []chunkRead, want map[string]bool) ([]retro.Mention, error) {
	byID := make(map[int64]*chunkRead, len(reads))
	ids := make([]int64, len(reads))
	for i := range reads {
		byID[reads[i].id] = &reads[i]
		ids[i] = reads[i].id
	}
	var out []retro.Mention
	var plain []byte // a chunk's decoded keys or data, reused
	read := func(q string, ids []int64, scan func(b []byte, at []int, want map[string]bool, fn func(k int, id, value string)) error) error {
		rows, err := s.r.QueryContext(ctx, q+" WHERE b.tenant = ? AND c.id IN ("+placeholders(len(ids))+")",
			append([]any{tid}, int64sToAny(ids)...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, n, tmin int64
			var dat sql.RawBytes
			if err := rows.Scan(&id, &dat, &n, &tmin); err != nil {
				return err
			}
			r := byID[id]
			if r != nil && r.changed(n, tmin) {
				delete(byID, id) // rewritten by retention since: its hits are gone
				continue
			}
			if r == nil || (len(dat) > 0 && dat[0] == keysV2) {
				continue // a version 2 row here shares a hash between two values: read the data
			}
			delete(byID, id)
			if plain, err = s.c.decodeTo(plain[:0], dat); err != nil {
				return fmt.Errorf("event block %d chunk %d: %w", id>>6, id&63, err)
			}
			err = scan(plain, r.at, want, func(k int, ref, value string) {
				out = append(out, retro.Mention{Value: value, Ref: ref, Time: sqlstore.FromMicros(r.times[k])})
			})
			if err != nil {
				return fmt.Errorf("event block %d chunk %d: %w", id>>6, id&63, err)
			}
		}
		return rows.Err()
	}
	if err := read("SELECT c.id, c.keys, b.n, b.tmin FROM event_keys c JOIN event_blocks b ON b.id = (c.id >> 6)", ids, scanKeys); err != nil {
		return nil, err
	}
	if len(byID) == 0 {
		return out, nil
	}
	ids = ids[:0]
	for i := range reads {
		if byID[reads[i].id] != nil {
			ids = append(ids, reads[i].id)
		}
	}
	if err := read("SELECT c.id, c.data, b.n, b.tmin FROM event_chunks c JOIN event_blocks b ON b.id = (c.id >> 6)", ids, scanHits); err != nil {
		return nil, err
	}
	return out, nil
}

// scanHits walks a data chunk (see decodeData) and calls fn with the ID
// of each event at positions at (ascending; k is the index in at) and each
// of its observable values that want holds. It builds nothing for the
// other events and allocates only the strings it passes on.
func scanHits(b []byte, at []int, want map[string]bool, fn func(k int, id, value string)) error {
	r := reader{b: b}
	ids, n, err := hitIDs(&r, at)
	if err != nil {
		return err
	}
	for range n { // received times
		r.varint()
		r.byte()
	}
	for range 3 * n { // sources, formats, parse errors
		r.bytes()
	}
	nkeys := r.uvarint()
	for range nkeys {
		if r.err != nil {
			break
		}
		r.bytes()
		for range n {
			if tag := r.byte(); tag != tagAbsent {
				r.skip(tag)
			}
		}
	}
	return scanObservables(&r, n, at, ids, want, fn)
}
