package sqlite

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/tansa-sec/tansa/internal/normalize"
	"github.com/tansa-sec/tansa/internal/store/sqlstore"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// A block is the stored form of up to maxBlock events of one tenant that
// were written together. Events are kept column by column in chunks of
// chunkEvents, each chunk compressed on its own with zstd, so that reading
// one event decompresses one chunk, and repeated columns (a vendor field and
// its ECS copy, the syslog header fields, the field names) cost almost
// nothing once compressed. A chunk is a row of its own (event_chunks) with
// two compressed columns: raw (the records as received, all a free-text
// check needs) and data (everything else). Times are a small uncompressed
// column of the block's row, so that counts and histograms over a time
// range never decompress anything.
const (
	maxBlock    = 8192
	chunkEvents = 128
)

// refBits is how many low bits of an event's reference (its seq) hold its
// position in the block; the rest is the block's id.
const refBits = 16

func ref(block int64, pos int) int64 { return block<<refBits | int64(pos) }

// codec compresses and decompresses chunks; both zstd halves are safe for
// concurrent use through EncodeAll and DecodeAll.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	// scratch holds *encodeScratch: the buffers an encode reuses, kept
	// from one Put to the next so that a busy ingest allocates them once.
	scratch sync.Pool
}

// encodeScratch is the reusable working space of encoding one block.
type encodeScratch struct {
	plain []byte // a chunk's plain bytes before compression
	data  dataEncoder
	words chunkWords
	obs   obsRows
}

// obsRows gathers a block's event_observables rows: for each key, the
// positions of the events that mention it, as uvarint differences (plus
// one) from the previous. Positions are kept as linked lists in one slice
// and written out at the end, so that a block's tens of thousands of keys
// cost no allocation each.
type obsRows struct {
	index map[int64]int32 // a key's place in keys
	keys  []obsKey
	nodes []obsNode
	order []int64
	buf   []byte
	pos   [][]byte
}

type obsKey struct {
	h           int64
	first, last int32 // the key's first and last node
	at          int   // the last position added plus one
}

type obsNode struct{ pos, next int32 }

func (o *obsRows) reset() {
	if o.index == nil {
		o.index = map[int64]int32{}
	}
	clear(o.index)
	o.keys, o.nodes = o.keys[:0], o.nodes[:0]
}

// add notes that the event at position i mentions key h.
func (o *obsRows) add(i int, h int64) {
	k, ok := o.index[h]
	if ok && o.keys[k].at == i+1 {
		return // two observables of one event with the same hash
	}
	n := int32(len(o.nodes))
	o.nodes = append(o.nodes, obsNode{pos: int32(i), next: -1})
	if !ok {
		o.index[h] = int32(len(o.keys))
		o.keys = append(o.keys, obsKey{h: h, first: n, last: n, at: i + 1})
		return
	}
	key := &o.keys[k]
	o.nodes[key.last].next = n
	key.last, key.at = n, i+1
}

// rows returns the keys in order and each one's positions column; both
// are valid until the next reset.
func (o *obsRows) rows() ([]int64, [][]byte) {
	slices.SortFunc(o.keys, func(a, b obsKey) int { return cmp.Compare(a.h, b.h) })
	o.order, o.buf, o.pos = o.order[:0], o.buf[:0], o.pos[:0]
	ends := make([]int, 0, len(o.keys))
	for _, key := range o.keys {
		o.order = append(o.order, key.h)
		prev := 0
		for n := key.first; n >= 0; n = o.nodes[n].next {
			p := int(o.nodes[n].pos) + 1
			o.buf = binary.AppendUvarint(o.buf, uint64(p-prev))
			prev = p
		}
		ends = append(ends, len(o.buf))
	}
	start := 0
	for _, end := range ends {
		o.pos = append(o.pos, o.buf[start:end:end])
		start = end
	}
	return o.order, o.pos
}

// getScratch returns working space for one encode; putScratch gives it
// back.
func (c *codec) getScratch() *encodeScratch {
	if sc, ok := c.scratch.Get().(*encodeScratch); ok {
		return sc
	}
	return &encodeScratch{}
}

func (c *codec) putScratch(sc *encodeScratch) {
	sc.words.trim()
	c.scratch.Put(sc)
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	return &codec{enc: enc, dec: dec}, nil
}

// encodeTimes writes the times as zig-zag varint differences from the
// previous one.
func encodeTimes(times []int64) []byte {
	b := make([]byte, 0, len(times)*3)
	var prev int64
	for _, t := range times {
		b = binary.AppendVarint(b, t-prev)
		prev = t
	}
	return b
}

func decodeTimes(b []byte, n int) ([]int64, error) { return appendTimes(make([]int64, 0, n), b, n) }

// appendTimes appends the first n times of b, a block's times column, to
// out.
func appendTimes(out []int64, b []byte, n int) ([]int64, error) {
	n += len(out)
	var prev int64
	for len(out) < n {
		d, k := binary.Varint(b)
		if k <= 0 {
			return nil, errors.New("event block: damaged times")
		}
		prev += d
		out = append(out, prev)
		b = b[k:]
	}
	return out, nil
}

