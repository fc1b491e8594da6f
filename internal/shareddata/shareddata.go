// Package shareddata finds the project's public test material (SigmaHQ
// rules and regression EVTX, attack samples, real log lines, STIX and IOC
// files) for tests. The material lives outside the repository, in the
// directory that TANSA_SHARED_DATA names; it is never copied in.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of rel (slash-separated) under $TANSA_SHARED_DATA.
// When the variable is unset the test is skipped with a message saying so;
// when it is set but rel is missing the test fails, because a wrong path
// must not pass silently.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	root := os.Getenv("TANSA_SHARED_DATA")
	if root == "" {
		tb.Skip("TANSA_SHARED_DATA is not set; set it to the shared data directory (../shared/data) to run this test on the public samples")
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("TANSA_SHARED_DATA is set but %s is missing: %v", p, err)
	}
	return p
}
