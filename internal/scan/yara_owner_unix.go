//go:build yara && !windows

package scan

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// owners names files' owners for the owner external, looking each user
// ID up once per scan (a lookup can mean reading /etc/passwd or asking
// sssd).
type owners map[uint32]string

// of returns the name of fi's owner, or its numeric ID when the name is
// unknown.
func (o owners) of(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if name, ok := o[st.Uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	o[st.Uid] = name
	return name
}
