package ruleset

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/tansa-sec/tansa/internal/tansa"
)

// File is one rule file: its path inside the import and its bytes.
type File struct {
	Path string
	Body []byte
}

// Limits of one import, so that a hostile archive cannot exhaust memory.
const (
	MaxInput     = 64 << 20  // bytes of the uploaded file or archive
	MaxExpanded  = 256 << 20 // bytes of all rule files after decompression
	MaxFileBytes = 1 << 20   // bytes of one rule file
	MaxFiles     = 20000     // rule files in one import
)

// Unpack reads an upload: a .zip or .tar.gz archive (recognised by its
// first bytes) or one YAML rule file named name. From archives it keeps the
// .yml and .yaml files outside regression data and deprecated folders, in
// archive order. It fails with kind Invalid naming the entry and reason
// when the archive is damaged, and TooLarge past the limits.
func Unpack(name string, data []byte) ([]File, error) {
	if len(data) > MaxInput {
		return nil, tansa.Errorf(tansa.TooLarge, "rules upload of %d bytes exceeds the %d-byte limit", len(data), MaxInput)
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return unzip(data)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return untar(data)
	}
	if name == "" {
		name = "upload.yml"
	}
	if len(data) > MaxFileBytes {
		return nil, tansa.Errorf(tansa.TooLarge, "rule file %s: %d bytes exceeds the %d-byte limit", name, len(data), MaxFileBytes)
	}
	return []File{{Path: path.Base(name), Body: data}}, nil
}

// wanted reports whether an archive entry is a rule file to import.
func wanted(p string) bool {
	p = strings.ToLower(path.Clean("/" + strings.ReplaceAll(p, `\`, "/")))
	if !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
		return false
	}
	for _, skip := range []string{"/regression_data/", "/deprecated/", "/unsupported/", "/.github/", "/tests/", "/config/"} {
		if strings.Contains(p, skip) {
			return false
		}
	}
	return !strings.HasSuffix(p, "/info.yml")
}

type budget struct{ total int64 }

func (b *budget) read(name string, r io.Reader, size int64) ([]byte, error) {
	if size > MaxFileBytes {
		return nil, tansa.Errorf(tansa.TooLarge, "rule file %s: %d bytes exceeds the %d-byte limit", name, size, MaxFileBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "archive entry %s: %v", name, err)
	}
	if len(body) > MaxFileBytes {
		return nil, tansa.Errorf(tansa.TooLarge, "rule file %s: larger than the %d-byte limit", name, MaxFileBytes)
	}
	b.total += int64(len(body))
	if b.total > MaxExpanded {
		return nil, tansa.Errorf(tansa.TooLarge, "archive expands to more than %d bytes of rule files", MaxExpanded)
	}
	return body, nil
}

func unzip(data []byte) ([]File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "zip archive: %v", err)
	}
	var out []File
	var b budget
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !wanted(f.Name) {
			continue
		}
		if len(out) >= MaxFiles {
			return nil, tansa.Errorf(tansa.TooLarge, "zip archive: more than %d rule files", MaxFiles)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "zip entry %s: %v", f.Name, err)
		}
		body, err := b.read(f.Name, rc, int64(f.UncompressedSize64))
		rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: strings.TrimPrefix(path.Clean("/"+f.Name), "/"), Body: body})
	}
	return out, nil
}

func untar(data []byte) ([]File, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, tansa.Errorf(tansa.Invalid, "gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var out []File
	var b budget
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, tansa.Errorf(tansa.Invalid, "tar archive after %d rule files: %v", len(out), err)
		}
		if h.Typeflag != tar.TypeReg || !wanted(h.Name) {
			continue
		}
		if len(out) >= MaxFiles {
			return nil, tansa.Errorf(tansa.TooLarge, "tar archive: more than %d rule files", MaxFiles)
		}
		body, err := b.read(h.Name, tr, h.Size)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: strings.TrimPrefix(path.Clean("/"+h.Name), "/"), Body: body})
	}
}

// Pack writes files as a .tar.gz archive, for clients that upload a
// directory.
func Pack(w io.Writer, files []File) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.Path, Mode: 0o644, Size: int64(len(f.Body)), Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("pack %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Body); err != nil {
			return fmt.Errorf("pack %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
