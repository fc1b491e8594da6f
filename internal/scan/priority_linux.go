package scan

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// lowerPriority sets nice 10 and the idle I/O class. Linux keeps both per
// thread, so every existing thread of the process is changed; threads
// started later inherit the setting from the thread that creates them.
func lowerPriority() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 10); err != nil {
			errs = append(errs, err)
		}
		const ioprioWhoProcess, ioprioClassIdle, ioprioClassShift = 1, 3, 13
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift); e != 0 {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}