// encodeChunks compresses the events in chunks of chunkEvents, enc
// building each chunk's plain bytes in *plain.
func (c *codec) encodeChunks(plain *[]byte, n int, enc func(buf []byte, lo, hi int) []byte) [][]byte {
	out := make([][]byte, 0, (n+chunkEvents-1)/chunkEvents)
	for lo := 0; lo < n; lo += chunkEvents {
		*plain = enc((*plain)[:0], lo, min(lo+chunkEvents, n))
		out = append(out, c.enc.EncodeAll(*plain, nil))
	}
	return out
}

// decode decompresses one chunk.
func (c *codec) decode(b []byte) ([]byte, error) { return c.decodeTo(nil, b) }

// decodeTo is decode into dst's room, which a hunt reuses from one chunk
// to the next instead of allocating each chunk's data anew.
func (c *codec) decodeTo(dst, b []byte) ([]byte, error) {
	out, err := c.dec.DecodeAll(b, dst)
	if err != nil {
		return nil, fmt.Errorf("event chunk: %w", err)
	}
	return out, nil
}

// encodeRaw is the plain form of a raw chunk: each record's length and
// bytes.
func encodeRaw(buf []byte, raws [][]byte) []byte {
	for _, r := range raws {
		buf = binary.AppendUvarint(buf, uint64(len(r)))
		buf = append(buf, r...)
	}
	return buf
}

func decodeRaw(b []byte, n int) ([][]byte, error) {
	r := reader{b: b}
	out := make([][]byte, n)
	for i := range out {
		out[i] = r.bytes()
	}
	return out, r.err
}

// The tags of field values in a data chunk.
const (
	tagAbsent byte = iota
	tagString
	tagInt
	tagFloat
	tagTrue
	tagFalse
	tagNil
	tagStrings
	tagJSON // any other type, as JSON (parsers should not produce one)
)

// encodeData is the plain form of a data chunk of events evs: IDs,
// received times (as differences from the event's time), sources, formats,
// parse errors, the fields column by column (a sorted list of names, then
// each name's values in event order), and the observables.
func encodeData(buf []byte, evs []*tansa.Event, obs [][]normalize.Observable) []byte {
	var d dataEncoder
	return d.encode(buf, evs, obs)
}

// dataEncoder builds data chunks (encodeData), keeping its scratch space
// from one chunk to the next: a block's chunks are encoded one after the
// other, and growing every column's lists anew per chunk was most of what
// the store allocated.
type dataEncoder struct {
	col    map[string]int32 // a field name's column in this chunk
	names  []string         // the chunk's field names, by column
	count  []int32          // values per column, then where its values start
	order  []int32          // columns sorted by name
	vals   []fieldValue     // every value of the chunk, in event order
	sorted []fieldValue     // vals grouped by column, in event order in each
}

// fieldValue is the value v of column c at event position i of a chunk.
type fieldValue struct {
	c, i int32
	v    any
}

func (d *dataEncoder) encode(buf []byte, evs []*tansa.Event, obs [][]normalize.Observable) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(evs)))
	for _, ev := range evs {
		buf = appendString(buf, ev.ID)
	}
	for _, ev := range evs {
		buf = binary.AppendVarint(buf, sqlstore.Micros(ev.Received)-sqlstore.Micros(ev.Time))
		buf = append(buf, boolByte(ev.Received.IsZero()))
	}
	for _, ev := range evs {
		buf = appendString(buf, ev.Source)
	}
	for _, ev := range evs {
		buf = appendString(buf, ev.Format)
	}
	for _, ev := range evs {
		buf = appendString(buf, ev.ParseError)
	}
	// One pass over each event's fields gathers every value with its
	// column, in event order; a mixed chunk has many names that most
	// events lack, so looking each name up in every event would cost
	// names × events. A counting sort then groups the values by column.
	if d.col == nil {
		d.col = map[string]int32{}
	}
	clear(d.col)
	d.names, d.count, d.vals = d.names[:0], d.count[:0], d.vals[:0]
	for i, ev := range evs {
		for k, v := range ev.Fields {
			c, ok := d.col[k]
			if !ok {
				c = int32(len(d.names))
				d.col[k] = c
				d.names = append(d.names, k)
				d.count = append(d.count, 0)
			}
			d.count[c]++
			d.vals = append(d.vals, fieldValue{c: c, i: int32(i), v: v})
		}
	}
	d.order = d.order[:0]
	for c := range d.names {
		d.order = append(d.order, int32(c))
	}
	slices.SortFunc(d.order, func(a, b int32) int { return strings.Compare(d.names[a], d.names[b]) })
	start := int32(0)
	for _, c := range d.order {
		n := d.count[c]
		d.count[c] = start
		start += n
	}
	d.sorted = slices.Grow(d.sorted[:0], len(d.vals))[:len(d.vals)]
	for _, fv := range d.vals {
		d.sorted[d.count[fv.c]] = fv
		d.count[fv.c]++
	}
	buf = binary.AppendUvarint(buf, uint64(len(d.order)))
	rest := d.sorted
	for _, c := range d.order {
		buf = appendString(buf, d.names[c])
		next := int32(0)
		for len(rest) > 0 && rest[0].c == c {
			for ; next < rest[0].i; next++ {
				buf = append(buf, tagAbsent)
			}
			buf = appendValue(buf, rest[0].v)
			next++
			rest = rest[1:]
		}
		for ; next < int32(len(evs)); next++ {
			buf = append(buf, tagAbsent)
		}
	}
	// The values hold the events' strings; let them go with the events.
	clear(d.vals)
	clear(d.sorted)
	for _, os := range obs {
		buf = binary.AppendUvarint(buf, uint64(len(os)))
		for _, o := range os {
			buf = appendString(buf, string(o.Type))
			buf = appendString(buf, o.Value)
		}
	}
	return buf
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(append(b, tagString), x)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case uint16:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case uint32:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case float32:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(float64(x)))
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case nil:
		return append(b, tagNil)
	case []string:
		b = binary.AppendUvarint(append(b, tagStrings), uint64(len(x)))
		for _, s := range x {
			b = appendString(b, s)
		}
		return b
	default:
		j, err := json.Marshal(x)
		if err != nil {
			j = []byte(strconv.Quote(fmt.Sprint(x)))
		}
		return appendString(append(b, tagJSON), string(j))
	}
}

