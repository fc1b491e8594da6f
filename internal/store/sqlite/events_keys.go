package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/tansa-sec/tansa/internal/events"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
)

// The keys of a data chunk are what a retro-hunt reads of each event the
// observable index names: its ID and its observables, nothing else. They
// are stored twice, in the chunk's data (with every field, behind the raw
// records in the same row) and on their own in event_keys under the
// chunk's id, written with the chunk and removed with it. Reading a hit's
// keys touches one small row; reading its data walked the raw records'
// overflow pages and decoded every field of 128 events, which was a third
// of a 100,000-indicator hunt. Chunks stored before event_keys existed
// have no keys row: the hunt reads their data instead.
//
// Version 1 (hunt5) is zstd of: the event count, each event's ID, then
// each event's observables (count, then type and value of each), as in
// the data chunk. Its rows start with zstd's magic byte (0x28).
//
// Version 2 is not compressed (a hunt decompressed ~9,000 rows of mostly
// hash values, which zstd could not shrink): the byte keysV2, the event
// count n, the IDs' common prefix, each event's ID suffix (a batch's IDs
// share its prefix), each event's time (µs, as a varint difference from
// the previous one, the first from 0: a hunt then needs no block times),
// each event's number of observables, then each observable's
// obsHash(tenant, value), 8 bytes little-endian. A hunt checks the index's
// hash against the named event's own hashes (the same 64-bit key the
// index uses) and reports the value it looked up; when two of the values
// it looks up share a hash it reads the chunk's data and compares values.
// Address prefixes are not in the keys: the rare prefix lookups read data.

// keysV2 is the first byte of a version 2 keys row; a version 1 row is a
// zstd frame, whose first byte is 0x28.
const keysV2 = 2

// insKeys inserts keys rows. REPLACE, not IGNORE: a chunk id is reused
// only after its block was deleted with its keys, but a row left over
// must never describe the new chunk's events.
const insKeys = "INSERT OR REPLACE INTO event_keys (id, keys) VALUES "

// obsHashes returns obsHash of every observable of recs, record by record.
func obsHashes(recs []events.Record) []int64 {
	var out []int64
	for _, r := range recs {
		for _, o := range r.Observables {
			out = append(out, obsHash(r.Event.TenantID, o.Value))
		}
	}
	return out
}

// encodeKeys returns the keys (version 2) of recs, one row per chunk of
// chunkEvents; hashes are obsHashes(recs).
func encodeKeys(recs []events.Record, hashes []int64) [][]byte {
	out := make([][]byte, 0, (len(recs)+chunkEvents-1)/chunkEvents)
	for lo := 0; lo < len(recs); lo += chunkEvents {
		chunk := recs[lo:min(lo+chunkEvents, len(recs))]
		n := 0
		for _, r := range chunk {
			n += len(r.Observables)
		}
		out = append(out, appendKeysV2(nil, chunk, hashes[:n]))
		hashes = hashes[n:]
	}
	return out
}

// appendKeysV2 appends the version 2 keys of recs, one chunk's events, to
// buf; hashes are obsHashes(recs).
func appendKeysV2(buf []byte, recs []events.Record, hashes []int64) []byte {
	prefix := ""
	if len(recs) > 0 {
		prefix = recs[0].Event.ID
		for _, r := range recs[1:] {
			id := r.Event.ID
			n := 0
			for n < len(prefix) && n < len(id) && prefix[n] == id[n] {
				n++
			}
			prefix = prefix[:n]
		}
	}
	buf = slices.Grow(buf, 1+2+len(prefix)+4*len(recs)+3*len(recs)+len(recs)+8*len(hashes))
	buf = append(buf, keysV2)
	buf = binary.AppendUvarint(buf, uint64(len(recs)))
	buf = appendString(buf, prefix)
	for _, r := range recs {
		buf = appendString(buf, r.Event.ID[len(prefix):])
	}
	var prev int64
	for _, r := range recs {
		t := sqlstore.Micros(r.Event.Time)
		buf = binary.AppendVarint(buf, t-prev)
		prev = t
	}
	for _, r := range recs {
		buf = binary.AppendUvarint(buf, uint64(len(r.Observables)))
	}
	for _, h := range hashes {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(h))
	}
	return buf
}

// keyHit is one event of a version 2 keys row that a hunt asked for.
type keyHit struct {
	id     string
	t      int64
	hashes []byte // its observables' hashes, 8 bytes each
}

