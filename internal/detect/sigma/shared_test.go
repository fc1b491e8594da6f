package sigma

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns $TANSA_SHARED_DATA/rel, skipping the test when the
// variable is unset and failing it when the path is missing.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("TANSA_SHARED_DATA")
	if root == "" {
		t.Skip("TANSA_SHARED_DATA is not set; this test needs the shared SigmaHQ and EVTX data")
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared data %s: %v", p, err)
	}
	return p
}

var ruleDirs = []string{"sigma/rules", "sigma/rules-emerging-threats", "sigma/rules-threat-hunting", "sigma/rules-placeholder"}
