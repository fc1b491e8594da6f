package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time; the
// kernel fixes it at 100 on every architecture Go targets.
const clockTicks = 100

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

func (c *Collector) host(_ context.Context, r *result.Result) {
	h := &r.Host
	h.OS, h.Arch = "linux", archName()
	if data, err := c.readFile("/etc/os-release", 64<<10); err == nil {
		kv := ParseKeyValues(data)
		h.Product, h.Version, h.Build = kv["PRETTY_NAME"], kv["VERSION_ID"], kv["BUILD_ID"]
	} else if data, err2 := c.readFile("/usr/lib/os-release", 64<<10); err2 == nil {
		kv := ParseKeyValues(data)
		h.Product, h.Version = kv["PRETTY_NAME"], kv["VERSION_ID"]
	} else {
		c.fileError(r, "host", "/etc/os-release", err)
	}
	if data, err := c.readFile("/etc/hostname", 4096); err == nil {
		h.Hostname = strings.TrimSpace(string(data))
	}
	for _, p := range []string{"/etc/default/locale", "/etc/locale.conf"} {
		if data, err := c.readFile(p, 64<<10); err == nil {
			if l := ParseKeyValues(data)["LANG"]; l != "" {
				h.Locale = l
				break
			}
		}
	}
	if data, err := c.readFile("/etc/resolv.conf", 64<<10); err == nil {
		for _, l := range lines(data) {
			f := strings.Fields(l)
			if len(f) >= 2 && (f[0] == "search" || f[0] == "domain") {
				h.Domain = f[1]
				break
			}
		}
	}
	h.Users = c.userNames(r)
	if !c.live {
		return
	}
	if name, err := os.Hostname(); err == nil {
		h.Hostname = name
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Version[:])
		if d := unix.ByteSliceToString(u.Domainname[:]); d != "" && d != "(none)" && h.Domain == "" {
			h.Domain = d
		}
	}
	if h.Locale == "" {
		h.Locale = os.Getenv("LANG")
	}
	if data, err := c.readFile("/proc/stat", 1<<20); err == nil {
		for _, l := range lines(data) {
			if v, ok := strings.CutPrefix(l, "btime "); ok {
				if sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					c.bootTime = time.Unix(sec, 0).UTC()
					h.BootTime = c.bootTime
					h.Uptime = int64(c.now().Sub(c.bootTime).Seconds())
				}
			}
		}
	} else {
		c.fileError(r, "host", "/proc/stat", err)
	}
	h.IPs = interfaceIPs(r)
	h.Elevated = os.Geteuid() == 0
}

// interfaceIPs lists the addresses of the interfaces that are up, except
// loopback.
func interfaceIPs(r *result.Result) []string {
	ifs, err := net.Interfaces()
	if err != nil {
		r.Errorf("host", "interfaces", "%v", err)
		return nil
	}
	var out []string
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out
}