// scanKeysV2 reads a version 2 keys row (b, with its first byte) and calls
// fn with the ID, time and observable hashes of each event at positions at
// (ascending; k is the index in at). A row that is short, long, or names
// fewer events than at asks for is an error, never a panic.
func scanKeysV2(b []byte, at []int, fn func(k int, h keyHit)) error {
	if len(b) == 0 || b[0] != keysV2 {
		return errors.New("event keys: not version 2")
	}
	r := reader{b: b[1:]}
	n64 := r.uvarint()
	n := int(n64)
	if r.err != nil || n64 > chunkEvents {
		return errors.New("event keys: damaged count")
	}
	if len(at) > 0 && at[len(at)-1] >= n {
		return errors.New("event keys: fewer events than the index says")
	}
	prefix := r.bytes()
	hits := make([]keyHit, len(at))
	k := 0
	for i := range n {
		suf := r.bytes()
		if k < len(at) && at[k] == i {
			hits[k].id = string(prefix) + string(suf)
			k++
		}
	}
	k = 0
	var t int64
	for i := range n {
		t += r.varint()
		if k < len(at) && at[k] == i {
			hits[k].t = t
			k++
		}
	}
	k = 0
	type span struct{ off, n int }
	spans := make([]span, len(at))
	total := 0
	for i := range n {
		c := r.uvarint()
		if r.err != nil || c > uint64(len(r.b)) {
			return errors.New("event keys: damaged observable counts")
		}
		if k < len(at) && at[k] == i {
			spans[k] = span{total, int(c)}
			k++
		}
		total += int(c)
		if 8*total > len(r.b) {
			return errors.New("event keys: damaged observable counts")
		}
	}
	if r.err != nil {
		return fmt.Errorf("event keys: %w", r.err)
	}
	if len(r.b) != 8*total {
		return fmt.Errorf("event keys: %d bytes of hashes for %d observables", len(r.b), total)
	}
	for k, sp := range spans {
		hits[k].hashes = r.b[8*sp.off : 8*(sp.off+sp.n)]
		fn(k, hits[k])
	}
	return nil
}

// insertKeys stores the keys of block's chunks in tx (encoded with the
// block, before the writer is taken).
func (s *Events) insertKeys(ctx context.Context, tx *sql.Tx, block int64, b *encoded) error {
	args := make([]any, 0, 2*len(b.keys))
	for c, k := range b.keys {
		args = append(args, chunkID(block, c), k)
	}
	if err := s.ins.InsertRows(ctx, tx, insKeys, "", 2, args); err != nil {
		return fmt.Errorf("insert event keys: %w", err)
	}
	return nil
}

// scanKeys is scanHits for a keys chunk.
func scanKeys(b []byte, at []int, want map[string]bool, fn func(k int, id, value string)) error {
	r := reader{b: b}
	ids, n, err := hitIDs(&r, at)
	if err != nil {
		return err
	}
	return scanObservables(&r, n, at, ids, want, fn)
}

// hitIDs reads a chunk's event count and IDs (the start of both a data
// and a keys chunk) and returns the IDs of the events at positions at
// (ascending), and the count.
func hitIDs(r *reader, at []int) ([]string, int, error) {
	n64 := r.uvarint()
	n := int(n64)
	if r.err != nil || n64 > chunkEvents {
		return nil, 0, errors.New("damaged chunk")
	}
	if len(at) > 0 && at[len(at)-1] >= n {
		return nil, 0, errors.New("damaged chunk: fewer events than the index says")
	}
	ids := make([]string, len(at))
	k := 0
	for i := range n {
		id := r.bytes()
		if k < len(at) && at[k] == i {
			ids[k] = string(id)
			k++
		}
	}
	return ids, n, r.err
}

// scanObservables reads the n events' observables (the end of both a
// data and a keys chunk) and calls fn for each of the events at positions
// at whose value want holds.
func scanObservables(r *reader, n int, at []int, ids []string, want map[string]bool, fn func(k int, id, value string)) error {
	k := 0
	for i := range n {
		m := r.uvarint()
		if r.err != nil || m > uint64(len(r.b)) {
			break
		}
		hit := k < len(at) && at[k] == i
		for range m {
			r.bytes() // the type
			v := r.bytes()
			if hit && want[string(v)] {
				fn(k, ids[k], string(v))
			}
		}
		if hit {
			k++
		}
	}
	return r.err
}
