package collect

import (
	"io/fs"
	"syscall"
	"time"
)

// createdTime returns the file's birth time.
func createdTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Birthtimespec.Sec, st.Birthtimespec.Nsec).UTC()
	}
	return time.Time{}
}
