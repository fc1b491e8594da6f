package scan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportGraph keeps the scanner small and auditable: on every target
// it ships for, the non-test import graph of internal/scan/... may reach
// only the standard library (without database/sql or httptest), its own
// packages, and the few modules it was allowed: golang.org/x/sys,
// gopsutil, age (with the golang.org/x/crypto parts age needs) and
// go-yara. Anything else — above all the server's packages — fails.
func TestImportGraph(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to list the import graph:", err)
	}
	const module = "github.com/tansa-sec/tansa/"
	allowed := []string{
		module + "internal/scan",
		"golang.org/x/sys/",
		"golang.org/x/crypto/", // only through filippo.io/age
		"filippo.io/age",
		"github.com/shirou/gopsutil/v4/",
		"github.com/Velocidex/go-yara",
	}
	forbiddenStd := []string{"database/sql", "net/http/httptest"}
	// The last target is the YARA build, which needs cgo.
	for _, target := range []string{"linux/amd64", "linux/arm64", "windows/amd64", "windows/386", "darwin/amd64", "darwin/arm64", "linux/amd64/yara"} {
		goos, rest, _ := strings.Cut(target, "/")
		goarch, tag, _ := strings.Cut(rest, "/")
		cgo := "0"
		if tag != "" {
			cgo = "1"
		}
		cmd := exec.Command(goBin, "list", "-deps", "-tags="+tag, "-f", "{{.Standard}} {{.ImportPath}}", "./...")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED="+cgo, "GOFLAGS=-mod=readonly")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: go list: %v\n%s", target, err, out)
		}
		n, sawYARA := 0, false
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			std, path, _ := strings.Cut(line, " ")
			n++
			if std == "true" {
				for _, f := range forbiddenStd {
					if path == f || strings.HasPrefix(path, f+"/") {
						t.Errorf("%s: the scanner imports %s", target, path)
					}
				}
				continue
			}
			sawYARA = sawYARA || path == "github.com/Velocidex/go-yara"
			ok := false
			for _, a := range allowed {
				if path == a || strings.HasPrefix(path, a) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: the scanner imports %s, which is outside its allowed dependencies", target, path)
			}
		}
		if tag == "yara" && !sawYARA {
			t.Errorf("%s: go-yara not in the graph; the listing did not apply the tag", target)
		}
		if n < 10 {
			t.Errorf("%s: only %d packages listed; the listing is broken", target, n)
		}
	}
}
