package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readMarker(t *testing.T, dir string) marker {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if err != nil {
		t.Fatalf("marker: %v", err)
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("marker %s: %v", b, err)
	}
	return m
}

func TestOpenDataDirCreatesNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	fresh, err := OpenDataDir(dir)
	if err != nil || !fresh {
		t.Fatalf("OpenDataDir(new) = %v, %v; want true, nil", fresh, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("new data directory mode %o, want 700", perm)
	}
	fi, err := os.Stat(filepath.Join(dir, markerName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("marker mode %o, want 600", perm)
	}
	if m := readMarker(t, dir); m.Format != "tansa-data" || m.Version != dataFormat || m.Created.IsZero() {
		t.Errorf("marker = %+v, want format tansa-data, version %d and a time", m, dataFormat)
	}

	// Its own directory, opened again, is accepted and not new.
	os.WriteFile(filepath.Join(dir, "tansa.db"), []byte("x"), 0o600)
	fresh, err = OpenDataDir(dir)
	if err != nil || fresh {
		t.Fatalf("OpenDataDir(own) = %v, %v; want false, nil", fresh, err)
	}
}

func TestOpenDataDirAcceptsEmpty(t *testing.T) {
	dir := t.TempDir()
	fresh, err := OpenDataDir(dir)
	if err != nil || !fresh {
		t.Fatalf("OpenDataDir(empty) = %v, %v; want true, nil", fresh, err)
	}
	readMarker(t, dir)
}

func TestOpenDataDirAcceptsOlderFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, markerName), []byte(`{"format":"tansa-data","version":0}`), 0o600)
	if fresh, err := OpenDataDir(dir); err != nil || fresh {
		t.Fatalf("OpenDataDir(version 0) = %v, %v; want false, nil", fresh, err)
	}
}

// TestOpenDataDirRefuses checks that a directory that is not Tansa's, or
// whose marker is damaged or from a newer version, is refused with a message
// that says what is wrong, and left exactly as it was.
func TestOpenDataDirRefuses(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"foreign files", map[string]string{"notes.txt": "hello", "photo.jpg": "\xff\xd8"},
			[]string{"is not a Tansa data directory", markerName, "--data"}},
		{"a database but no marker", map[string]string{"tansa.db": "SQLite format 3\x00"},
			[]string{"is not a Tansa data directory"}},
		{"corrupt marker", map[string]string{markerName: "{not json"},
			[]string{"damaged", markerName, "backup"}},
		{"empty marker", map[string]string{markerName: ""},
			[]string{"damaged"}},
		{"someone else's marker", map[string]string{markerName: `{"format":"other-app","version":1}`},
			[]string{"damaged or not Tansa's"}},
		{"future version", map[string]string{markerName: `{"format":"tansa-data","version":99}`},
			[]string{"newer Tansa", "99", "upgrade"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := OpenDataDir(dir)
			if err == nil {
				t.Fatalf("OpenDataDir accepted a directory with %v", tc.files)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.files) {
				t.Errorf("the refused directory has %d entries afterwards, want the %d it had", len(entries), len(tc.files))
			}
			for name, content := range tc.files {
				if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != content {
					t.Errorf("%s changed: %q, want %q", name, b, content)
				}
			}
		})
	}
}

func TestOpenDataDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := OpenDataDir(file); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("OpenDataDir(a file) error %v, want one naming %s", err, file)
	}
}
