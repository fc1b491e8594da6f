//go:build yara && !windows

package scan

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// fileOwner returns the name of p's owner for the owner external, or its
// numeric ID when the name is unknown, or "" when p cannot be read.
func fileOwner(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	uid := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
