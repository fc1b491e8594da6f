package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

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
		step{"dns", c.dns},
	)
}

// systemRoot is the Windows folder; only environment, never the registry,
// so that it also works for a fixture root.
func systemRoot() string {
	if v := os.Getenv("SystemRoot"); v != "" {
		return v
	}
	return `C:\Windows`
}

func systemDrive() string {
	if v := os.Getenv("SystemDrive"); v != "" {
		return v
	}
	return "C:"
}

// sys32 returns the path to read for a file under System32. A 32-bit
// scanner on 64-bit Windows is redirected to SysWOW64, so it reads the
// native folder through Sysnative instead.
func sys32(rest string) string {
	dir := "System32"
	if runtime.GOARCH == "386" {
		var wow bool
		if err := windows.IsWow64Process(windows.CurrentProcess(), &wow); err == nil && wow {
			dir = "Sysnative"
		}
	}
	return filepath.Join(systemRoot(), dir, rest)
}

// openKey opens a registry key for reading in the native (64-bit) view.
func openKey(root registry.Key, path string) (registry.Key, error) {
	return registry.OpenKey(root, path, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
}

func regString(k registry.Key, name string) string {
	v, typ, err := k.GetStringValue(name)
	if err != nil {
		return ""
	}
	if typ == registry.EXPAND_SZ {
		if e, err := registry.ExpandString(v); err == nil {
			return e
		}
	}
	return v
}

func regInt(k registry.Key, name string) (uint64, bool) {
	v, _, err := k.GetIntegerValue(name)
	return v, err == nil
}

func (c *Collector) host(_ context.Context, r *result.Result) {
	h := &r.Host
	h.OS, h.Arch = "windows", runtime.GOARCH
	if !c.live {
		return
	}
	h.Hostname, _ = os.Hostname()
	if k, err := openKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`); err == nil {
		h.Product = regString(k, "ProductName")
		h.Version = regString(k, "DisplayVersion")
		if h.Version == "" {
			h.Version = regString(k, "ReleaseId")
		}
		h.Build = regString(k, "CurrentBuild")
		if ubr, ok := regInt(k, "UBR"); ok {
			h.Build += "." + strconv.FormatUint(ubr, 10)
		}
		k.Close()
	} else {
		r.Errorf("host", `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`, "%v", err)
	}
	v := windows.RtlGetVersion()
	h.Kernel = fmt.Sprintf("%d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
	// Windows 11 still calls itself "Windows 10" in ProductName.
	if v.BuildNumber >= 22000 {
		h.Product = strings.Replace(h.Product, "Windows 10", "Windows 11", 1)
	}
	if langs, err := windows.GetSystemPreferredUILanguages(windows.MUI_LANGUAGE_NAME); err == nil && len(langs) > 0 {
		h.Locale = langs[0]
	}
	var name *uint16
	var typ uint32
	if err := windows.NetGetJoinInformation(nil, &name, &typ); err == nil {
		if typ == windows.NetSetupDomainName {
			h.Domain = windows.UTF16PtrToString(name)
		} else if typ == windows.NetSetupWorkgroupName {
			h.Domain = "WORKGROUP:" + windows.UTF16PtrToString(name)
		}
		windows.NetApiBufferFree((*byte)(unsafe.Pointer(name)))
	}
	for _, p := range c.profiles(r) {
		h.Users = append(h.Users, filepath.Base(p))
	}
	if proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetTickCount64"); proc.Find() == nil {
		ms, _, _ := proc.Call()
		h.Uptime = int64(ms / 1000)
		h.BootTime = c.now().Add(-time.Duration(ms) * time.Millisecond).UTC().Truncate(time.Second)
	}
	h.Elevated = windows.GetCurrentProcessToken().IsElevated()
	ifs, err := net.Interfaces()
	if err != nil {
		r.Errorf("host", "interfaces", "%v", err)
		return
	}
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

// profiles returns user profile folders: from the ProfileList key on a
// live system, else every folder under \Users.
func (c *Collector) profiles(r *result.Result) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p != "" && !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			out = append(out, p)
		}
	}
	if c.live {
		if k, err := openKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`); err == nil {
			sids, _ := k.ReadSubKeyNames(-1)
			for _, sid := range sids {
				// Well-known service accounts (S-1-5-18/19/20) have profiles
				// under the Windows folder; only real users are wanted.
				if !strings.HasPrefix(sid, "S-1-5-21-") && !strings.HasPrefix(sid, "S-1-12-1-") {
					continue
				}
				if sk, err := openKey(k, sid); err == nil {
					add(regString(sk, "ProfileImagePath"))
					sk.Close()
				}
			}
			k.Close()
		} else {
			r.Errorf("host", "ProfileList", "%v", err)
		}
	}
	for _, p := range c.glob(systemDrive() + `\Users\*`) {
		base := strings.ToLower(filepath.Base(p))
		if base == "public" || base == "default" || base == "default user" || base == "all users" {
			continue
		}
		if fi, err := os.Stat(c.path(p)); err == nil && fi.IsDir() {
			add(p)
		}
	}
	return out
}