// systemLibDir reports library paths that belong to the distribution;
// modules elsewhere are the ones worth listing.
func systemLibDir(p string) bool {
	for _, pre := range []string{"/usr/lib/", "/lib/", "/lib64/", "/usr/lib64/", "/usr/lib32/", "/lib32/", "/usr/share/", "/var/cache/", "/usr/libexec/", "/dev/zero", "/SYSV", "/proc/", "/sys/", "/run/systemd/", "/var/lib/sss/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func (c *Collector) processes(ctx context.Context, r *result.Result) {
	entries, err := os.ReadDir(c.path("/proc"))
	if err != nil {
		r.Errorf("processes", "/proc", "%v", cleanErr(err))
		return
	}
	uids := map[string]string{}
	for _, u := range c.passwd(r) {
		uids[u.UID] = u.Name
	}
	c.socketOwners = map[uint64]int{}
	var noExe, noFD int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := c.throttle.Tick(ctx); err != nil {
			r.Errorf("processes", "", "stopped: %v", err)
			return
		}
		dir := c.path("/proc/" + e.Name())
		statData, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue // the process ended between listing and reading
		}
		st, err := ParseProcStat(statData)
		if err != nil {
			r.Errorf("processes", strconv.Itoa(pid), "%v", err)
			continue
		}
		p := result.Process{PID: pid, PPID: st.PPID, Name: st.Comm}
		if !c.bootTime.IsZero() {
			p.Started = c.bootTime.Add(time.Duration(st.StartTicks) * time.Second / clockTicks)
		}
		if data, err := os.ReadFile(dir + "/cmdline"); err == nil {
			p.CommandLine = ParseCmdline(data)
		}
		if data, err := os.ReadFile(dir + "/status"); err == nil {
			if uid, ok := ParseProcStatusUID(data); ok {
				p.User = uids[uid]
				if p.User == "" {
					p.User = uid
				}
			}
		}
		kernelThread := st.PPID == 2 || pid == 2
		exe, err := os.Readlink(dir + "/exe")
		switch {
		case err == nil:
			if trimmed, ok := strings.CutSuffix(exe, " (deleted)"); ok {
				exe, p.Deleted = trimmed, true
			}
			p.Path = exe
			sum, herr := c.hashFile(ctx, exe, dir+"/exe")
			if herr != nil && !errors.Is(herr, context.Canceled) && !errors.Is(herr, context.DeadlineExceeded) {
				r.Errorf("processes/hash", exe, "%v", cleanErr(herr))
			}
			p.SHA256 = sum
		case !kernelThread && errors.Is(err, fs.ErrPermission):
			noExe++
		}
		if !kernelThread {
			if data, err := os.ReadFile(dir + "/maps"); err == nil {
				mods := ParseProcMaps(data)
				for _, m := range mods {
					if m == p.Path || m == p.Path+" (deleted)" {
						continue
					}
					p.ModuleCount++
					if !systemLibDir(m) && len(p.Modules) < 64 {
						p.Modules = append(p.Modules, m)
					}
				}
			}
			if !c.socketsOf(dir, pid) {
				noFD++
			}
		}
		r.Processes = append(r.Processes, p)
	}
	if noExe > 0 {
		r.Errorf("processes", "", "executable path and hash of %d processes not readable: run as root (or Administrator) to see them", noExe)
	}
	if noFD > 0 {
		r.Errorf("connections", "", "socket owners of %d processes not readable: run as root to attribute their connections", noFD)
	}
}

// socketsOf maps the socket inodes held by process pid to it; it reports
// false when the descriptor table is not readable.
func (c *Collector) socketsOf(dir string, pid int) bool {
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return !errors.Is(err, fs.ErrPermission)
	}
	for _, fd := range fds {
		l, err := os.Readlink(dir + "/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if v, ok := strings.CutPrefix(l, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				c.socketOwners[ino] = pid
			}
		}
	}
	return true
}

func (c *Collector) connections(_ context.Context, r *result.Result) {
	names := map[int]string{}
	for _, p := range r.Processes {
		names[p.PID] = p.Name
	}
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		p := "/proc/net/" + proto
		data, err := c.readFile(p, 64<<20)
		if err != nil {
			c.fileError(r, "connections", p, err)
			continue
		}
		for _, s := range ParseProcNet(data) {
			if strings.HasPrefix(proto, "udp") {
				s.State = ""
			}
			if s.State == "TIME_WAIT" || s.State == "CLOSE" {
				continue
			}
			conn := result.Connection{
				Protocol: proto, LocalAddr: s.LocalAddr.String(), LocalPort: s.LocalPort, State: s.State,
			}
			if s.RemotePort != 0 || (s.RemoteAddr.IsValid() && !s.RemoteAddr.IsUnspecified()) {
				conn.RemoteAddr, conn.RemotePort = s.RemoteAddr.String(), s.RemotePort
			}
			if pid, ok := c.socketOwners[s.Inode]; ok {
				conn.PID, conn.Process = pid, names[pid]
			}
			r.Connections = append(r.Connections, conn)
		}
	}
}

func (c *Collector) persistence(ctx context.Context, r *result.Result) {
	homes := c.homes(r)
	c.systemd(ctx, r, homes)
	c.cron(ctx, r, []string{"/var/spool/cron/crontabs", "/var/spool/cron"})
	c.rcLocal(r)
	for _, p := range c.glob("/etc/init.d/*") {
		c.scriptEntry(r, "init.d", p)
	}
	if data, err := c.readFile("/etc/ld.so.preload", 1<<20); err == nil {
		for _, l := range lines(data) {
			if t := strings.TrimSpace(l); t != "" && t[0] != '#' {
				r.Persistence = append(r.Persistence, result.Persistence{Kind: "ld-preload", Location: "/etc/ld.so.preload", Command: t, Modified: c.mtime("/etc/ld.so.preload")})
			}
		}
	} else {
		c.fileError(r, "persistence/ld-preload", "/etc/ld.so.preload", err)
	}
	c.sshKeys(r, homes)
	c.profiles(r, homes)
}

