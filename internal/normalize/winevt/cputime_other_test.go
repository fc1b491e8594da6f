//go:build !unix

package winevt

import "time"

// cpuTime is not measured on this platform; benchmarks then report no
// per-CPU-second figures.
func cpuTime() time.Duration { return 0 }