func (c *Collector) processes(ctx context.Context, r *result.Result) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		r.Errorf("processes", "", "process snapshot: %v", err)
		return
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	var denied int
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if terr := c.throttle.Tick(ctx); terr != nil {
			r.Errorf("processes", "", "stopped: %v", terr)
			return
		}
		p := result.Process{PID: int(pe.ProcessID), PPID: int(pe.ParentProcessID), Name: windows.UTF16ToString(pe.ExeFile[:])}
		if p.PID == 0 || p.PID == 4 {
			r.Processes = append(r.Processes, p)
			continue
		}
		if !c.processDetails(ctx, r, &p) {
			denied++
		}
		r.Processes = append(r.Processes, p)
	}
	if denied > 0 {
		r.Errorf("processes", "", "details of %d processes not readable (access denied): run as Administrator to see them", denied)
	}
}

// processDetails fills what needs a process handle; it reports false when
// the process could not be opened at all.
func (c *Collector) processDetails(ctx context.Context, r *result.Result, p *result.Process) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(p.PID))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, 32768)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err == nil {
		p.Path = windows.UTF16ToString(buf[:n])
		sum, herr := c.hashFile(ctx, p.Path, p.Path)
		if herr != nil && !errors.Is(herr, context.Canceled) && !errors.Is(herr, context.DeadlineExceeded) {
			r.Errorf("processes/hash", p.Path, "%v", cleanErr(herr))
		}
		p.SHA256 = sum
		p.Signed = c.signed(p.Path)
	}
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err == nil {
		p.Started = time.Unix(0, created.Nanoseconds()).UTC()
	}
	p.CommandLine = commandLine(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err == nil {
		if tu, err := tok.GetTokenUser(); err == nil {
			p.User = c.account(tu.User.Sid)
		}
		tok.Close()
	}
	c.modules(p)
	return true
}