// systemd records the units an administrator or user added
// (/etc/systemd/system, user unit folders) and the distribution's units
// that are enabled, found through the symlinks in *.wants folders.
func (c *Collector) systemd(ctx context.Context, r *result.Result, homes map[string]string) {
	type dir struct{ path, user string }
	dirs := []dir{{"/etc/systemd/system", ""}, {"/etc/systemd/user", ""}}
	for home, user := range homes {
		dirs = append(dirs, dir{home + "/.config/systemd/user", user})
	}
	type found struct {
		user    string
		enabled bool
	}
	units := map[string]*found{}
	var order []string
	for _, d := range dirs {
		base := c.path(d.path)
		_ = filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p != base {
					c.fileError(r, "persistence/systemd", c.endpointPath(p), err)
				}
				return nil
			}
			if e.IsDir() {
				if strings.Count(strings.TrimPrefix(p, base), "/") > 1 {
					return fs.SkipDir
				}
				return nil
			}
			name := e.Name()
			if !strings.HasSuffix(name, ".service") && !strings.HasSuffix(name, ".timer") && !strings.HasSuffix(name, ".path") && !strings.HasSuffix(name, ".socket") {
				return nil
			}
			enabled := strings.HasSuffix(filepath.Dir(p), ".wants") || strings.HasSuffix(filepath.Dir(p), ".requires")
			unitPath := c.endpointPath(p)
			if e.Type()&fs.ModeSymlink != 0 {
				target, err := os.Readlink(p)
				if err != nil {
					return nil
				}
				if !filepath.IsAbs(target) {
					target = filepath.Join(filepath.Dir(unitPath), target)
				}
				if target == "/dev/null" {
					return nil // masked
				}
				unitPath = target
			}
			if f, ok := units[unitPath]; ok {
				f.enabled = f.enabled || enabled
				return nil
			}
			units[unitPath] = &found{d.user, enabled}
			order = append(order, unitPath)
			return nil
		})
	}
	for _, p := range order {
		_ = c.throttle.Tick(ctx)
		c.unit(r, p, units[p].user, units[p].enabled)
	}
}

func (c *Collector) unit(r *result.Result, p, user string, enabled bool) {
	data, err := c.readFile(p, 1<<20)
	if err != nil {
		c.fileError(r, "persistence/systemd", p, err)
		return
	}
	u := ParseUnit(data)
	var cmds []string
	for _, k := range []string{"Service.ExecStartPre", "Service.ExecStart", "Service.ExecStartPost", "Service.ExecReload", "Service.ExecStop"} {
		cmds = append(cmds, u[k]...)
	}
	if su := u.First("Service.User"); su != "" {
		user = su
	}
	e := enabled
	r.Persistence = append(r.Persistence, result.Persistence{
		Kind: "systemd", Name: filepath.Base(p), Location: p, Command: strings.Join(cmds, "; "), User: user,
		Enabled: &e, Modified: c.mtime(p),
	})
}

// rcLocal records the commands in /etc/rc.local.
func (c *Collector) rcLocal(r *result.Result) {
	const p = "/etc/rc.local"
	data, err := c.readFile(p, 1<<20)
	if err != nil {
		c.fileError(r, "persistence/rc", p, err)
		return
	}
	for _, l := range lines(data) {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' || t == "exit 0" {
			continue
		}
		r.Persistence = append(r.Persistence, result.Persistence{Kind: "rc.local", Location: p, Command: t, Modified: c.mtime(p)})
	}
}

func (c *Collector) software(ctx context.Context, r *result.Result) {
	const status = "/var/lib/dpkg/status"
	if data, err := c.readFile(status, 256<<20); err == nil {
		r.Software = append(r.Software, ParseDpkgStatus(data)...)
	} else {
		c.fileError(r, "software/dpkg", status, err)
	}
	if _, err := os.Stat(c.path("/var/lib/rpm")); err != nil || !c.live {
		return
	}
	rpm, err := exec.LookPath("rpm")
	if err != nil {
		r.Errorf("software/rpm", "/var/lib/rpm", "rpm database present but the rpm command is not: %v", err)
		return
	}
	out, err := exec.CommandContext(ctx, rpm, "-qa", "--qf", `%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n`).Output()
	if err != nil {
		r.Errorf("software/rpm", rpm, "%v", err)
	}
	r.Software = append(r.Software, ParseRPMQuery(out)...)
}

func (c *Collector) files(ctx context.Context, r *result.Result) {
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
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
		c.recentFiles(ctx, r, h+"/.local/share/Trash/files", "trash", 2)
	}
}

func archName() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Sprint(err)
	}
	return unix.ByteSliceToString(u.Machine[:])
}