// noReceived marks an event stored without a received time.
const noReceived = math.MinInt64

// decodeData reads a data chunk back into events (Time, Received, TenantID
// and Raw are the caller's to fill in), each event's received time as a
// difference from its time (noReceived when it had none), and their
// observables. With only ≥ 0, the fields and observables of the other
// events are skipped, not built.
func decodeData(b []byte, only int) ([]tansa.Event, []int64, [][]normalize.Observable, error) {
	r := reader{b: b}
	n64 := r.uvarint()
	n := int(n64)
	if r.err != nil || n64 > chunkEvents {
		return nil, nil, nil, errors.New("event block: damaged data chunk")
	}
	evs := make([]tansa.Event, n)
	for i := range evs {
		evs[i].ID = r.string()
	}
	rcv := make([]int64, n)
	for i := range evs {
		rcv[i] = r.varint()
		if r.byte() == 1 {
			rcv[i] = noReceived
		}
	}
	for i := range evs {
		evs[i].Source = r.string()
	}
	for i := range evs {
		evs[i].Format = r.string()
	}
	for i := range evs {
		evs[i].ParseError = r.string()
	}
	nkeys := int(r.uvarint())
	sizes := make([]int, n)
	type kv struct {
		k string
		v any
	}
	// Count each event's fields first so that its map is made once.
	vals := make([][]kv, n)
	for range nkeys {
		if r.err != nil {
			break
		}
		k := r.string()
		for i := range evs {
			tag := r.byte()
			if tag == tagAbsent {
				continue
			}
			if only >= 0 && i != only {
				r.skip(tag)
				continue
			}
			v := r.value(tag)
			vals[i] = append(vals[i], kv{k, v})
			sizes[i]++
		}
	}
	for i := range evs {
		if only >= 0 && i != only {
			continue
		}
		evs[i].Fields = make(map[string]any, sizes[i])
		for _, f := range vals[i] {
			evs[i].Fields[f.k] = f.v
		}
	}
	obs := make([][]normalize.Observable, n)
	for i := range obs {
		m := int(r.uvarint())
		if r.err != nil || m > len(r.b) {
			break
		}
		if only >= 0 && i != only {
			for range 2 * m {
				r.bytes()
			}
			continue
		}
		obs[i] = make([]normalize.Observable, m)
		for j := range obs[i] {
			obs[i][j] = normalize.Observable{Type: normalize.ObservableType(r.string()), Value: r.string()}
		}
	}
	if r.err != nil {
		return nil, nil, nil, r.err
	}
	return evs, rcv, obs, nil
}

// reader reads the encodings above; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("event block: damaged data")
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string { return string(r.bytes()) }

// skip passes over a value of type tag.
func (r *reader) skip(tag byte) {
	switch tag {
	case tagString, tagJSON:
		r.bytes()
	case tagInt:
		r.varint()
	case tagFloat:
		if len(r.b) < 8 {
			r.fail()
			return
		}
		r.b = r.b[8:]
	case tagTrue, tagFalse, tagNil:
	case tagStrings:
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			return
		}
		for range n {
			r.bytes()
		}
	default:
		r.fail()
	}
}

func (r *reader) value(tag byte) any {
	switch tag {
	case tagString:
		return r.string()
	case tagInt:
		return r.varint()
	case tagFloat:
		if len(r.b) < 8 {
			r.fail()
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
		return v
	case tagTrue:
		return true
	case tagFalse:
		return false
	case tagNil:
		return nil
	case tagStrings:
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			return nil
		}
		ss := make([]string, n)
		for i := range ss {
			ss[i] = r.string()
		}
		return ss
	case tagJSON:
		var v any
		if err := json.Unmarshal(r.bytes(), &v); err != nil {
			r.fail()
			return nil
		}
		if m, ok := v.(map[string]any); ok {
			normalizeNumbers(m)
		}
		return v
	}
	r.fail()
	return nil
}
