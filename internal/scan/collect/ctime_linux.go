package collect

import (
	"io/fs"
	"syscall"
	"time"
)

// createdTime returns the inode change time: Linux file systems do not
// all record a birth time, and the change time moves when a file is
// created, copied, unpacked or renamed into place.
func createdTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UTC()
	}
	return time.Time{}
}
