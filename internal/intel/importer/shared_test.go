package importer

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

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

// summary renders a result and the imported set compactly and
// deterministically for golden comparison: counts, every rejection, and
// the indicators by type.
func summary(name string, res *Result, set *intel.Set) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s: format=%s items=%d indicators=%d added=%d updated=%d flagged=%d rejected=%d skipped=%d\n",
		name, res.Format, res.Items, set.Len(), res.Added, res.Updated, res.Flagged, res.RejectedCount, res.SkippedCount)
	for _, r := range res.Rejected {
		fmt.Fprintf(&b, "   rejected %s: %s\n", r.Item, r.Reason)
	}
	byType := map[intel.Type]int{}
	for _, ind := range set.All() {
		byType[ind.Type]++
	}
	var types []string
	for t, n := range byType {
		types = append(types, fmt.Sprintf("%s=%d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(&b, "   types %s\n", strings.Join(types, " "))
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func jsonFiles(t *testing.T, dir string) []string {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// TestSharedSTIXExamples imports every OASIS example bundle: each must be
// detected as STIX and import with no whole-object rejection; the only
// rejected item is a value the example itself gets wrong.
func TestSharedSTIXExamples(t *testing.T) {
	dir := shareddata.Path(t, "stix/examples")
	files := jsonFiles(t, dir)
	if len(files) < 8 {
		t.Fatalf("found %d STIX examples, want at least 8", len(files))
	}
	allow, err := intel.DefaultAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, f := range files {
		res, set := importFile(t, f, Options{Allowlist: allow})
		name, _ := filepath.Rel(dir, f)
		if res.Format != FormatSTIX {
			t.Errorf("%s detected as %s", name, res.Format)
		}
		for _, r := range res.Rejected {
			if !strings.Contains(r.Item, " value ") {
				t.Errorf("%s: whole object rejected: %s: %s", name, r.Item, r.Reason)
			}
		}
		out.WriteString(summary(name, res, set))
	}
	checkGolden(t, "stix-examples.txt", out.String())
}

func TestSharedMISPSTIX(t *testing.T) {
	dir := shareddata.Path(t, "stix/misp-stix-tests")
	var out strings.Builder
	for _, f := range jsonFiles(t, dir) {
		res, set := importFile(t, f, Options{})
		name := filepath.Base(f)
		wantFormat := FormatMISP
		if strings.Contains(name, "stix2") {
			wantFormat = FormatSTIX
		}
		if res.Format != wantFormat || res.RejectedCount != 0 || set.Len() == 0 {
			t.Errorf("%s: format %s (want %s), %d rejected, %d indicators", name, res.Format, wantFormat, res.RejectedCount, set.Len())
		}
		out.WriteString(summary(name, res, set))
	}
	checkGolden(t, "misp-stix-tests.txt", out.String())
}

func TestSharedLists(t *testing.T) {
	var out strings.Builder
	for _, rel := range []string{"iocs/threatfox_ips.txt", "iocs/ipsum.txt", "iocs/signature-base/hash-iocs.txt",
		"iocs/signature-base/c2-iocs.txt", "iocs/signature-base/filename-iocs.txt"} {
		res, set := importFile(t, shareddata.Path(t, rel), Options{})
		if res.Format != FormatText {
			t.Errorf("%s detected as %s", rel, res.Format)
		}
		out.WriteString(summary(rel, res, set))
	}
	checkGolden(t, "lists.txt", out.String())
}
