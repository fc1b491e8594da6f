package winevt

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"

	"github.com/tansa-sec/tansa/internal/tansa"
)

const (
	chunkSize        = 0x10000
	chunkHeaderSize  = 0x200
	recordHeaderSize = 24
	maxFailures      = 1000
)

// Options describe where records come from; every event produced carries them.
type Options struct {
	TenantID string    // owner of the events
	Source   string    // e.g. "file:Security.evtx"
	Received time.Time // when Tansa accepted the input; zero means now
	// RawJSON makes an EVTX event's Raw the record rendered as JSON (the
	// event XML's layout, which ParseJSON reads) instead of the binary
	// record: for sending records to a server, and for full-text search.
	RawJSON bool
	// RawOnly, with RawJSON, leaves an event's Fields and ID empty: for
	// senders, which forward Raw and have the server parse it, and pay
	// for building fields they never read otherwise.
	RawOnly bool
}

// Failure is one group of records that could not be turned into events.
type Failure struct {
	Chunk   int    // chunk index in the file, -1 for file-level failures
	Records int    // how many records were lost
	Reason  string // why
}

// Stats reports what a read delivered and what it could not.
type Stats struct {
	Chunks   int       // chunks with a valid header
	Events   int       // events passed to the callback
	Failed   int       // records that could not be parsed
	Failures []Failure // reasons, at most 1000 entries
}

func (s *Stats) fail(chunk, n int, reason string) {
	s.Failed += n
	if len(s.Failures) < maxFailures {
		s.Failures = append(s.Failures, Failure{Chunk: chunk, Records: n, Reason: reason})
	}
}

// ReadEVTXFile opens path and calls ReadEVTX on it. When opts.Source is
// empty it becomes "file:" followed by the file's base name.
func ReadEVTXFile(path string, opts Options, fn func(*tansa.Event) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("read evtx %s: %w", path, err)
	}
	defer f.Close()
	if opts.Source == "" {
		opts.Source = "file:" + filepath.Base(path)
	}
	st, err := ReadEVTX(f, opts, fn)
	if err != nil {
		return st, fmt.Errorf("read evtx %s: %w", path, err)
	}
	return st, nil
}

