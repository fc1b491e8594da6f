package hunt

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/o365"
	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// fileKind is what a hunt can read.
type fileKind int

const (
	kindUnknown fileKind = iota
	kindEVTX
	kindJSON // JSON lines or concatenated documents, plain or gzipped
)

// inputFile is one file to hunt in.
type inputFile struct {
	path  string
	size  int64
	named bool // given on the command line, not found by walking
}

// listFiles expands directories into the regular files below them, in
// lexical order, and keeps named files as they are. A path that does not
// exist is an error.
func listFiles(paths []string) ([]inputFile, error) {
	var out []inputFile
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if !fi.IsDir() {
			out = append(out, inputFile{path: p, size: fi.Size(), named: true})
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, inputFile{path: q, size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
	}
	return out, nil
}

// sniff names a file's kind from its first bytes: the EVTX signature, the
// gzip magic (whose content is assumed to be JSON), or a JSON object.
func sniff(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kindUnknown, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return kindUnknown, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("ElfFile\x00")):
		return kindEVTX, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return kindJSON, nil
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return kindJSON, nil
	}
	return kindUnknown, nil
}

// maxLine bounds one JSON line, as winevt.ReadJSONLines does.
const maxLine = 16 << 20

// readJSON calls fn with the event of every JSON document of the file at
// path (gzipped or not). Line-delimited files are read line by line, so a
// bad line costs only itself; a file whose first line is not a document on
// its own (pretty-printed, as evtx_dump writes) is read as a stream of
// Windows event documents. Each line is an Office 365 audit or Entra ID
// sign-in record when o365.Detect says so, else a Windows event in any
// layout winevt knows. It returns how many records could not be parsed.
func readJSON(path string, opts winevt.Options, fn func(*tansa.Event) error) (failed int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	br := bufio.NewReaderSize(f, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	r = br
	if !lineDelimited(br) {
		st, err := winevt.ReadJSON(r, opts, fn)
		return st.Failed, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(bytes.TrimPrefix(sc.Bytes(), []byte("\xef\xbb\xbf")))
		if len(line) == 0 {
			continue
		}
		var ev *tansa.Event
		if s := string(line); o365.Detect(s) != "" {
			ev = &tansa.Event{TenantID: opts.TenantID, Source: opts.Source, Received: opts.Received, Time: opts.Received,
				Raw: []byte(s), Fields: map[string]any{}}
			if err := o365.Parse(s, ev); err != nil {
				ev.ParseError = err.Error()
			}
		} else {
			ev, _ = winevt.ParseJSON(line, opts)
		}
		if ev.ParseError != "" {
			failed++
		}
		if err := fn(ev); err != nil {
			return failed, err
		}
	}
	return failed, sc.Err()
}

// lineDelimited peeks at the first line and reports whether it is a whole
// JSON document. A first line longer than the buffer counts as one.
func lineDelimited(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return len(head) == br.Size() || json.Valid(head)
	}
	return json.Valid(head[:i])
}

// readFile calls fn with every event of one file of the given kind and
// returns the number of records that could not be read.
func readFile(path string, kind fileKind, received time.Time, fn func(*tansa.Event) error) (int, error) {
	opts := winevt.Options{Source: "file:" + filepath.Base(path), Received: received}
	if kind == kindEVTX {
		st, err := winevt.ReadEVTXFile(path, opts, fn)
		return st.Failed, err
	}
	return readJSON(path, opts, fn)
}
