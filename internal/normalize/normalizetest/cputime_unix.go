//go:build unix

package normalizetest

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time, user and system, that this process has
// used so far on all its threads, the garbage collector's included.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
