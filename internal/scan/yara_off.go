//go:build !yara

package scan

import (
	"context"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// yaraRules stands for compiled rules; this build has none.
type yaraRules struct{}

// loadYARA records each rule file as skipped: this binary was built
// without the yara tag (which needs cgo), and a rule silently ignored
// would read as a clean result.
func loadYARA(_ context.Context, files []string, r *result.Result, _ func(context.Context) error) *yaraRules {
	for _, f := range files {
		r.Errorf("yara", f, "rules skipped: this tansa binary was built without YARA support (build tag yara)")
	}
	return nil
}

func (*yaraRules) close() {}

func (*yaraRules) scan(context.Context, *result.Result, func(context.Context) error, string, int64) {}
