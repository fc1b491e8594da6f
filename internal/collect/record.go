// Package collect is stage ① of the pipeline: the inputs. Splunk HEC,
// Elasticsearch _bulk and syslog listeners turn what shippers send into
// Records, group them into batches, and publish each batch to the bus for
// its tenant; they acknowledge the sender only once the bus has persisted
// the batch. Parsing happens later, in the ingest workers, so an input never
// slows down for a hard format and never drops a record it cannot read.
package collect

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Record is one raw record as an input received it.
type Record struct {
	Source   string    // the input and sender: "hec", "bulk", "syslog-tcp:10.0.0.1"
	Hint     string    // a format hint for the parsers ("" detects)
	Host     string    // the host the shipper named, if any
	Time     time.Time // the time the shipper gave, if any
	Received time.Time
	Raw      []byte
}

// batchVersion starts every encoded batch.
const batchVersion = 1

// maxRecord bounds one record in a batch; a larger one is a broken batch.
const maxRecord = 16 << 20

// EncodeBatch encodes records for the bus: a version byte, the count, then
// each record's fields length-prefixed. It is compact and cheap to decode,
// which JSON is not at 100,000 records a second.
func EncodeBatch(recs []Record) []byte {
	n := 16
	for i := range recs {
		n += 48 + len(recs[i].Source) + len(recs[i].Hint) + len(recs[i].Host) + len(recs[i].Raw)
	}
	b := make([]byte, 0, n)
	b = append(b, batchVersion)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		b = appendBytes(b, []byte(r.Source))
		b = appendBytes(b, []byte(r.Hint))
		b = appendBytes(b, []byte(r.Host))
		b = binary.AppendVarint(b, unixNano(r.Time))
		b = binary.AppendVarint(b, unixNano(r.Received))
		b = appendBytes(b, r.Raw)
	}
	return b
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// DecodeBatch decodes a batch made by EncodeBatch. A damaged batch is an
// error naming the record and byte offset where it broke. The records' Raw
// slices alias b.
func DecodeBatch(b []byte) ([]Record, error) {
	if len(b) == 0 || b[0] != batchVersion {
		return nil, fmt.Errorf("batch: unknown version (first byte %v)", first(b))
	}
	d := decoder{b: b, off: 1}
	count := d.uvarint()
	if d.err == nil && count > uint64(len(b)) {
		d.fail("count %d is larger than the batch", count)
	}
	recs := make([]Record, 0, min(count, 1<<16))
	var prev Record
	for i := uint64(0); i < count && d.err == nil; i++ {
		// A batch's records nearly always share their source, hint
		// and host: each is a string only when it differs from the
		// record before (three allocations per record otherwise).
		var r Record
		r.Source = sameOr(prev.Source, d.bytes())
		r.Hint = sameOr(prev.Hint, d.bytes())
		r.Host = sameOr(prev.Host, d.bytes())
		prev = r
		r.Time = fromNano(d.varint())
		r.Received = fromNano(d.varint())
		r.Raw = d.bytes()
		if d.err != nil {
			return nil, fmt.Errorf("batch: record %d: %w", i, d.err)
		}
		recs = append(recs, r)
	}
	if d.err != nil {
		return nil, fmt.Errorf("batch: %w", d.err)
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("batch: %d bytes after the last record at offset %d", len(b)-d.off, d.off)
	}
	return recs, nil
}

// sameOr returns prev when b holds the same bytes, else b as a new string.
func sameOr(prev string, b []byte) string {
	if string(b) == prev {
		return prev
	}
	return string(b)
}

func first(b []byte) any {
	if len(b) == 0 {
		return "none"
	}
	return b[0]
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("at offset %d: "+format, append([]any{d.off}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad length")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad time")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > maxRecord || n > uint64(len(d.b)-d.off) {
		d.fail("field of %d bytes runs past the end", n)
		return nil
	}
	v := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v
}
