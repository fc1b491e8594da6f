package collect

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

func (c *Collector) steps() []step {
	s := []step{{"host", c.host}}
	if c.live {
		s = append(s, step{"processes", c.processes}, step{"connections", c.connections})
	}
	return append(s,
		step{"persistence", c.persistence},
		step{"software", c.software},
		step{"files", c.files},
		step{"dns", func(_ context.Context, r *result.Result) { c.hosts(r, "/etc/hosts") }},
	)
}

// readPlist reads and parses an XML property list under the root.
func (c *Collector) readPlist(p string) (map[string]any, error) {
	data, err := c.readFile(p, 4<<20)
	if err != nil {
		return nil, err
	}
	v, err := ParsePlist(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("property list is not a dictionary")
	}
	return m, nil
}

func (c *Collector) host(_ context.Context, r *result.Result) {
	h := &r.Host
	h.OS = "darwin"
	const sv = "/System/Library/CoreServices/SystemVersion.plist"
	if m, err := c.readPlist(sv); err == nil {
		h.Product = plistString(m, "ProductName")
		h.Version = plistString(m, "ProductVersion")
		h.Build = plistString(m, "ProductBuildVersion")
	} else {
		c.fileError(r, "host", sv, err)
	}
	h.Users = c.userNames(r)
	for home := range c.homes(r) {
		if strings.HasPrefix(home, "/Users/") && filepath.Base(home) != "Shared" {
			h.Users = appendUnique(h.Users, filepath.Base(home))
		}
	}
	sort.Strings(h.Users)
	if !c.live {
		return
	}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
		h.Arch = unix.ByteSliceToString(u.Machine[:])
	}
	h.Locale = os.Getenv("LANG")
	if tv, err := unix.SysctlTimeval("kern.boottime"); err == nil {
		c.bootTime = time.Unix(tv.Unix()).UTC()
		h.BootTime = c.bootTime
		h.Uptime = int64(c.now().Sub(c.bootTime).Seconds())
	}
	if data, err := c.readFile("/etc/resolv.conf", 64<<10); err == nil {
		for _, l := range lines(data) {
			if f := strings.Fields(l); len(f) >= 2 && (f[0] == "search" || f[0] == "domain") {
				h.Domain = f[1]
				break
			}
		}
	}
	h.Elevated = os.Geteuid() == 0
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
				continue
			}
			addrs, _ := i.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					h.IPs = append(h.IPs, ipn.IP.String())
				}
			}
		}
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func (c *Collector) processes(ctx context.Context, r *result.Result) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		r.Errorf("processes", "kern.proc.all", "%v", err)
		return
	}
	names := map[uint32]string{}
	var noArgs int
	for _, kp := range procs {
		if err := c.throttle.Tick(ctx); err != nil {
			r.Errorf("processes", "", "stopped: %v", err)
			return
		}
		pid := int(kp.Proc.P_pid)
		p := result.Process{
			PID: pid, PPID: int(kp.Eproc.Ppid), Name: unix.ByteSliceToString(kp.Proc.P_comm[:]),
			Started: time.Unix(kp.Proc.P_starttime.Unix()).UTC(),
		}
		uid := kp.Eproc.Ucred.Uid
		if n, ok := names[uid]; ok {
			p.User = n
		} else if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
			names[uid], p.User = u.Username, u.Username
		} else {
			names[uid], p.User = strconv.FormatUint(uint64(uid), 10), strconv.FormatUint(uint64(uid), 10)
		}
		if pid > 0 {
			raw, err := unix.SysctlRaw("kern.procargs2", pid)
			if err == nil {
				exe, args, _ := ParseProcArgs2(raw)
				p.Path, p.CommandLine = exe, strings.Join(args, " ")
				if len(p.CommandLine) > maxLine {
					p.CommandLine = p.CommandLine[:maxLine]
				}
			} else {
				noArgs++
			}
		}
		if p.Path != "" {
			if _, err := os.Stat(p.Path); errors.Is(err, fs.ErrNotExist) {
				p.Deleted = true
			} else if sum, err := c.hashFile(ctx, p.Path, p.Path); err == nil {
				p.SHA256 = sum
			} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				r.Errorf("processes/hash", p.Path, "%v", cleanErr(err))
			}
		}
		r.Processes = append(r.Processes, p)
	}
	if noArgs > 0 {
		r.Errorf("processes", "", "path and command line of %d processes not readable: run as root to see them", noArgs)
	}
}

