package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"slices"
	"time"
)

// An epoch filter is a split-block Bloom filter (as Parquet's) of every
// key of one closed epoch of event_observables: a lookup seeks the index
// only in the epochs whose filter may hold the key. A retro-hunt of
// 100,000 indicators, most of which no event mentions, otherwise seeks
// each of them in every epoch. A filter never answers "absent" for a key
// the epoch's rows hold, so hunts stay exact; a false positive costs one
// seek.
//
// Filters live in event_filters, one row per epoch, written in their own
// transaction from the epoch's index rows once the epoch is closed (a
// block of a later epoch is stored), so a crash leaves an epoch without a
// filter, never with a partial one. Storing a block in an epoch that has a
// filter (block ids reused after every block was deleted) deletes it, and
// removing index rows (retention) leaves a filter that still holds every
// remaining key. A missing filter, or one whose checksum fails, is built
// again; until then its epoch is seeked for every key.

// filterBitsPerKey sizes a filter: with 8 bits set per key in a 256-bit
// block, 16 bits per key gave about 0.1 % false positives, which in a
// hunt of 100,000 values over 38 epochs was ~3,500 seeks for nothing, a
// third of its index seeks, each a cold B-tree page or two; 24 bits per
// key give about a tenth of them for half as much memory again. A filter
// stored with 16 bits per key is still read (its size is its blob's).
const filterBitsPerKey = 24

var filterSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// epochFilter is a split-block Bloom filter: blocks of eight 32-bit words,
// one bit set in each word per key.
type epochFilter struct {
	gen    int64 // the row's generation, to tell a rebuilt filter from the cached one
	blocks [][8]uint32
}