// account returns DOMAIN\user for sid, or the SID itself when it does
// not resolve, looking each SID up once.
func (c *Collector) account(sid *windows.SID) string {
	key := sid.String()
	if name, ok := c.accounts[key]; ok {
		return name
	}
	name := key
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		name = dom + `\` + acct
	}
	if c.accounts == nil {
		c.accounts = map[string]string{}
	}
	c.accounts[key] = name
	return name
}

// commandLine reads a process's command line with
// NtQueryInformationProcess(ProcessCommandLineInformation), available
// since Windows 8.1; older systems leave it empty.
func commandLine(h windows.Handle) string {
	buf := make([]byte, 8192)
	for range 3 {
		var need uint32
		err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, unsafe.Pointer(&buf[0]), uint32(len(buf)), &need)
		if err == nil {
			s := (*windows.NTUnicodeString)(unsafe.Pointer(&buf[0])).String()
			if len(s) > maxLine {
				s = s[:maxLine]
			}
			return s
		}
		if need <= uint32(len(buf)) || need > 1<<20 {
			return ""
		}
		buf = make([]byte, need)
	}
	return ""
}

// modules lists the DLLs a process loaded from outside the Windows and
// Program Files folders, which is where injected and side-loaded DLLs are.
func (c *Collector) modules(p *result.Process) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPMODULE|windows.TH32CS_SNAPMODULE32, uint32(p.PID))
	if err != nil {
		return
	}
	defer windows.CloseHandle(snap)
	var me windows.ModuleEntry32
	me.Size = uint32(unsafe.Sizeof(me))
	for err = windows.Module32First(snap, &me); err == nil; err = windows.Module32Next(snap, &me) {
		m := windows.UTF16ToString(me.ExePath[:])
		if strings.EqualFold(m, p.Path) {
			continue
		}
		p.ModuleCount++
		l := strings.ToLower(m)
		if strings.Contains(l, `:\windows\`) || strings.Contains(l, `:\program files\`) || strings.Contains(l, `:\program files (x86)\`) {
			continue
		}
		if len(p.Modules) < 64 {
			p.Modules = append(p.Modules, m)
		}
	}
}

func (c *Collector) connections(_ context.Context, r *result.Result) {
	iphlpapi := windows.NewLazySystemDLL("iphlpapi.dll")
	names := map[int]string{}
	for _, p := range r.Processes {
		names[p.PID] = p.Name
	}
	const afInet, afInet6 = 2, 23
	const tcpTableOwnerPIDAll, udpTableOwnerPID = 5, 1
	for _, t := range []struct {
		proc  string
		af    uintptr
		class uintptr
		parse func([]byte, bool) []result.Connection
	}{
		{"GetExtendedTcpTable", afInet, tcpTableOwnerPIDAll, ParseTCPTable},
		{"GetExtendedTcpTable", afInet6, tcpTableOwnerPIDAll, ParseTCPTable},
		{"GetExtendedUdpTable", afInet, udpTableOwnerPID, ParseUDPTable},
		{"GetExtendedUdpTable", afInet6, udpTableOwnerPID, ParseUDPTable},
	} {
		buf, err := ipTable(iphlpapi.NewProc(t.proc), t.af, t.class)
		if err != nil {
			r.Errorf("connections", t.proc, "%v", err)
			continue
		}
		for _, conn := range t.parse(buf, t.af == afInet6) {
			if conn.State == "TIME_WAIT" || conn.State == "CLOSE" || conn.State == "DELETE_TCB" {
				continue
			}
			if conn.RemoteAddr == "0.0.0.0" || conn.RemoteAddr == "::" {
				conn.RemoteAddr, conn.RemotePort = "", 0
			}
			conn.Process = names[conn.PID]
			r.Connections = append(r.Connections, conn)
		}
	}
}

// ipTable calls GetExtendedTcpTable or GetExtendedUdpTable, growing the
// buffer while the table grows between calls.
func ipTable(proc *windows.LazyProc, af, class uintptr) ([]byte, error) {
	if err := proc.Find(); err != nil {
		return nil, err
	}
	size := uint32(64 * 1024)
	for range 5 {
		buf := make([]byte, size)
		ret, _, _ := proc.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, af, class, 0)
		switch windows.Errno(ret) {
		case 0:
			return buf[:size], nil
		case windows.ERROR_INSUFFICIENT_BUFFER:
			size += 16 * 1024
			continue
		default:
			return nil, windows.Errno(ret)
		}
	}
	return nil, errors.New("connection table kept growing")
}

// userHives returns the registry roots to read per-user settings from:
// every loaded user hive under HKEY_USERS.
func userHives() []string {
	k, err := registry.OpenKey(registry.USERS, "", registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil
	}
	defer k.Close()
	names, _ := k.ReadSubKeyNames(-1)
	var out []string
	for _, n := range names {
		if !strings.HasSuffix(n, "_Classes") && n != ".DEFAULT" {
			out = append(out, n)
		}
	}
	return out
}

func (c *Collector) persistence(ctx context.Context, r *result.Result) {
	if c.live {
		c.runKeys(r)
		c.services(ctx, r)
		c.ifeo(r)
	}
	c.tasks(ctx, r)
	c.startupFolders(r)
}

func (c *Collector) runKeys(r *result.Result) {
	type root struct {
		key  registry.Key
		name string
		user string
	}
	roots := []root{{registry.LOCAL_MACHINE, "HKLM", ""}}
	for _, sid := range userHives() {
		roots = append(roots, root{registry.USERS, `HKU\` + sid, sid})
	}
	subkeys := []string{
		`Software\Microsoft\Windows\CurrentVersion\Run`, `Software\Microsoft\Windows\CurrentVersion\RunOnce`,
		`Software\Microsoft\Windows\CurrentVersion\RunOnceEx`, `Software\Microsoft\Windows\CurrentVersion\Policies\Explorer\Run`,
		`Software\Wow6432Node\Microsoft\Windows\CurrentVersion\Run`, `Software\Wow6432Node\Microsoft\Windows\CurrentVersion\RunOnce`,
		`Software\Microsoft\Windows NT\CurrentVersion\Windows`, `Software\Microsoft\Windows NT\CurrentVersion\Winlogon`,
		`Software\Wow6432Node\Microsoft\Windows NT\CurrentVersion\Windows`,
	}
	for _, rt := range roots {
		for _, sub := range subkeys {
			path := sub
			if rt.key == registry.USERS {
				path = rt.user + `\` + sub
			}
			k, err := openKey(rt.key, path)
			if err != nil {
				if !errors.Is(err, registry.ErrNotExist) {
					r.Errorf("persistence/registry", rt.name+`\`+sub, "%v", err)
				}
				continue
			}
			loc := rt.name + `\` + sub
			var mod time.Time
			if st, err := k.Stat(); err == nil {
				mod = st.ModTime().UTC()
			}
			switch {
			case strings.HasSuffix(sub, `NT\CurrentVersion\Windows`):
				for _, v := range []string{"AppInit_DLLs", "Load", "Run"} {
					if cmd := strings.TrimSpace(regString(k, v)); cmd != "" {
						kind := "registry-run"
						if v == "AppInit_DLLs" {
							kind = "appinit-dll"
						}
						r.Persistence = append(r.Persistence, result.Persistence{Kind: kind, Name: v, Location: loc, Command: cmd, User: rt.user, Modified: mod})
					}
				}
			case strings.HasSuffix(sub, `Winlogon`):
				for _, v := range []string{"Shell", "Userinit", "Taskman"} {
					if cmd := strings.TrimSpace(regString(k, v)); cmd != "" {
						r.Persistence = append(r.Persistence, result.Persistence{Kind: "winlogon", Name: v, Location: loc, Command: cmd, User: rt.user, Modified: mod})
					}
				}
			default:
				names, _ := k.ReadValueNames(-1)
				for _, n := range names {
					r.Persistence = append(r.Persistence, result.Persistence{Kind: "registry-run", Name: n, Location: loc, Command: regString(k, n), User: rt.user, Modified: mod})
				}
			}
			k.Close()
		}
	}
}

// services reads services from the registry rather than the service
// manager, which needs no administrator rights. Kernel drivers are kept
// only when they start automatically.
func (c *Collector) services(ctx context.Context, r *result.Result) {
	const base = `SYSTEM\CurrentControlSet\Services`
	k, err := openKey(registry.LOCAL_MACHINE, base)
	if err != nil {
		r.Errorf("persistence/services", `HKLM\`+base, "%v", err)
		return
	}
	defer k.Close()
	names, _ := k.ReadSubKeyNames(-1)
	for _, n := range names {
		_ = c.throttle.Tick(ctx)
		sk, err := openKey(k, n)
		if err != nil {
			continue
		}
		typ, _ := regInt(sk, "Type")
		start, hasStart := regInt(sk, "Start")
		image := regString(sk, "ImagePath")
		driver := typ&0x3 != 0
		if image == "" || !hasStart || (driver && start > 2) {
			sk.Close()
			continue
		}
		cmd := normalizeImagePath(image)
		if pk, err := openKey(sk, "Parameters"); err == nil {
			if dll := regString(pk, "ServiceDll"); dll != "" {
				cmd += " [ServiceDll " + normalizeImagePath(dll) + "]"
			}
			pk.Close()
		}
		kind := "service"
		if driver {
			kind = "driver"
		}
		enabled := start != 4
		var mod time.Time
		if st, err := sk.Stat(); err == nil {
			mod = st.ModTime().UTC()
		}
		r.Persistence = append(r.Persistence, result.Persistence{
			Kind: kind, Name: n, Location: `HKLM\` + base + `\` + n, Command: cmd, User: regString(sk, "ObjectName"), Enabled: &enabled, Modified: mod,
		})
		sk.Close()
	}
}

// normalizeImagePath turns the NT forms used by services (\SystemRoot\…,
// \??\C:\…, system32\…) into ordinary paths.
func normalizeImagePath(p string) string {
	p = strings.TrimSpace(p)
	l := strings.ToLower(p)
	switch {
	case strings.HasPrefix(l, `\systemroot\`):
		return systemRoot() + p[len(`\systemroot`):]
	case strings.HasPrefix(l, `\??\`):
		return p[4:]
	case strings.HasPrefix(l, `system32\`):
		return systemRoot() + `\` + p
	}
	return p
}

// ifeo records Image File Execution Options debuggers, which make
// Windows start another program whenever the named one starts.
func (c *Collector) ifeo(r *result.Result) {
	for _, base := range []string{`SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options`, `SOFTWARE\Wow6432Node\Microsoft\Windows NT\CurrentVersion\Image File Execution Options`} {
		k, err := openKey(registry.LOCAL_MACHINE, base)
		if err != nil {
			continue
		}
		names, _ := k.ReadSubKeyNames(-1)
		for _, n := range names {
			sk, err := openKey(k, n)
			if err != nil {
				continue
			}
			if dbg := regString(sk, "Debugger"); dbg != "" {
				r.Persistence = append(r.Persistence, result.Persistence{Kind: "ifeo-debugger", Name: n, Location: `HKLM\` + base + `\` + n, Command: dbg})
			}
			sk.Close()
		}
		k.Close()
	}
}

// tasks reads scheduled task definitions from System32\Tasks; reading
// them needs administrator rights, and the error says so.
func (c *Collector) tasks(ctx context.Context, r *result.Result) {
	dir := sys32("Tasks")
	base := c.path(dir)
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				r.Errorf("persistence/tasks", c.endpointPath(p), "access denied: run as Administrator to read scheduled tasks")
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if terr := c.throttle.Tick(ctx); terr != nil {
			return terr
		}
		data, err := os.ReadFile(p)
		if err != nil {
			c.fileError(r, "persistence/tasks", c.endpointPath(p), err)
			return nil
		}
		t, err := ParseTaskXML(data)
		if err != nil {
			r.Errorf("persistence/tasks", c.endpointPath(p), "%v", err)
			return nil
		}
		name, _ := filepath.Rel(base, p)
		var mod time.Time
		if fi, err := d.Info(); err == nil {
			mod = fi.ModTime().UTC()
		}
		enabled := t.Enabled
		for _, cmd := range t.Commands {
			r.Persistence = append(r.Persistence, result.Persistence{
				Kind: "scheduled-task", Name: `\` + name, Location: c.endpointPath(p), Command: cmd, User: t.Author, Enabled: &enabled, Modified: mod,
			})
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.Errorf("persistence/tasks", dir, "%v", err)
	}
}

func (c *Collector) startupFolders(r *result.Result) {
	programData := os.Getenv("ProgramData")
	if programData == "" {
		programData = systemDrive() + `\ProgramData`
	}
	dirs := []string{programData + `\Microsoft\Windows\Start Menu\Programs\StartUp`}
	for _, p := range c.profiles(r) {
		dirs = append(dirs, p+`\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`)
	}
	for _, d := range dirs {
		for _, p := range c.glob(d + `\*`) {
			if strings.EqualFold(filepath.Base(p), "desktop.ini") {
				continue
			}
			c.scriptEntry(r, "startup-folder", p)
			if strings.EqualFold(filepath.Ext(p), ".lnk") {
				c.shortcutTarget(r, p)
			}
		}
	}
}

// shortcutTarget replaces the command of the startup-folder entry just
// recorded for the shortcut p with what the shortcut starts.
func (c *Collector) shortcutTarget(r *result.Result, p string) {
	if len(r.Persistence) == 0 || r.Persistence[len(r.Persistence)-1].Location != p {
		return
	}
	data, err := c.readFile(p, 1<<20)
	if err != nil {
		c.fileError(r, "persistence/startup-folder", p, err)
		return
	}
	l, err := ParseShellLink(data)
	if err != nil {
		r.Errorf("persistence/startup-folder", p, "%v", err)
		return
	}
	if cmd := l.Command(); cmd != "" {
		r.Persistence[len(r.Persistence)-1].Command = cmd
	}
}

func (c *Collector) scriptEntry(r *result.Result, kind, p string) {
	fi, err := os.Stat(c.path(p))
	if err != nil {
		c.fileError(r, "persistence/"+kind, p, err)
		return
	}
	r.Persistence = append(r.Persistence, result.Persistence{Kind: kind, Name: filepath.Base(p), Location: p, Command: p, Modified: fi.ModTime().UTC()})
}

func (c *Collector) software(_ context.Context, r *result.Result) {
	if !c.live {
		return
	}
	type src struct {
		root registry.Key
		path string
	}
	srcs := []src{
		{registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`},
		{registry.LOCAL_MACHINE, `SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall`},
	}
	for _, sid := range userHives() {
		srcs = append(srcs, src{registry.USERS, sid + `\Software\Microsoft\Windows\CurrentVersion\Uninstall`})
	}
	seen := map[string]bool{}
	for _, s := range srcs {
		k, err := openKey(s.root, s.path)
		if err != nil {
			continue
		}
		names, _ := k.ReadSubKeyNames(-1)
		for _, n := range names {
			sk, err := openKey(k, n)
			if err != nil {
				continue
			}
			sw := result.Software{
				Name: regString(sk, "DisplayName"), Version: regString(sk, "DisplayVersion"),
				Publisher: regString(sk, "Publisher"), Installed: regString(sk, "InstallDate"), Source: "uninstall-registry",
			}
			if strings.Contains(s.path, "Wow6432Node") {
				sw.Arch = "x86"
			}
			sk.Close()
			key := sw.Name + "\x00" + sw.Version
			if sw.Name == "" || seen[key] {
				continue
			}
			seen[key] = true
			r.Software = append(r.Software, sw)
		}
		k.Close()
	}
}

