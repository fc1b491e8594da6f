package scan

import (
	"errors"

	"golang.org/x/sys/windows"
)

// lowerPriority puts the process in the below-normal priority class and
// then in background mode, which also lowers its I/O and memory priority.
func lowerPriority() error {
	const processModeBackgroundBegin = 0x00100000
	self := windows.CurrentProcess()
	err := windows.SetPriorityClass(self, windows.BELOW_NORMAL_PRIORITY_CLASS)
	return errors.Join(err, windows.SetPriorityClass(self, processModeBackgroundBegin))
}
