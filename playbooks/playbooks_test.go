package playbooks_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/playbooks"
)

// TestBuiltins parses every built-in playbook and runs its test cases: a
// playbook without tests, or with a failing one, fails here.
func TestBuiltins(t *testing.T) {
	names, err := fs.Glob(playbooks.Files, "*.yaml")
	if err != nil || len(names) < 3 {
		t.Fatalf("built-in playbooks: %v %v; want at least three", names, err)
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			src, err := fs.ReadFile(playbooks.Files, name)
			if err != nil {
				t.Fatal(err)
			}
			d, err := playbook.Parse(src)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(d.Tests) < 2 {
				t.Errorf("%s has %d test cases; every built-in needs at least one that starts it and one that does not", name, len(d.Tests))
			}
			fired, quiet := false, false
			for _, r := range d.RunTests(t.Context()) {
				if !r.Passed {
					t.Errorf("%s:%d: test %q: %s", name, r.Line, r.Name, strings.Join(r.Failures, "; "))
				}
				if r.Got.Triggered {
					fired = true
				} else {
					quiet = true
				}
			}
			if d.Trigger.Alert != "" && (!fired || !quiet) {
				t.Errorf("%s: its tests should show both an alert that starts it and one that does not", name)
			}
		})
	}
}
