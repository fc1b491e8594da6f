// Package heuristics judges a sweep's artifacts by behaviour: where a
// program runs from, what started it, what its command line does, what
// persistence points at. It reads a result.Result and returns Findings,
// each with a score, a severity and an explanation; it never reads the
// endpoint itself, so the same rules can run again on the server over
// stored results.
package heuristics

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// Rules evaluates results. The zero value is not usable; use New. A Rules
// is safe for concurrent use.
type Rules struct {
	commands    []commandRule
	templates   map[string]string
	officeApps  map[string]bool
	shells      map[string]bool
	webServers  map[string]bool
	downloaders map[string]bool
}

// commandRule is a pattern over command lines (process command lines and
// persistence commands alike).
type commandRule struct {
	id     string
	score  int
	what   string
	re     *regexp.Regexp
	attack []string
}

// New compiles the built-in rules.
func New() *Rules {
	def := func(id string, score int, what, pattern string, attack ...string) commandRule {
		return commandRule{id, score, what, regexp.MustCompile(`(?i)` + pattern), attack}
	}
	return &Rules{
		templates: map[string]string{
			"process.module-user-writable":        "Process {name} (pid {pid}) has loaded the library {module} from a {where}; libraries injected or side-loaded by malware are dropped where any user can write.",
			"process.user-writable-path.signed":   "Process {name} (pid {pid}) runs the signed program {path} from a {where}; installers and updaters do this, but so does malware with a stolen certificate.",
			"process.user-writable-path.unsigned": "Process {name} (pid {pid}) runs the unsigned program {path} from a {where}; legitimate software is signed and installed in protected program folders, malware is dropped where any user can write.",
			"process.user-writable-path":          "Process {name} (pid {pid}) runs {path} from a {where}; legitimate software is installed in protected program folders, malware is dropped where any user can write.",
			"file.recent-executable":              "A program file {path} was recently saved in a {kind} folder; programs there are often what a user was tricked into downloading.",
			"process.masquerade":                  "Process {name} (pid {pid}) has the name of a system program but runs from {path} instead of {expected}; malware borrows such names to hide.",
			"process.kernel-thread-masquerade":    "Process {name} (pid {pid}) calls itself {cmdline} like a kernel thread, but kernel threads have no program file and this one runs {path}.",
			"process.memory-only":                 "Process {name} (pid {pid}) runs a program that exists only in memory ({path}); this is how fileless malware avoids leaving a file to scan.",
			"process.deleted-executable.upgraded": "Process {name} (pid {pid}) runs {path}, whose file has been deleted; in a system folder this usually means the package was upgraded and the program not restarted.",
			"process.deleted-executable":          "Process {name} (pid {pid}) runs {path}, whose file has been deleted; malware deletes its own file after starting to hide from scans.",
			"process.fileless-network":            "Process {name} (pid {pid}) uses the network ({network}) while its program file no longer exists on disk.",
			"process.office-child-shell":          "Office program {parent} (pid {parent_pid}) started {name} (pid {pid}); documents that start shells are the usual way macro malware gets in.",
			"process.webserver-child-shell":       "Web server {parent} (pid {parent_pid}) started {name} (pid {pid}); a web server that runs shells is the sign of a web shell or an exploited application.",
			"persistence.user-writable-path":      "The {kind} entry {name} in {location} starts a program from a {where}: {command}",
			"persistence.ld-preload":              "/etc/ld.so.preload loads {command} into every program; rootkits use this, legitimate software almost never does.",
			"persistence.ssh-forced-command":      "The SSH key {name} in {location} runs a forced command: {command}",
			"persistence.ifeo-debugger":           "Starting {name} actually starts {command} (Image File Execution Options debugger); attackers use this to hijack programs.",
			"persistence.appinit":                 "AppInit_DLLs loads {command} into every program that uses user32.dll.",
		},
		officeApps:  set("winword", "excel", "powerpnt", "outlook", "msaccess", "mspub", "onenote", "visio", "wordpad", "acrord32", "acrobat", "hwp", "soffice.bin", "libreoffice"),
		shells:      set("cmd", "powershell", "pwsh", "wscript", "cscript", "mshta", "rundll32", "regsvr32", "certutil", "bitsadmin", "wmic", "msbuild", "installutil", "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "busybox", "nc", "ncat", "socat", "python", "python3", "perl"),
		webServers:  set("w3wp", "httpd", "apache", "apache2", "nginx", "php-fpm", "php-cgi", "lighttpd", "tomcat", "tomcat9", "caddy", "iisexpress", "sqlservr"),
		downloaders: set("curl", "wget"),
		commands: []commandRule{
			def("certutil-download", 80, "uses certutil to download a file", `\bcertutil(\.exe)?["']?\s.*[-/]urlcache`, "T1105"),
			def("certutil-decode", 60, "uses certutil to decode a file", `\bcertutil(\.exe)?["']?\s.*[-/]decode`, "T1140"),
			def("mshta-remote", 80, "runs remote or inline script through mshta", `\bmshta(\.exe)?["']?\s.*(https?:|javascript:|vbscript:)`, "T1218.005"),
			def("regsvr32-remote", 85, "loads a remote scriptlet through regsvr32 (Squiblydoo)", `\bregsvr32(\.exe)?["']?\s.*(/i:\s*https?:|scrobj)`, "T1218.010"),
			def("rundll32-script", 85, "runs script through rundll32", `\brundll32(\.exe)?["']?\s.*(javascript:|vbscript:|mshtml)`, "T1218.011"),
			def("powershell-encoded", 70, "runs an encoded PowerShell command", `\b(powershell|pwsh)(\.exe)?["']?\s(.*\s)?[-/]e(c|n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedco|ncodedcom|ncodedcomm|ncodedcomma|ncodedcomman|ncodedcommand)?\s+[a-z0-9+/=]{16,}`, "T1059.001", "T1027"),
			def("powershell-download", 75, "downloads and runs code with PowerShell", `\b(powershell|pwsh)(\.exe)?["']?\s.*(downloadstring|downloadfile|downloaddata|invoke-webrequest|\biwr\b|invoke-restmethod|\birm\b|start-bitstransfer).*(http|ftp)`, "T1059.001", "T1105"),
			def("bitsadmin-transfer", 70, "downloads a file with bitsadmin", `\bbitsadmin(\.exe)?["']?\s.*/(transfer|addfile)`, "T1197"),
			def("wmic-remote-process", 60, "creates a process through WMI", `\bwmic(\.exe)?["']?\s.*process\s+call\s+create`, "T1047"),
			def("shadow-copy-delete", 90, "deletes volume shadow copies", `(vssadmin(\.exe)?["']?\s.*delete\s+shadows|wmic(\.exe)?["']?\s.*shadowcopy\s+delete)`, "T1490"),
			def("download-pipe-shell", 80, "downloads a script and pipes it into a shell", `\b(curl|wget|fetch)\b[^|;&]*\|\s*(sudo\s+)?(\S*/)?(ba|da|z|k|c|tc)?sh\b`, "T1059.004", "T1105"),
			def("base64-pipe-shell", 75, "decodes base64 and pipes it into a shell", `base64\s+(-d|--decode|-D)[^|]*\|\s*(sudo\s+)?(\S*/)?(ba|da|z|k)?sh\b`, "T1140", "T1059.004"),
			def("dev-tcp-shell", 85, "opens a network socket from the shell (/dev/tcp), typical of a reverse shell", `/dev/(tcp|udp)/[^/\s]+/\d+`, "T1059.004"),
			def("netcat-exec", 80, "gives a shell to a netcat connection", `\b(nc|ncat|netcat)\b.*\s-(e|c)\s`, "T1059.004"),
			def("scripted-socket", 70, "opens a network socket from an inline script", `\b(python[0-9.]*|perl|ruby|php)\s+-[a-z]*[cer]\s.*\bsocket`, "T1059.006"),
			def("download-to-temp-exec", 70, "downloads into a temporary folder and makes it executable", `\b(curl|wget)\b.*(/tmp/|/dev/shm/|/var/tmp/).*chmod\s+\+?[0-7]*x?`, "T1105"),
		},
	}
}

// Evaluate returns the findings for r, highest score first.
func (rs *Rules) Evaluate(r *result.Result) []result.Finding {
	var out []result.Finding
	byPID := make(map[int]*result.Process, len(r.Processes))
	for i := range r.Processes {
		byPID[r.Processes[i].PID] = &r.Processes[i]
	}
	netPIDs := map[int]string{}
	for _, c := range r.Connections {
		if c.PID != 0 && c.RemoteAddr != "" {
			netPIDs[c.PID] = fmt.Sprintf("%s:%d", c.RemoteAddr, c.RemotePort)
		} else if c.PID != 0 && c.Listening() {
			if _, ok := netPIDs[c.PID]; !ok {
				netPIDs[c.PID] = fmt.Sprintf("listening on %s:%d", c.LocalAddr, c.LocalPort)
			}
		}
	}
	for i := range r.Processes {
		p := &r.Processes[i]
		out = append(out, rs.process(p, byPID[p.PPID], netPIDs[p.PID])...)
	}
	for _, p := range r.Persistence {
		out = append(out, rs.persistence(p)...)
	}
	for _, f := range r.Files {
		if f.Executable && f.Kind != "ioc" {
			args := map[string]string{"path": f.Path, "kind": f.Kind}
			out = append(out, rs.finding("file.recent-executable", 30, "file.recent-executable", args, result.Subject{Kind: "file", Path: f.Path}, "T1204.002"))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

func procSubject(p *result.Process) result.Subject {
	return result.Subject{Kind: "process", PID: p.PID, Path: p.Path}
}

func procArgs(p *result.Process) map[string]string {
	return map[string]string{"name": p.Name, "pid": strconv.Itoa(p.PID), "path": p.Path, "cmdline": p.CommandLine}
}

func (rs *Rules) process(p, parent *result.Process, network string) []result.Finding {
	var out []result.Finding
	subj := procSubject(p)
	if p.Path != "" {
		if where := userWritable(p.Path); where != "" {
			args := procArgs(p)
			args["where"] = where
			score, key := 60, "process.user-writable-path"
			if where == "temporary folder" || where == "shared-memory folder" {
				score = 65
			}
			switch {
			case p.Signed != nil && *p.Signed:
				score, key = 35, "process.user-writable-path.signed"
			case p.Signed != nil:
				score, key = 70, "process.user-writable-path.unsigned"
			}
			out = append(out, rs.finding("process.user-writable-path", score, key, args, subj, "T1204.002", "T1036"))
		}
		if want, ok := misplacedSystemBinary(p.Path); ok {
			args := procArgs(p)
			args["expected"] = want
			out = append(out, rs.finding("process.masquerade", 85, "process.masquerade", args, subj, "T1036.005"))
		}
	}
	for _, m := range p.Modules {
		if where := userWritable(m); where != "" {
			args := procArgs(p)
			args["module"], args["where"] = m, where
			out = append(out, rs.finding("process.module-user-writable", 70, "process.module-user-writable", args, subj, "T1574", "T1055"))
			break
		}
	}
	if p.Path != "" && strings.HasPrefix(p.CommandLine, "[") && strings.HasSuffix(p.CommandLine, "]") {
		out = append(out, rs.finding("process.kernel-thread-masquerade", 85, "process.kernel-thread-masquerade", procArgs(p), subj, "T1036.004"))
	}
	if p.Deleted {
		args := procArgs(p)
		switch {
		case strings.HasPrefix(p.Path, "/memfd:runc_cloned:"):
			// runc re-executes itself from a sealed memfd on purpose
			// (CVE-2019-5736); on container hosts that is every container start.
		case strings.HasPrefix(p.Path, "/memfd:"):
			out = append(out, rs.finding("process.memory-only", 90, "process.memory-only", args, subj, "T1620"))
		case strings.HasPrefix(p.Path, "/usr/") || strings.HasPrefix(p.Path, "/opt/") || strings.HasPrefix(p.Path, "/bin/") || strings.HasPrefix(p.Path, "/sbin/") || strings.HasPrefix(p.Path, "/lib"):
			out = append(out, rs.finding("process.deleted-executable", 25, "process.deleted-executable.upgraded", args, subj, "T1070.004"))
		default:
			out = append(out, rs.finding("process.deleted-executable", 75, "process.deleted-executable", args, subj, "T1070.004"))
		}
		if network != "" {
			args := procArgs(p)
			args["network"] = network
			out = append(out, rs.finding("process.fileless-network", 85, "process.fileless-network", args, subj, "T1070.004", "T1071"))
		}
	}
	if parent != nil {
		pn, cn := baseName(parent), baseName(p)
		switch {
		case rs.officeApps[pn] && rs.shells[cn]:
			args := procArgs(p)
			args["parent"], args["parent_pid"] = parent.Name, strconv.Itoa(parent.PID)
			out = append(out, rs.finding("process.office-child-shell", 80, "process.office-child-shell", args, subj, "T1204.002", "T1059"))
		case rs.webServers[pn] && (rs.shells[cn] || rs.downloaders[cn]):
			args := procArgs(p)
			args["parent"], args["parent_pid"] = parent.Name, strconv.Itoa(parent.PID)
			out = append(out, rs.finding("process.webserver-child-shell", 80, "process.webserver-child-shell", args, subj, "T1505.003", "T1190"))
		}
	}
	out = append(out, rs.commandLine(p.CommandLine, "process {name} (pid {pid})", procArgs(p), subj, "process")...)
	return out
}

// commandLine applies the command-line rules to cmd; who describes the
// command's owner in the message.
func (rs *Rules) commandLine(cmd, who string, args map[string]string, subj result.Subject, kind string) []result.Finding {
	if cmd == "" {
		return nil
	}
	var out []result.Finding
	for _, cr := range rs.commands {
		if !cr.re.MatchString(cmd) {
			continue
		}
		a := make(map[string]string, len(args)+2)
		for k, v := range args {
			a[k] = v
		}
		a["what"], a["command"] = cr.what, cmd
		out = append(out, result.NewFinding(kind+".command."+cr.id, cr.score, kind+".command."+cr.id,
			"The command of "+who+" {what}: {command}", a, subj, cr.attack...))
	}
	return out
}

func (rs *Rules) persistence(p result.Persistence) []result.Finding {
	var out []result.Finding
	subj := result.Subject{Kind: "persistence", Path: p.Location, Ref: p.Name}
	args := map[string]string{"kind": p.Kind, "name": p.Name, "location": p.Location, "command": p.Command}
	if where := userWritableIn(p.Command); where != "" {
		a := copyArgs(args)
		a["where"] = where
		out = append(out, rs.finding("persistence.user-writable-path", 70, "persistence.user-writable-path", a, subj, "T1547", "T1053"))
	}
	if p.Kind == "ld-preload" {
		out = append(out, rs.finding("persistence.ld-preload", 70, "persistence.ld-preload", copyArgs(args), subj, "T1574.006"))
	}
	if p.Kind == "ssh-authorized-key" && p.Command != "" {
		out = append(out, rs.finding("persistence.ssh-forced-command", 30, "persistence.ssh-forced-command", copyArgs(args), subj, "T1098.004"))
	}
	if p.Kind == "ifeo-debugger" {
		out = append(out, rs.finding("persistence.ifeo-debugger", 75, "persistence.ifeo-debugger", copyArgs(args), subj, "T1546.012"))
	}
	if p.Kind == "appinit-dll" {
		out = append(out, rs.finding("persistence.appinit", 70, "persistence.appinit", copyArgs(args), subj, "T1546.010"))
	}
	who := "the {kind} entry {name} in {location}"
	out = append(out, rs.commandLine(p.Command, who, args, subj, "persistence")...)
	return out
}

func copyArgs(m map[string]string) map[string]string {
	c := make(map[string]string, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// baseName returns the lower-case program name of p without a Windows
// extension, preferring the executable's file name to the process name
// (which Linux truncates to 15 bytes).
func baseName(p *result.Process) string {
	n := p.Name
	if p.Path != "" {
		n = path.Base(strings.ReplaceAll(p.Path, `\`, "/"))
	}
	n = strings.ToLower(n)
	return strings.TrimSuffix(n, ".exe")
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// userWritable names the kind of user-writable folder that p is in, or
// returns "" for every other place.
func userWritable(p string) string {
	n := strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	switch {
	case strings.HasPrefix(n, "/tmp/"), strings.HasPrefix(n, "/var/tmp/"), strings.HasPrefix(n, "/private/tmp/"),
		strings.HasPrefix(n, "/private/var/folders/"), strings.Contains(n, "/appdata/local/temp/"), strings.Contains(n, "/windows/temp/"):
		return "temporary folder"
	case strings.HasPrefix(n, "/dev/shm/"), strings.HasPrefix(n, "/run/shm/"):
		return "shared-memory folder"
	case strings.Contains(n, "/downloads/"):
		return "downloads folder"
	case strings.Contains(n, "/.local/share/trash/"), strings.Contains(n, "/$recycle.bin/"), strings.Contains(n, "/.trash/"):
		return "trash folder"
	case strings.Contains(n, "/users/public/"), strings.HasSuffix(path.Dir(n), "/programdata"):
		return "folder every user can write to"
	}
	return ""
}

// userWritableIn finds the first user-writable path inside a command.
func userWritableIn(cmd string) string {
	n := strings.ToLower(strings.ReplaceAll(cmd, `\`, "/"))
	for _, tok := range strings.FieldsFunc(n, func(r rune) bool {
		return r == ' ' || r == '"' || r == '\'' || r == '\t' || r == '=' || r == ';' || r == '>' || r == '<'
	}) {
		if w := userWritable(tok); w != "" {
			return w
		}
		if strings.Contains(tok, "%temp%") || strings.Contains(tok, "%tmp%") {
			return "temporary folder"
		}
	}
	return ""
}

// misplacedSystemBinary reports whether p has the name of a well-known
// system program but lives outside that program's folder, returning the
// expected folder.
func misplacedSystemBinary(p string) (string, bool) {
	if strings.Contains(p, `\`) || (len(p) > 1 && p[1] == ':') {
		n := strings.ToLower(strings.TrimPrefix(p, `\\?\`))
		base := n[strings.LastIndexByte(n, '\\')+1:]
		dir := n[:max(strings.LastIndexByte(n, '\\'), 0)]
		if len(dir) >= 2 && dir[1] == ':' {
			dir = dir[2:]
		}
		switch base {
		case "svchost.exe", "lsass.exe", "csrss.exe", "smss.exe", "services.exe", "wininit.exe", "winlogon.exe",
			"spoolsv.exe", "taskhostw.exe", "lsm.exe", "dllhost.exe", "conhost.exe", "rundll32.exe", "taskhost.exe", "lsaiso.exe", "wuauclt.exe", "ctfmon.exe", "sihost.exe", "fontdrvhost.exe", "dwm.exe", "searchindexer.exe", "runtimebroker.exe":
			if dir != `\windows\system32` && dir != `\windows\syswow64` && !strings.HasPrefix(dir, `\windows\winsxs\`) {
				return `C:\Windows\System32`, true
			}
		case "explorer.exe":
			if dir != `\windows` && dir != `\windows\syswow64` {
				return `C:\Windows`, true
			}
		}
		return "", false
	}
	base, dir := path.Base(p), path.Dir(p)
	switch base {
	case "sshd", "cron", "crond", "init", "systemd", "systemd-journald", "systemd-logind", "dbus-daemon", "rsyslogd", "agetty", "login", "sudo", "su", "passwd", "ps", "ls", "netstat", "ss", "top", "launchd", "kextd", "mds":
		for _, ok := range []string{"/usr/", "/bin", "/sbin", "/lib/", "/lib64/", "/opt/", "/nix/store/", "/snap/", "/System/", "/Library/Apple/"} {
			if strings.HasPrefix(dir+"/", ok) || strings.HasPrefix(dir, ok) {
				return "", false
			}
		}
		return "/usr/sbin or /usr/bin", true
	}
	return "", false
}

// Catalogue returns the English template of every message key the rules
// and the IOC matcher use, for the server to build translations from. The
// map is a copy the caller may keep.
func (rs *Rules) Catalogue() map[string]string {
	m := make(map[string]string, len(rs.templates)+2*len(rs.commands))
	for k, v := range rs.templates {
		m[k] = v
	}
	for _, cr := range rs.commands {
		m["process.command."+cr.id] = "The command of process {name} (pid {pid}) {what}: {command}"
		m["persistence.command."+cr.id] = "The command of the {kind} entry {name} in {location} {what}: {command}"
	}
	m["ioc.match"] = "{what} {value} matches the {type} indicator {indicator}."
	m["yara.match"] = "File {path} matches the YARA rule {rule} from {namespace}."
	m["ioc.match.described"] = "{what} {value} matches the {type} indicator {indicator} ({description})."
	return m
}

// finding builds a Finding from the template registered for key.
func (rs *Rules) finding(rule string, score int, key string, args map[string]string, subj result.Subject, attack ...string) result.Finding {
	return result.NewFinding(rule, score, key, rs.templates[key], args, subj, attack...)
}