// mix spreads an FNV key's bits over the whole word (splitmix64's
// finaliser), as FNV's high bits alone are weak.
func mix(h int64) uint64 {
	x := uint64(h)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func newEpochFilter(keys int) *epochFilter {
	n := max(1, (keys*filterBitsPerKey+255)/256)
	return &epochFilter{blocks: make([][8]uint32, n)}
}

// block picks x's block from its high bits (x·n / 2⁶⁴); the bits inside
// the block come from its low 32.
func (f *epochFilter) block(x uint64) *[8]uint32 {
	hi, _ := bits.Mul64(x, uint64(len(f.blocks)))
	return &f.blocks[hi]
}

func (f *epochFilter) add(h int64) {
	x := mix(h)
	b, lo := f.block(x), uint32(x)
	for i, s := range filterSalt {
		b[i] |= 1 << ((lo * s) >> 27)
	}
}

// has reports whether the epoch may hold h: false means it does not.
func (f *epochFilter) has(h int64) bool { return f.hasMixed(mix(h)) }

// hasMixed is has for a key already mixed.
func (f *epochFilter) hasMixed(x uint64) bool {
	b, lo := f.block(x), uint32(x)
	for i, s := range filterSalt {
		if b[i]&(1<<((lo*s)>>27)) == 0 {
			return false
		}
	}
	return true
}

func (f *epochFilter) marshal() []byte {
	out := make([]byte, 0, len(f.blocks)*32)
	for _, b := range f.blocks {
		for _, w := range b {
			out = binary.LittleEndian.AppendUint32(out, w)
		}
	}
	return out
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// unmarshalFilter reads a stored filter; it fails when the checksum does
// not match or the size is not whole blocks.
func unmarshalFilter(b []byte, crc int64) (*epochFilter, error) {
	if len(b) == 0 || len(b)%32 != 0 || int64(crc32.Checksum(b, castagnoli)) != crc {
		return nil, errors.New("damaged")
	}
	f := &epochFilter{blocks: make([][8]uint32, len(b)/32)}
	for i := range f.blocks {
		for j := range 8 {
			f.blocks[i][j] = binary.LittleEndian.Uint32(b[i*32+j*4:])
		}
	}
	return f, nil
}

// epochRange returns the epochs of the stored blocks, first and last;
// ok is false when no block is stored.
func (s *Events) epochRange(ctx context.Context, q querier) (lo, hi int64, ok bool, err error) {
	var a, b sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM event_blocks").Scan(&a, &b); err != nil {
		return 0, 0, false, err
	}
	if !a.Valid {
		return 0, 0, false, nil
	}
	return epoch(a.Int64), epoch(b.Int64), true, nil
}

// epochFilters returns the usable filters of the stored epochs, from the
// cache when their generation is unchanged (none when load is false), and
// the closed epochs (all but the last) that have none or, as far as loads
// found, a damaged one.
func (s *Events) epochFilters(ctx context.Context, load bool) (fs map[int64]*epochFilter, missing []int64, err error) {
	lo, hi, ok, err := s.epochRange(ctx, s.r)
	if err != nil || !ok {
		return nil, nil, err
	}
	gens := map[int64]int64{}
	rows, err := s.r.QueryContext(ctx, "SELECT epoch, gen FROM event_filters")
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var e, g int64
		if err := rows.Scan(&e, &g); err != nil {
			rows.Close()
			return nil, nil, err
		}
		gens[e] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for e := range s.filters {
		if gens[e] != s.filters[e].gen {
			delete(s.filters, e)
		}
	}
	fs = make(map[int64]*epochFilter, len(gens))
	for e := lo; e <= hi; e++ {
		g, stored := gens[e]
		if !stored {
			if e < hi {
				missing = append(missing, e)
			}
			continue
		}
		if s.damaged[e] == g {
			missing = append(missing, e)
			continue
		}
		if f := s.filters[e]; f != nil {
			fs[e] = f
			continue
		}
		if !load {
			continue
		}
		var blob []byte
		var crc int64
		err := s.r.QueryRowContext(ctx, "SELECT crc, filter FROM event_filters WHERE epoch = ? AND gen = ?", e, g).Scan(&crc, &blob)
		if errors.Is(err, sql.ErrNoRows) {
			missing = append(missing, e) // rebuilt or dropped meanwhile
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		f, err := unmarshalFilter(blob, crc)
		if err != nil {
			s.damaged[e] = g
			missing = append(missing, e)
			continue
		}
		f.gen = g
		s.filters[e] = f
		fs[e] = f
	}
	return fs, missing, nil
}

// BuildFilters loads the observable filters of the closed epochs and
// builds those that are missing or damaged, each in its own transaction;
// it returns how many it built. A hunt calls it before it searches; it is
// exported for the benchmark, which times it apart from the hunt.
func (s *Events) BuildFilters(ctx context.Context) (int, error) {
	if !s.building.TryLock() {
		return 0, nil // another call is building them
	}
	defer s.building.Unlock()
	return s.buildMissing(ctx, true)
}

// closeEpochs builds, in the background, the filters of the epochs a Put
// closed (last is its latest block), so that the Put, and the ingest
// worker waiting for it, returns as soon as its events are stored. Close
// stops a build and waits for it.
func (s *Events) closeEpochs(last int64) {
	s.fmu.Lock()
	s.latest = max(s.latest, epoch(last))
	closing := s.latest > s.closed
	s.fmu.Unlock()
	if !closing || !s.building.TryLock() {
		return // a running build sees the new epoch when it is done
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.building.Unlock()
		for {
			s.fmu.Lock()
			target, done := s.latest, s.latest <= s.closed
			s.fmu.Unlock()
			if done {
				return
			}
			// The events are stored whatever happens here; a filter
			// not built now is built by a later Put or hunt.
			if _, err := s.buildMissing(s.bgCtx, false); err != nil {
				return
			}
			s.fmu.Lock()
			s.closed = max(s.closed, target)
			s.fmu.Unlock()
		}
	}()
}

// buildMissing builds the missing filters of closed epochs and, when load
// is true, loads the others and rebuilds the damaged ones; the caller holds
// the building lock.
func (s *Events) buildMissing(ctx context.Context, load bool) (int, error) {
	_, missing, err := s.epochFilters(ctx, load)
	if err != nil {
		return 0, fmt.Errorf("observable filters: %w", err)
	}
	n := 0
	for _, e := range missing {
		built, err := s.buildFilter(ctx, e)
		if err != nil {
			return n, fmt.Errorf("observable filter of epoch %d: %w", e, err)
		}
		if built {
			n++
		}
	}
	return n, nil
}

// buildFilter writes epoch e's filter from its index rows, unless the
// epoch is no longer closed or has a sound filter already. The rows are
// read in a read transaction, so that the single writer, which ingest
// waits for, is held only to store the result; the write checks that the
// epoch's blocks are those the read saw (a block stored into it meanwhile,
// after block ids were reused, or removed by retention), else it leaves
// the epoch for the next build.
func (s *Events) buildFilter(ctx context.Context, e int64) (bool, error) {
	rtx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return false, err
	}
	defer rtx.Rollback()
	_, hi, ok, err := s.epochRange(ctx, rtx)
	if err != nil || !ok || e >= hi {
		return false, err
	}
	sig, err := epochSignature(ctx, rtx, e)
	if err != nil {
		return false, err
	}
	keys, err := epochKeys(ctx, rtx, e)
	if err != nil {
		return false, err
	}
	rtx.Rollback()
	f := newEpochFilter(len(keys))
	for _, h := range keys {
		f.add(h)
	}
	b := f.marshal()

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if now, err := epochSignature(ctx, tx, e); err != nil || now != sig {
		return false, err
	}
	var crc int64
	var blob []byte
	err = tx.QueryRowContext(ctx, "SELECT crc, filter FROM event_filters WHERE epoch = ?", e).Scan(&crc, &blob)
	if err == nil {
		if _, bad := unmarshalFilter(blob, crc); bad == nil {
			return false, nil
		}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO event_filters (epoch, gen, keys, crc, filter) VALUES (?, ?, ?, ?, ?)",
		e, time.Now().UnixNano(), len(keys), int64(crc32.Checksum(b, castagnoli)), b); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// epochKeys returns the distinct keys of epoch e's index rows.
func epochKeys(ctx context.Context, q querier, e int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT h FROM event_observables WHERE epoch = ?", e)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []int64
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		// Rows are in (h, block) order: a key's rows are neighbours.
		if len(keys) == 0 || keys[len(keys)-1] != h {
			keys = append(keys, h)
		}
	}
	return keys, rows.Err()
}

// epochSignature sums up epoch e's blocks: any block stored into the
// epoch or removed from it changes it.
func epochSignature(ctx context.Context, q querier, e int64) ([4]int64, error) {
	var sig [4]int64
	err := q.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(n), 0), COALESCE(MAX(tmax), 0) FROM event_blocks WHERE id >= ? AND id < ?",
		e<<epochBits, (e+1)<<epochBits).Scan(&sig[0], &sig[1], &sig[2], &sig[3])
	return sig, err
}