func (c *Collector) files(ctx context.Context, r *result.Result) {
	for _, p := range c.profiles(r) {
		c.recentFiles(ctx, r, p+`\AppData\Local\Temp`, "temp", 2)
		c.recentFiles(ctx, r, p+`\Downloads`, "download", 2)
	}
	c.recentFiles(ctx, r, systemRoot()+`\Temp`, "temp", 2)
	c.recentFiles(ctx, r, systemDrive()+`\Users\Public`, "public", 3)
	c.recycleBin(r)
	c.prefetch(r)
	if c.live {
		for i := range r.Files {
			if r.Files[i].Executable {
				r.Files[i].Signed = c.signed(r.Files[i].Path)
			}
		}
	}
}

// signed checks a file's Authenticode signature with WinVerifyTrust,
// offline (no revocation or URL retrieval, so a sweep never waits on the
// network), caching by path, size and modification time. It returns nil
// when the file cannot be checked.
func (c *Collector) signed(path string) *bool {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	key := hashKey{path, fi.Size(), fi.ModTime().UnixNano()}
	if ok, seen := c.signatures[key]; seen {
		return &ok
	}
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil
	}
	file := &windows.WinTrustFileInfo{Size: uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})), FilePath: p16}
	data := &windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(file),
		ProvFlags:                       windows.WTD_REVOCATION_CHECK_NONE | windows.WTD_CACHE_ONLY_URL_RETRIEVAL,
	}
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	data.StateAction = windows.WTD_STATEACTION_CLOSE
	_ = windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	ok := verr == nil
	c.signatures[key] = ok
	return &ok
}

