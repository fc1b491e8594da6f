//go:build unix

package importer

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user plus system CPU time. Benchmarks
// report per-op CPU time beside wall time because the shared build machine
// is often oversubscribed, which inflates wall time but not CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
