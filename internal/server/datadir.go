package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// markerName is the file that makes a directory a Tansa data directory.
const markerName = "tansa.json"

// dataFormat is the layout version of a data directory this build reads.
const dataFormat = 1

type marker struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

// OpenDataDir prepares dir as a data directory: it creates a missing or
// empty one, accepts one that carries Tansa's marker of a version this build
// reads, and refuses anything else — a foreign directory is never written to.
// It reports whether the directory is new.
func OpenDataDir(dir string) (fresh bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("create data directory: %w", err)
		}
	case err != nil:
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		b, err := os.ReadFile(filepath.Join(dir, markerName))
		if errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("%s is not a Tansa data directory (it has files but no %s); give an empty or new directory with --data", dir, markerName)
		} else if err != nil {
			return false, fmt.Errorf("data directory %s: %w", dir, err)
		}
		var m marker
		if err := json.Unmarshal(b, &m); err != nil || m.Format != "tansa-data" {
			return false, fmt.Errorf("%s/%s is damaged or not Tansa's; restore the data directory from a backup", dir, markerName)
		}
		if m.Version > dataFormat {
			return false, fmt.Errorf("%s was written by a newer Tansa (data format %d; this build reads %d); upgrade Tansa", dir, m.Version, dataFormat)
		}
		return false, nil
	}
	b, _ := json.MarshalIndent(marker{Format: "tansa-data", Version: dataFormat, Created: time.Now().UTC()}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, markerName), append(b, '\n'), 0o600); err != nil {
		return false, fmt.Errorf("write %s: %w", markerName, err)
	}
	return true, nil
}
