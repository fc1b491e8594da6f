package ruleset_test

import (
	"archive/zip"
	"bytes"
	"os"
	"testing"

	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return b.Bytes()
}

func TestUnpack(t *testing.T) {
	files := []ruleset.File{{Path: "rules/windows/a.yml", Body: []byte("title: a")}, {Path: "rules/b.yaml", Body: []byte("title: b")},
		{Path: "regression_data/x/info.yml", Body: []byte("id: 1")}, {Path: "deprecated/old.yml", Body: []byte("title: old")},
		{Path: "README.md", Body: []byte("# hi")}}
	var tgz bytes.Buffer
	if err := ruleset.Pack(&tgz, files); err != nil {
		t.Fatal(err)
	}
	z := zipOf(t, map[string]string{"rules/windows/a.yml": "title: a", "rules/b.yaml": "title: b", "deprecated/old.yml": "x", "LICENSE": "y"})
	for name, data := range map[string][]byte{"tar.gz": tgz.Bytes(), "zip": z} {
		got, err := ruleset.Unpack("", data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 2 {
			t.Errorf("%s: %d files, want the two rule files: %+v", name, len(got), got)
		}
	}
	one, err := ruleset.Unpack("dir/rule.yml", []byte("title: x"))
	if err != nil || len(one) != 1 || one[0].Path != "rule.yml" {
		t.Errorf("single file: %+v, %v", one, err)
	}
	if _, err := ruleset.Unpack("", []byte{0x1f, 0x8b, 0, 1, 2}); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("damaged gzip: %v, want Invalid", err)
	}
	if _, err := ruleset.Unpack("", []byte("PK\x03\x04garbage")); tansa.KindOf(err) != tansa.Invalid {
		t.Errorf("damaged zip: %v, want Invalid", err)
	}
}

// FuzzUnpack feeds arbitrary uploads to the archive reader: it must answer
// files or an error of kind Invalid or TooLarge, never panic.
func FuzzUnpack(f *testing.F) {
	var tgz bytes.Buffer
	ruleset.Pack(&tgz, []ruleset.File{{Path: "a.yml", Body: []byte("title: a")}})
	f.Add(tgz.Bytes())
	f.Add(zipOf(f, map[string]string{"a.yml": "title: a"}))
	f.Add([]byte("title: plain\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := ruleset.Unpack("x.yml", data)
		if err != nil {
			if k := tansa.KindOf(err); k != tansa.Invalid && k != tansa.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		for _, f := range files {
			if len(f.Body) > ruleset.MaxFileBytes {
				t.Fatalf("file %s of %d bytes passed the limit", f.Path, len(f.Body))
			}
		}
	})
}

type bytesBuffer = bytes.Buffer

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
