package scan

import (
	"context"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// scanYARA runs the YARA step the way Sweep does, for tests that give it
// a hand-made result: load the rules, scan, free them.
func scanYARA(ctx context.Context, files []string, r *result.Result, tick func(context.Context) error, template string) {
	y := loadYARA(ctx, files, r, tick)
	defer y.close()
	y.scan(ctx, r, tick, template, DefaultYARAMaxSize)
}
