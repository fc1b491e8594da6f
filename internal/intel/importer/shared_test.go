package importer

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

// sharedData returns $TANSA_SHARED_DATA/rel, skipping when the variable is
// unset and failing when it names a missing path.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("TANSA_SHARED_DATA")
	if root == "" {
		t.Skip("TANSA_SHARED_DATA is not set; skipping the test on shared intelligence samples")
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("TANSA_SHARED_DATA is set but %s is missing: %v", p, err)
	}
	return p
}

var fixedNow = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func importFile(t testing.TB, path string, opts Options) (*Result, *intel.Set) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set := intel.NewSet()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	res, err := Import(context.Background(), data, opts, set)
	if err != nil {
		t.Fatalf("Import(%s): %v", path, err)
	}
	return res, set
}

func TestSharedSTIXExamples(t *testing.T) {
	dir := sharedData(t, "stix/examples")
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) < 8 {
		t.Fatalf("found %d STIX examples, want at least 8", len(files))
	}
	allow, _ := intel.DefaultAllowlist()
	for _, f := range files {
		res, set := importFile(t, f, Options{Allowlist: allow})
		name, _ := filepath.Rel(dir, f)
		if res.Format != FormatSTIX {
			t.Errorf("%s detected as %s", name, res.Format)
		}
		t.Logf("%s: items %d, indicators %d (added %d, updated %d, flagged %d), rejected %d %v, skipped %d",
			name, res.Items, set.Len(), res.Added, res.Updated, res.Flagged, res.RejectedCount, res.Rejected, res.SkippedCount)
	}
}

func TestSharedMISPSTIX(t *testing.T) {
	dir := sharedData(t, "stix/misp-stix-tests")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	for _, f := range files {
		res, set := importFile(t, f, Options{})
		t.Logf("%s: %s items %d, indicators %d, rejected %d %v, skipped %d %v", filepath.Base(f), res.Format, res.Items, set.Len(), res.RejectedCount, res.Rejected, res.SkippedCount, res.Skipped)
	}
}

func TestSharedLists(t *testing.T) {
	for _, rel := range []string{"iocs/threatfox_ips.txt", "iocs/ipsum.txt", "iocs/signature-base/hash-iocs.txt", "iocs/signature-base/c2-iocs.txt", "iocs/signature-base/filename-iocs.txt"} {
		res, set := importFile(t, sharedData(t, rel), Options{})
		var rej []Rejection
		if len(res.Rejected) > 5 {
			rej = res.Rejected[:5]
		} else {
			rej = res.Rejected
		}
		t.Logf("%s: %s items %d, indicators %d, rejected %d %v", rel, res.Format, res.Items, set.Len(), res.RejectedCount, rej)
	}
}