// ReadEVTX decodes every record of the EVTX file in r, in file order, and
// calls fn with each event. fn owns the event. Records that cannot be decoded
// are counted in Stats with a reason and skipped; a chunk whose decoding
// panics loses only its own records. The error is non-nil only when r is not
// an EVTX file, cannot be read, or fn returns an error (which stops the read
// and is returned as is).
func ReadEVTX(r io.ReaderAt, opts Options, fn func(*tansa.Event) error) (Stats, error) {
	var st Stats
	if opts.Received.IsZero() {
		opts.Received = time.Now().UTC()
	}
	rs := io.NewSectionReader(r, 0, math.MaxInt64)
	chunks, err := evtx.GetChunks(rs)
	if err != nil {
		return st, fmt.Errorf("evtx header: %w", err)
	}
	buf := make([]byte, chunkSize)
	for i, c := range chunks {
		st.Chunks++
		want := int(c.Header.LastEventRecNumber - c.Header.FirstEventRecNumber + 1)
		if c.Header.LastEventRecNumber < c.Header.FirstEventRecNumber || want > chunkSize/recordHeaderSize {
			st.fail(i, 0, "chunk header has an impossible record range")
			continue
		}
		n, rerr := r.ReadAt(buf, c.Offset)
		if n < chunkSize && rerr != nil {
			st.fail(i, want, fmt.Sprintf("chunk truncated: %v", rerr))
			continue
		}
		if reason := checkChunk(buf); reason != "" {
			// The decoder trusts offsets inside the chunk; on damaged
			// chunks it can loop or allocate without bound, so damaged
			// chunks are reported rather than decoded.
			st.fail(i, want, reason)
			continue
		}
		var raws map[uint64][]byte
		if !opts.RawJSON {
			raws = recordBytes(buf)
		}
		records, perr := parseChunk(io.NewSectionReader(r, 0, math.MaxInt64), c)
		if perr != nil {
			st.fail(i, max(want-len(records), 1), perr.Error())
		} else if len(records) < want {
			st.fail(i, want-len(records), "record with bad magic or size in chunk")
		}
		for _, rec := range records {
			ev, err := recordEvent(rec, raws[rec.Header.RecordID], opts)
			if err != nil {
				st.fail(i, 1, err.Error())
				continue
			}
			st.Events++
			if err := fn(ev); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// parseChunk runs the decoder on one chunk. The decoder indexes slices with
// offsets read from the file, so corrupt input can panic; the panic is turned
// into an error for this chunk alone.
func parseChunk(rs io.ReadSeeker, c *evtx.Chunk) (recs []*evtx.EventRecord, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("chunk decoder failed: %v", p)
		}
	}()
	c.Fd = rs
	recs, err = c.Parse(0)
	if err != nil {
		err = fmt.Errorf("chunk decoder: %w", err)
	}
	return recs, err
}

// checkChunk verifies the chunk's header and record checksums (CRC32, as
// Windows writes them) and returns why the chunk is unusable, or "".
func checkChunk(chunk []byte) string {
	if len(chunk) < chunkSize {
		return "chunk truncated"
	}
	h := crc32.NewIEEE()
	h.Write(chunk[:120])
	h.Write(chunk[128:chunkHeaderSize])
	if h.Sum32() != binary.LittleEndian.Uint32(chunk[124:]) {
		return "chunk header checksum mismatch"
	}
	free := int(binary.LittleEndian.Uint32(chunk[48:]))
	if free < chunkHeaderSize || free > chunkSize {
		return "chunk free-space offset out of range"
	}
	if crc32.ChecksumIEEE(chunk[chunkHeaderSize:free]) != binary.LittleEndian.Uint32(chunk[52:]) {
		return "chunk records checksum mismatch"
	}
	return ""
}

// recordBytes indexes the raw bytes of each record of a chunk by record id,
// so events keep the record exactly as stored.
func recordBytes(chunk []byte) map[uint64][]byte {
	out := make(map[uint64][]byte, 128)
	off := chunkHeaderSize
	for off+recordHeaderSize <= len(chunk) {
		if chunk[off] != '*' || chunk[off+1] != '*' || chunk[off+2] != 0 || chunk[off+3] != 0 {
			break
		}
		size := int(binary.LittleEndian.Uint32(chunk[off+4:]))
		if size < recordHeaderSize || off+size > len(chunk) {
			break
		}
		id := binary.LittleEndian.Uint64(chunk[off+8:])
		out[id] = chunk[off : off+size : off+size]
		off += size
	}
	return out
}

var errNoEvent = errors.New("record has no Event element")

func recordEvent(rec *evtx.EventRecord, raw []byte, opts Options) (*tansa.Event, error) {
	root, ok := rec.Event.(*ordereddict.Dict)
	if !ok {
		return nil, errNoEvent
	}
	evAny, ok := root.Get("Event")
	if !ok {
		return nil, errNoEvent
	}
	ev, ok := evAny.(*ordereddict.Dict)
	if !ok {
		return nil, errNoEvent
	}
	if opts.RawJSON {
		raw = appendJSON(make([]byte, 0, 2048), root)
		if opts.RawOnly {
			return &tansa.Event{TenantID: opts.TenantID, Time: opts.Received, Received: opts.Received,
				Source: opts.Source, Format: "winevt", Raw: raw}, nil
		}
	}
	fields := make(map[string]any, 48)
	var t time.Time
	for _, it := range ev.Items() {
		switch it.Key {
		case "System":
			sys, ok := it.Value.(*ordereddict.Dict)
			if !ok {
				continue
			}
			t = systemFields(sys, fields)
		case "EventData", "UserData":
			flattenData(it.Value, fields, it.Key)
		default:
			flattenData(it.Value, fields, it.Key)
		}
	}
	if t.IsZero() && rec.Header.FileTime != 0 {
		t = filetime(rec.Header.FileTime)
	}
	if _, ok := fields["EventRecordID"]; !ok {
		fields["EventRecordID"] = int64(rec.Header.RecordID)
	}
	deriveECS(fields)
	out := &tansa.Event{
		TenantID: opts.TenantID,
		Time:     t,
		Received: opts.Received,
		Source:   opts.Source,
		Format:   "winevt",
		Raw:      raw,
		Fields:   fields,
	}
	if out.Time.IsZero() {
		out.Time = opts.Received
	}
	out.ID = eventID(opts.TenantID, opts.Source, raw, rec.Header.RecordID)
	return out, nil
}

func eventID(tenant, source string, raw []byte, recordID uint64) string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(source))
	h.Write([]byte{0})
	if len(raw) > 0 {
		h.Write(raw)
	} else {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], recordID)
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func filetime(ft uint64) time.Time {
	const epochDiff = 116444736000000000 // 100ns ticks from 1601 to 1970
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// systemFields copies the System element into fields and returns the
// record's creation time.
func systemFields(sys *ordereddict.Dict, fields map[string]any) time.Time {
	var t time.Time
	for _, it := range sys.Items() {
		sub, ok := it.Value.(*ordereddict.Dict)
		if !ok {
			if k, isU := it.Value.(uint64); isU && it.Key == "Keywords" {
				// Windows renders the keyword mask in hex.
				fields[it.Key] = "0x" + strconv.FormatUint(k, 16)
				continue
			}
			fields[it.Key] = scalar(it.Value)
			continue
		}
		switch it.Key {
		case "EventID":
			// <EventID Qualifiers="16384">7045</EventID>
			for _, s := range sub.Items() {
				if s.Key == "Value" {
					fields["EventID"] = scalar(s.Value)
				} else {
					fields["EventID_"+s.Key] = scalar(s.Value)
				}
			}
		case "TimeCreated":
			if v, ok := sub.Get("SystemTime"); ok {
				switch x := v.(type) {
				case float64:
					sec, frac := math.Modf(x)
					t = time.Unix(int64(sec), int64(math.Round(frac*1e7))*100).UTC()
				case string:
					t, _ = time.Parse(time.RFC3339Nano, x)
				}
				if !t.IsZero() {
					fields["TimeCreated_SystemTime"] = t.Format(time.RFC3339Nano)
				}
			}
		default:
			for _, s := range sub.Items() {
				fields[it.Key+"_"+s.Key] = scalar(s.Value)
			}
		}
	}
	return t
}

// flattenData copies EventData/UserData content under the names Windows
// gives them. UserData wraps its fields in one provider-specific element;
// that element's name is dropped, as Sigma rules address the leaf names.
func flattenData(v any, fields map[string]any, name string) {
	switch x := v.(type) {
	case *ordereddict.Dict:
		for _, it := range x.Items() {
			if it.Key == "xmlns" || it.Key == "xmlns_auto" {
				continue
			}
			if _, ok := it.Value.(*ordereddict.Dict); ok {
				flattenData(it.Value, fields, it.Key)
				continue
			}
			if it.Key == "Data" {
				// Unnamed <Data> elements: a list or a single value.
				fields["Data"] = scalar(it.Value)
				continue
			}
			v := scalar(it.Value)
			fields[it.Key] = v
			addSpaceless(fields, it.Key, v)
		}
	case nil:
	default:
		fields[name] = scalar(v)
	}
}

// addSpaceless also stores a field whose name contains spaces (Defender's
// "Threat Name") under the name without spaces, the form the Sigma
// specification prescribes for rules ("ThreatName").
func addSpaceless(fields map[string]any, name string, v any) {
	if !strings.ContainsRune(name, ' ') {
		return
	}
	short := strings.ReplaceAll(name, " ", "")
	if _, ok := fields[short]; !ok {
		fields[short] = v
	}
}
