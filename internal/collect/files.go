package collect

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tansa-sec/tansa/internal/normalize/winevt"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// FileKind is the format of a file to import.
type FileKind string

// The file kinds tansa ingest reads.
const (
	FileEVTX  FileKind = "evtx"  // Windows event log
	FileJSONL FileKind = "jsonl" // JSON lines, plain or gzipped
	FileCSV   FileKind = "csv"   // comma-separated with a header row
	FileLines FileKind = "lines" // one record per line: syslog files and anything else
)

// ParseFileKind reads a --type value; "" and "auto" detect.
func ParseFileKind(s string) (FileKind, error) {
	switch s {
	case "", "auto":
		return "", nil
	case "evtx", "jsonl", "csv":
		return FileKind(s), nil
	case "syslog", "lines", "text":
		return FileLines, nil
	}
	return "", fmt.Errorf("type %q is not auto, evtx, jsonl, csv or syslog", s)
}

// DetectFile names the kind of the file at path from its first bytes: the
// EVTX signature, gzip (whose content is then looked at), a JSON object,
// a header row of a CSV file (by extension), else lines.
func DetectFile(path string) (FileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("ElfFile\x00")):
		return FileEVTX, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(head), f))
		if err != nil {
			return "", fmt.Errorf("gzip: %w", err)
		}
		inner := make([]byte, 512)
		m, _ := io.ReadFull(zr, inner)
		if bytes.HasPrefix(bytes.TrimSpace(inner[:m]), []byte("{")) {
			return FileJSONL, nil
		}
		return FileLines, nil
	case bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"), []byte("{")):
		return FileJSONL, nil
	case strings.EqualFold(filepath.Ext(path), ".csv"):
		return FileCSV, nil
	}
	return FileLines, nil
}

// FileRecord is one record read from a file, ready to send: Raw and the
// format Hint the server's parsers should use.
type FileRecord struct {
	Raw  []byte
	Hint string
}

// ReadFile calls fn with every record of the file at path, of kind, after
// skipping the first skip records (a resumed import). It returns how many
// records it read in all (skipped ones included) and the records it could
// not read, each with its reason; fn's error stops the read.
func ReadFile(path string, kind FileKind, skip int, fn func(FileRecord) error) (int, []string, error) {
	var problems []string
	n := 0
	emit := func(r FileRecord) error {
		n++
		if n <= skip {
			return nil
		}
		return fn(r)
	}
	switch kind {
	case FileEVTX:
		stats, err := winevt.ReadEVTXFile(path, winevt.Options{Source: "file:" + filepath.Base(path), RawJSON: true, RawOnly: true}, func(ev *tansa.Event) error {
			return emit(FileRecord{Raw: ev.Raw, Hint: "winevt"})
		})
		for _, f := range stats.Failures {
			problems = append(problems, fmt.Sprintf("chunk %d: %d records: %s", f.Chunk, f.Records, f.Reason))
		}
		return n, problems, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	if kind == FileCSV {
		err := readCSV(r, emit, &problems)
		return n, problems, err
	}
	hint := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), maxRecord)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if kind == FileJSONL && hint == "" {
			// One look at the first document decides the file's layout:
			// Windows events (Winlogbeat, NXLog, native) go to the
			// Windows parser, anything else is detected per record.
			hint = "-"
			var doc map[string]any
			if json.Unmarshal(b, &doc) == nil && winevt.DetectLayout(doc) != winevt.LayoutUnknown {
				hint = "winevt"
			}
		}
		h := hint
		if h == "-" {
			h = ""
		}
		if err := emit(FileRecord{Raw: bytes.Clone(b), Hint: h}); err != nil {
			return n, problems, err
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("line %d: %v", line+1, err))
	}
	return n, problems, nil
}

// readCSV turns each row into a JSON object keyed by the header row, which
// the server flattens into fields.
func readCSV(r io.Reader, emit func(FileRecord) error, problems *[]string) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			line, _ := cr.FieldPos(0)
			*problems = append(*problems, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		obj := make(map[string]string, len(row))
		for i, v := range row {
			key := fmt.Sprintf("column%d", i+1)
			if i < len(header) && header[i] != "" {
				key = header[i]
			}
			obj[key] = v
		}
		b, _ := json.Marshal(obj)
		if err := emit(FileRecord{Raw: b}); err != nil {
			return err
		}
	}
}
