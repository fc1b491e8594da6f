package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tansa-sec/tansa/internal/events"
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
// The plain form is the event count, each event's ID, then each event's
// observables (count, then type and value of each), as in the data
// chunk; it is compressed like the chunks.

// insKeys inserts keys rows. REPLACE, not IGNORE: a chunk id is reused
// only after its block was deleted with its keys, but a row left over
// must never describe the new chunk's events.
const insKeys = "INSERT OR REPLACE INTO event_keys (id, keys) VALUES "

// encodeKeys returns the compressed keys of recs, one per chunk of
// chunkEvents.
func (s *Events) encodeKeys(recs []events.Record) [][]byte {
	var plain []byte
	return s.c.encodeChunks(&plain, len(recs), func(buf []byte, lo, hi int) []byte {
		buf = binary.AppendUvarint(buf, uint64(hi-lo))
		for _, r := range recs[lo:hi] {
			buf = appendString(buf, r.Event.ID)
		}
		for _, r := range recs[lo:hi] {
			buf = binary.AppendUvarint(buf, uint64(len(r.Observables)))
			for _, o := range r.Observables {
				buf = appendString(buf, string(o.Type))
				buf = appendString(buf, o.Value)
			}
		}
		return buf
	})
}

// insertKeys stores the keys of block's chunks in tx; keys are b's when
// it has them (Put encodes them before it takes the writer), else encoded
// here.
func (s *Events) insertKeys(ctx context.Context, tx *sql.Tx, block int64, b *encoded) error {
	keys := b.keys
	if keys == nil {
		keys = s.encodeKeys(b.recs)
	}
	args := make([]any, 0, 2*len(keys))
	for c, k := range keys {
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
