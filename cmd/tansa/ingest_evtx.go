package main

import (
	"bytes"
	"context"
	"path/filepath"

	"github.com/schollz/progressbar/v3"

	"github.com/tansa-sec/tansa/internal/collect"
)

// fileKind is kind, or the kind detected from the file when kind is
// auto ("").
func fileKind(path string, kind collect.FileKind) (collect.FileKind, error) {
	if kind != "" {
		return kind, nil
	}
	return collect.DetectFile(path)
}

// evtxFile is one EVTX file of an import: its resume state and counts.
type evtxFile struct {
	path, abs string
	prev      fileState
	n, sent   int
	problems  []string
	readDone  bool // every record is read; its last ones may wait in the batch
}

// evtxPart is a run of one file's records in a batch: bytes from start.
type evtxPart struct {
	f     *evtxFile
	n     int
	start int
}

// evtxBatchBytes is the size at which a batch of EVTX records is sent
// whatever its count: 2000 script-block events of some 32 KB each would
// pass the server's 64 MiB request limit and be refused for good (413).
// A batch can pass 8 MiB by one record only, and a record comes from a
// 64 KiB EVTX chunk: far from the 56 MiB it would take to reach the limit.
const evtxBatchBytes = 8 << 20

// evtxBatcher sends the EVTX records of the files one import worker reads
// in batches that run across files. Most EVTX files hold a few dozen
// records; a request per file cost the server a bus publish and a
// persisted write for every few dozen records, a third of its CPU. The
// worker's batches go one at a time, in order, so every file's resume
// count stays exact: a file is done only once the batch with its last
// record is acknowledged, and a failed batch fails every file in it.
type evtxBatcher struct {
	ctx       context.Context
	h         *hecSender
	st        *ingestState
	statePath string
	batch     int
	maxBytes  int // a batch is sent once it holds this many bytes, however few records
	bar       *progressbar.ProgressBar
	report    func(f *evtxFile, err error)

	buf   bytes.Buffer
	count int
	parts []evtxPart
}

// add reads one EVTX file into the batch, sending full batches on the way.
// The file is reported when it is done or has failed.
func (b *evtxBatcher) add(path string) {
	f := &evtxFile{path: path}
	var err error
	f.abs, f.prev, err = b.st.resume(path)
	if err != nil {
		b.report(f, err)
		return
	}
	if f.prev.Done {
		f.n = f.prev.Sent
		b.report(f, nil)
		return
	}
	source := jsonString("file:" + filepath.Base(path))
	var (
		sendErr error
		hint    string
		hintJS  []byte
	)
	n, problems, err := collect.ReadFile(path, collect.FileEVTX, f.prev.Sent, func(r collect.FileRecord) error {
		// The rendered event is JSON, sent as an HEC event so that the
		// server's Windows parser reads it as Windows parses it. r.Raw is
		// JSON already (winevt wrote it): it goes in as it is, not through
		// encoding/json, which would check and compact it.
		if k := len(b.parts); k == 0 || b.parts[k-1].f != f {
			b.parts = append(b.parts, evtxPart{f: f, start: b.buf.Len()})
		}
		b.buf.WriteString(`{"event":`)
		b.buf.Write(r.Raw)
		if hintJS == nil || r.Hint != hint {
			hint, hintJS = r.Hint, jsonString(r.Hint)
		}
		b.buf.WriteString(`,"sourcetype":`)
		b.buf.Write(hintJS)
		b.buf.WriteString(`,"source":`)
		b.buf.Write(source)
		b.buf.WriteByte('}')
		b.parts[len(b.parts)-1].n++
		b.count++
		if b.count >= b.batch || b.buf.Len() >= b.maxBytes {
			sendErr = b.flush()
			return sendErr
		}
		return nil
	})
	f.n, f.problems = n, problems
	if sendErr != nil {
		// flush reported the other files of the batch; this one is not
		// read to the end, so it is reported here.
		b.report(f, sendErr)
		return
	}
	if err != nil {
		// The file's records not yet sent are taken out again: like a
		// file read alone, a file that fails is sent up to its last
		// acknowledged batch and resumes from there.
		if k := len(b.parts); k > 0 && b.parts[k-1].f == f {
			b.buf.Truncate(b.parts[k-1].start)
			b.count -= b.parts[k-1].n
			b.parts = b.parts[:k-1]
		}
		b.report(f, err)
		return
	}
	f.readDone = true
	if k := len(b.parts); k > 0 && b.parts[k-1].f == f {
		return // done when its last batch is acknowledged
	}
	b.done(f)
}

// done records a file as complete and reports it.
func (b *evtxBatcher) done(f *evtxFile) {
	f.prev.Done = true
	b.report(f, b.st.put(b.statePath, f.abs, f.prev))
}

// flush sends the batch. On success every file in it advances by its
// records, and those read to the end are done; on failure every file in
// it that was read to the end is reported failed, and the file being
// read learns it from the error.
func (b *evtxBatcher) flush() error {
	if b.count == 0 {
		return nil
	}
	err := b.h.send(b.ctx, "/services/collector/event", b.buf.Bytes())
	parts, count := b.parts, b.count
	b.buf.Reset()
	b.count, b.parts = 0, b.parts[:0:0]
	if err != nil {
		for _, p := range parts {
			if p.f.readDone {
				b.report(p.f, err)
			}
		}
		return err
	}
	if b.bar != nil {
		b.bar.Add(count)
	}
	// One state write for the whole batch: it may finish dozens of files,
	// and the state file holds them all.
	updates := make([]stateUpdate, len(parts))
	for i, p := range parts {
		p.f.sent += p.n
		p.f.prev.Sent += p.n
		if p.f.readDone {
			p.f.prev.Done = true
		}
		updates[i] = stateUpdate{p.f.abs, p.f.prev}
	}
	serr := b.st.putMany(b.statePath, updates)
	for _, p := range parts {
		if p.f.readDone {
			b.report(p.f, serr)
		}
	}
	return serr
}

// stateUpdate is one file's progress, for putMany.
type stateUpdate struct {
	abs string
	fs  fileState
}

// flushPending sends what the batch holds, at the end of the worker's
// files or before a file of another kind.
func (b *evtxBatcher) flushPending() {
	_ = b.flush() // failures are reported per file
}
