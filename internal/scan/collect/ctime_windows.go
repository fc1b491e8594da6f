package collect

import (
	"io/fs"
	"syscall"
	"time"
)

// createdTime returns the file's creation time on this volume.
func createdTime(fi fs.FileInfo) time.Time {
	if a, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok {
		return time.Unix(0, a.CreationTime.Nanoseconds()).UTC()
	}
	return time.Time{}
}
