//go:build !yara

package scan

import (
	"context"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// scanYARA records each rule file as skipped: this binary was built
// without the yara tag (which needs cgo), and a rule silently ignored
// would read as a clean result.
func scanYARA(_ context.Context, files []string, r *result.Result, _ func(context.Context) error, _ string) {
	for _, f := range files {
		r.Errorf("yara", f, "rules skipped: this tansa binary was built without YARA support (build tag yara)")
	}
}