// A live filter is the in-memory filter of an epoch that has no stored
// one: the open epoch, which Put is still filling, and a just-closed one
// until its stored filter is built. Without it a hunt seeks the open
// epoch's index rows for every value it looks up, which was most of the
// index work of a 100,000-indicator hunt. Put adds each block's keys as
// it stores them (before the commit, so a reader never sees rows the
// filter lacks; a rolled-back block only leaves false positives), and
// OpenEvents builds the latest epoch's from its rows before anything can
// be stored. Only an epoch that was empty when its live filter began (a
// new latest epoch, or the one read whole at open) gets one, so a live
// filter always holds every key of its epoch; an older epoch that loses
// its stored filter (block ids reused) is seeked for every key.
type liveFilter struct {
	parts []*epochFilter
	room  int // keys the last part takes before a larger one is added
}

// liveKeys is the keys a live filter's first part is sized for; each
// next part is twice the last, up to liveMaxKeys. An epoch of 64 blocks of
// 4,096 proxy events adds about 2M keys (each block's distinct ones).
const (
	liveKeys    = 1 << 20
	liveMaxKeys = 1 << 23
)

func (l *liveFilter) add(hs []int64) {
	for _, h := range hs {
		if l.room == 0 {
			n := liveKeys
			if k := len(l.parts); k > 0 {
				n = min(liveMaxKeys, 2*len(l.parts[k-1].blocks)*256/filterBitsPerKey)
			}
			l.parts = append(l.parts, newEpochFilter(n))
			l.room = n
		}
		l.parts[len(l.parts)-1].add(h)
		l.room--
	}
}

func (l *liveFilter) has(h int64) bool { return l.hasMixed(mix(h)) }

func (l *liveFilter) hasMixed(x uint64) bool {
	for _, p := range l.parts {
		if p.hasMixed(x) {
			return true
		}
	}
	return false
}

// openLive builds the live filter of the latest stored epoch, unless it
// has a stored one, from its index rows; it runs in OpenEvents, before a
// Put can add to the epoch.
func (s *Events) openLive(ctx context.Context) error {
	s.live, s.liveMax = map[int64]*liveFilter{}, -1
	_, hi, ok, err := s.epochRange(ctx, s.r)
	if err != nil || !ok {
		return err
	}
	s.liveMax = hi
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM event_filters WHERE epoch = ?", hi).Scan(&n); err != nil || n > 0 {
		return err
	}
	keys, err := epochKeys(ctx, s.r, hi)
	if err != nil {
		return err
	}
	f := &liveFilter{}
	f.add(keys)
	s.live[hi] = f
	return nil
}