// recycleBin lists recently deleted files from the $I metadata files of
// every user's Recycle Bin folder.
func (c *Collector) recycleBin(r *result.Result) {
	cutoff := c.now().Add(-c.recent)
	dirs, err := os.ReadDir(c.path(systemDrive() + `\$Recycle.Bin`))
	if err != nil {
		c.fileError(r, "files/recycle-bin", systemDrive()+`\$Recycle.Bin`, err)
		return
	}
	for _, d := range dirs {
		dir := systemDrive() + `\$Recycle.Bin\` + d.Name()
		for _, p := range c.glob(dir + `\$I*`) {
			data, err := c.readFile(p, 64<<10)
			if err != nil {
				c.fileError(r, "files/recycle-bin", p, err)
				continue
			}
			ri, err := ParseRecycleBinI(data)
			if err != nil {
				r.Errorf("files/recycle-bin", p, "%v", err)
				continue
			}
			if ri.Deleted.Before(cutoff) {
				continue
			}
			rpath := filepath.Join(filepath.Dir(p), "$R"+strings.TrimPrefix(filepath.Base(p), "$I"))
			r.Files = append(r.Files, result.File{Path: rpath, Kind: "recycle-bin", Size: ri.Size, Modified: ri.Deleted, OriginalPath: ri.OriginalPath, Executable: isExecutable(c.path(rpath))})
		}
	}
}

// prefetch lists the Prefetch files written recently: each names a
// program that ran. Reading the folder needs administrator rights.
func (c *Collector) prefetch(r *result.Result) {
	dir := systemRoot() + `\Prefetch`
	entries, err := os.ReadDir(c.path(dir))
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			r.Errorf("files/prefetch", dir, "access denied: run as Administrator to list programs that ran")
			return
		}
		c.fileError(r, "files/prefetch", dir, err)
		return
	}
	cutoff := c.now().Add(-c.recent)
	for _, e := range entries {
		if !strings.HasSuffix(strings.ToLower(e.Name()), ".pf") {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().Before(cutoff) {
			continue
		}
		r.Files = append(r.Files, result.File{Path: dir + `\` + e.Name(), Kind: "prefetch", Size: fi.Size(), Modified: fi.ModTime().UTC()})
	}
}

func (c *Collector) dns(_ context.Context, r *result.Result) {
	c.hosts(r, sys32(`drivers\etc\hosts`))
	if !c.live {
		return
	}
	// DnsGetCacheDataTable is undocumented but stable since Windows 2000;
	// it is what `ipconfig /displaydns` uses, without the localised text.
	dnsapi := windows.NewLazySystemDLL("dnsapi.dll")
	proc := dnsapi.NewProc("DnsGetCacheDataTable")
	if err := proc.Find(); err != nil {
		r.Errorf("dns/cache", "dnsapi.dll", "%v", err)
		return
	}
	type cacheEntry struct {
		next  *cacheEntry
		name  *uint16
		typ   uint16
		size  uint16
		flags uint32
	}
	var head *cacheEntry
	if ok, _, err := proc.Call(uintptr(unsafe.Pointer(&head))); ok == 0 {
		r.Errorf("dns/cache", "DnsGetCacheDataTable", "%v", err)
		return
	}
	free := dnsapi.NewProc("DnsFree")
	for e, n := head, 0; e != nil && n < 10000; n++ {
		name := windows.UTF16PtrToString(e.name)
		r.DNS = append(r.DNS, result.DNSEntry{Name: strings.ToLower(name), Type: dnsType(e.typ), Source: "cache"})
		next := e.next
		if free.Find() == nil {
			const dnsFreeFlat = 0
			free.Call(uintptr(unsafe.Pointer(e.name)), dnsFreeFlat)
			free.Call(uintptr(unsafe.Pointer(e)), dnsFreeFlat)
		}
		e = next
	}
}

func dnsType(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 5:
		return "CNAME"
	case 28:
		return "AAAA"
	case 12:
		return "PTR"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 33:
		return "SRV"
	}
	return strconv.Itoa(int(t))
}