// connections asks lsof, since macOS exposes socket owners only through
// private interfaces; without root lsof sees only the user's own processes.
func (c *Collector) connections(ctx context.Context, r *result.Result) {
	out, err := exec.CommandContext(ctx, "/usr/sbin/lsof", "-nP", "-i", "-F", "pcfPTn").Output()
	if err != nil && len(out) == 0 {
		r.Errorf("connections", "lsof", "%v", err)
		return
	}
	for _, conn := range ParseLsof(out) {
		if conn.State == "TIME_WAIT" || conn.State == "CLOSED" {
			continue
		}
		r.Connections = append(r.Connections, conn)
	}
	if os.Geteuid() != 0 {
		r.Errorf("connections", "lsof", "only the current user's connections are visible: run as root to see all")
	}
}

func (c *Collector) persistence(ctx context.Context, r *result.Result) {
	homes := c.homes(r)
	dirs := map[string]string{"/Library/LaunchAgents": "", "/Library/LaunchDaemons": ""}
	for home, u := range homes {
		dirs[home+"/Library/LaunchAgents"] = u
	}
	keys := make([]string, 0, len(dirs))
	for d := range dirs {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	for _, d := range keys {
		for _, p := range c.glob(d + "/*.plist") {
			_ = c.throttle.Tick(ctx)
			c.launchd(r, p, dirs[d])
		}
	}
	loginItems := []string{"/private/var/db/com.apple.backgroundtaskmanagement"}
	for home := range homes {
		loginItems = append(loginItems, home+"/Library/Application Support/com.apple.backgroundtaskmanagementagent")
	}
	for _, d := range loginItems {
		for _, p := range c.glob(d + "/*.btm") {
			c.scriptEntry(r, "login-items", p)
		}
	}
	c.cron(ctx, r, []string{"/usr/lib/cron/tabs", "/var/at/tabs"})
	for _, p := range c.glob("/etc/periodic/*/*") {
		c.scriptEntry(r, "periodic", p)
	}
	c.sshKeys(r, homes)
	c.profiles(r, homes)
}

func (c *Collector) launchd(r *result.Result, p, user string) {
	kind := "launch-agent"
	if strings.Contains(p, "LaunchDaemons") {
		kind = "launch-daemon"
	}
	e := result.Persistence{Kind: kind, Name: strings.TrimSuffix(filepath.Base(p), ".plist"), Location: p, User: user, Modified: c.mtime(p)}
	m, err := c.readPlist(p)
	if err != nil {
		r.Errorf("persistence/launchd", p, "%v", err)
		r.Persistence = append(r.Persistence, e)
		return
	}
	if l := plistString(m, "Label"); l != "" {
		e.Name = l
	}
	e.Command = LaunchCommand(m)
	if u := plistString(m, "UserName"); u != "" {
		e.User = u
	}
	disabled, _ := m["Disabled"].(bool)
	enabled := !disabled
	e.Enabled = &enabled
	r.Persistence = append(r.Persistence, e)
}

func (c *Collector) software(ctx context.Context, r *result.Result) {
	dirs := []string{"/Applications/*.app", "/Applications/*/*.app"}
	for home := range c.homes(r) {
		dirs = append(dirs, home+"/Applications/*.app")
	}
	for _, pattern := range dirs {
		for _, app := range c.glob(pattern) {
			_ = c.throttle.Tick(ctx)
			sw := result.Software{Name: strings.TrimSuffix(filepath.Base(app), ".app"), Source: "applications"}
			if m, err := c.readPlist(app + "/Contents/Info.plist"); err == nil {
				if n := plistString(m, "CFBundleName"); n != "" {
					sw.Name = n
				}
				sw.Version = plistString(m, "CFBundleShortVersionString")
				if sw.Version == "" {
					sw.Version = plistString(m, "CFBundleVersion")
				}
				sw.Publisher = plistString(m, "CFBundleIdentifier")
			}
			r.Software = append(r.Software, sw)
		}
	}
}

func (c *Collector) files(ctx context.Context, r *result.Result) {
	for _, d := range []string{"/private/tmp", "/private/var/tmp"} {
		c.recentFiles(ctx, r, d, "temp", 3)
	}
	homes := c.homes(r)
	keys := make([]string, 0, len(homes))
	for h := range homes {
		keys = append(keys, h)
	}
	sort.Strings(keys)
	for _, h := range keys {
		c.recentFiles(ctx, r, h+"/Downloads", "download", 2)
		c.recentFiles(ctx, r, h+"/.Trash", "trash", 2)
	}
}
