//go:build !unix

package normalizetest

import "time"

// CPUTime returns 0 where getrusage is not available; ReportRate then
// reports wall-clock figures only.
func CPUTime() time.Duration { return 0 }