// liveAdd adds the keys of a block being stored in epoch e to e's live
// filter; a later epoch than any stored starts one.
func (s *Events) liveAdd(e int64, hs []int64) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if e > s.liveMax {
		s.liveMax = e
		s.live[e] = &liveFilter{}
	}
	if f := s.live[e]; f != nil {
		f.add(hs)
	}
}

// keyFilter is a stored or a live filter.
type keyFilter interface{ hasMixed(x uint64) bool }

// observablePositions looks up the index rows of hashes in every stored
// epoch, skipping the epochs whose filter (stored, or live for the open
// epoch) rules a hash out, and returns the positions they name per block,
// sorted and each once. Each epoch gets one query per 500 hashes that pass
// its filter.
func (s *Events) observablePositions(ctx context.Context, hashes []int64) (map[int64][]int, error) {
	positions := map[int64][]int{}
	lo, hi, ok, err := s.epochRange(ctx, s.r)
	if err != nil || !ok {
		return positions, err
	}
	fs, _, err := s.epochFilters(ctx, true)
	if err != nil {
		return nil, err
	}
	// A job is the lookup of hs in epochs. The jobs run on up to one
	// reader per CPU at once (their blocks never overlap: a block lies in
	// one epoch), so a lookup across many epochs takes the wall time of
	// its share on each core.
	type job struct {
		epochs, hs []int64
		f          keyFilter // when set, hs are those of ms it may hold
		live       bool      // f is a live filter, which Put adds to under fmu
	}
	var jobs []job
	// run adds to positions the rows of hs in epochs.
	run := func(positions map[int64][]int, epochs, hs []int64) error {
		for start := 0; start < len(hs); start += 500 {
			part := hs[start:min(start+500, len(hs))]
			rows, err := s.r.QueryContext(ctx, "SELECT block, pos FROM event_observables WHERE epoch IN ("+placeholders(len(epochs))+") AND h IN ("+placeholders(len(part))+")",
				append(int64sToAny(epochs), int64sToAny(part)...)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var b int64
				var pos []byte
				if err := rows.Scan(&b, &pos); err != nil {
					rows.Close()
					return err
				}
				positions[b] = append(positions[b], decodePositions(pos)...)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	// Each hash is mixed once, and the hashes are probed in the order of
	// their mixed value: a filter's block is picked by the mixed value's
	// high bits, so every epoch's filter is then walked from start to end
	// instead of at random, one memory latency per probe.
	type mixed struct {
		x uint64
		h int64
	}
	ms := make([]mixed, len(hashes))
	for i, h := range hashes {
		ms[i] = mixed{mix(h), h}
	}
	slices.SortFunc(ms, func(a, b mixed) int { return cmp.Compare(a.x, b.x) })
	var open []int64 // epochs without a filter: every hash is seeked
	for e := lo; e <= hi; e++ {
		s.fmu.Lock()
		if sf := fs[e]; sf != nil {
			delete(s.live, e) // the stored filter holds every key now
			jobs = append(jobs, job{epochs: []int64{e}, f: sf})
		} else if lf := s.live[e]; lf != nil {
			jobs = append(jobs, job{epochs: []int64{e}, f: lf, live: true})
		} else {
			open = append(open, e)
		}
		s.fmu.Unlock()
	}
	if len(open) > 0 {
		jobs = append(jobs, job{epochs: open, hs: hashes})
	}
	// Each job probes its epoch's filter itself, so that the probes too
	// run on every CPU: a stored filter is never changed once loaded, a
	// live one only under fmu.
	found := make([]map[int64][]int, len(jobs))
	if err := eachParallel(len(jobs), func(k int) error {
		found[k] = map[int64][]int{}
		j := jobs[k]
		if j.f != nil {
			if j.live {
				s.fmu.Lock()
			}
			for _, m := range ms {
				if j.f.hasMixed(m.x) {
					j.hs = append(j.hs, m.h)
				}
			}
			if j.live {
				s.fmu.Unlock()
			}
		}
		return run(found[k], j.epochs, j.hs)
	}); err != nil {
		return nil, err
	}
	for _, m := range found {
		for b, ps := range m {
			positions[b] = append(positions[b], ps...)
		}
	}
	for b, ps := range positions {
		slices.Sort(ps)
		positions[b] = slices.Compact(ps)
	}
	return positions, nil
}
