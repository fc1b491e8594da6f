// Command sweepload load-tests the server side of endpoint sweeps (issue
// #6): it makes realistic synthetic sweep results, seals them to a
// server's age key as `tansa scan` does, uploads them concurrently with
// scanner enrolment tokens, and then times the fleet views.
//
//	sweepload gen   -dir D -n 20000 -resweep 200 -tenants 50 -recipient age1…
//	sweepload send  -dir D -server http://127.0.0.1:18191 -tokens tokens.txt -c 8 -pid SERVERPID
//	sweepload views -server http://127.0.0.1:18191 -user admin -password … -n 30
//
// gen does the sealing (gzip and age, the scanner's cost) beforehand so
// that the timed upload spends the machine's CPU on the server, not on
// compressing its own load. The results are shaped like those of
// internal/scan/result from Windows (85 %) and Linux endpoints of 50 group
// companies: host facts, ~130 processes of shared system and office paths
// and hashes (three OS builds, a few tenant-specific and a rare unique
// program), connections, services, scheduled tasks, Run keys, cron and
// systemd units, installed software, recent files, DNS cache, and on about
// 4 % of hosts one to three findings. Host i of tenant t is always the same
// machine, so the -resweep hosts get a second, slightly changed sweep
// (diffs have something to show).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sweepload gen|send|views|crash [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	case "views":
		err = views(os.Args[2:])
	case "crash":
		err = crash(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweepload:", err)
		os.Exit(1)
	}
}

// ---- generation

// item is one sealed result on disk: which tenant's token uploads it.
type item struct {
	File   string `json:"file"`
	Tenant int    `json:"tenant"`
	Host   string `json:"host"`
	Bytes  int    `json:"bytes"`
	JSON   int    `json:"json"`
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "output directory")
	n := fs.Int("n", 20000, "distinct endpoints (one sweep each)")
	resweep := fs.Int("resweep", 200, "endpoints swept a second time (the first ones)")
	tenants := fs.Int("tenants", 50, "tenants (group companies)")
	recipient := fs.String("recipient", "", "the server's age public key")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rcpt, err := age.ParseX25519Recipient(*recipient)
	if err != nil {
		return fmt.Errorf("-recipient: %w", err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	total := *n + *resweep
	items := make([]item, total)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.NumCPU())
	base := time.Now().UTC().Add(-2 * time.Hour)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				host, round := i, 0
				if i >= *n {
					host, round = i-*n, 1
				}
				t := host % *tenants
				r := synth(*seed, t, host, round, base.Add(time.Duration(i)*10*time.Millisecond))
				doc, err := json.Marshal(r)
				if err != nil {
					errs <- err
					return
				}
				sealed, err := scan.Seal(doc, rcpt)
				if err != nil {
					errs <- err
					return
				}
				name := fmt.Sprintf("%06d.tansa", i)
				if err := os.WriteFile(filepath.Join(*dir, name), sealed, 0o644); err != nil {
					errs <- err
					return
				}
				items[i] = item{File: name, Tenant: t, Host: r.Host.Hostname, Bytes: len(sealed), JSON: len(doc)}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	b, _ := json.Marshal(items)
	if err := os.WriteFile(filepath.Join(*dir, "index.json"), b, 0o644); err != nil {
		return err
	}
	var sb, sj []int
	for _, it := range items {
		sb, sj = append(sb, it.Bytes), append(sj, it.JSON)
	}
	slices.Sort(sb)
	slices.Sort(sj)
	fmt.Printf("generated %d sealed results (%d endpoints, %d re-sweeps) in %s\n", total, *n, *resweep, *dir)
	fmt.Printf("sealed size p50 %d B, p95 %d B, max %d B; JSON p50 %d B, p95 %d B\n", sb[len(sb)/2], sb[len(sb)*95/100], sb[len(sb)-1], sj[len(sj)/2], sj[len(sj)*95/100])
	return nil
}

// Shared pools: what every Windows or Linux machine of the group has.
var (
	winSystem = []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\lsass.exe`, `C:\Windows\System32\services.exe`,
		`C:\Windows\System32\wininit.exe`, `C:\Windows\System32\winlogon.exe`, `C:\Windows\System32\csrss.exe`, `C:\Windows\System32\smss.exe`,
		`C:\Windows\explorer.exe`, `C:\Windows\System32\RuntimeBroker.exe`, `C:\Windows\System32\dwm.exe`, `C:\Windows\System32\taskhostw.exe`,
		`C:\Windows\System32\sihost.exe`, `C:\Windows\System32\ctfmon.exe`, `C:\Windows\System32\conhost.exe`, `C:\Windows\System32\spoolsv.exe`,
		`C:\Windows\System32\SearchIndexer.exe`, `C:\Windows\System32\dllhost.exe`, `C:\Windows\System32\WmiPrvSE.exe`, `C:\Windows\System32\audiodg.exe`,
		`C:\Windows\System32\fontdrvhost.exe`, `C:\Windows\System32\LogonUI.exe`, `C:\Windows\System32\SecurityHealthService.exe`,
		`C:\Program Files\Windows Defender\MsMpEng.exe`, `C:\Program Files\Windows Defender\NisSrv.exe`, `C:\Windows\System32\MoUsoCoreWorker.exe`,
		`C:\Windows\SystemApps\Microsoft.Windows.StartMenuExperienceHost_cw5n1h2txyewy\StartMenuExperienceHost.exe`,
		`C:\Windows\SystemApps\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\SearchHost.exe`, `C:\Windows\System32\smartscreen.exe`}
	winApps = []string{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`,
		`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`,
		`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `C:\Users\%USER%\AppData\Local\Microsoft\Teams\current\Teams.exe`,
		`C:\Program Files\Zoom\bin\Zoom.exe`, `C:\Program Files\7-Zip\7zFM.exe`, `C:\Program Files\Adobe\Acrobat DC\Acrobat\Acrobat.exe`,
		`C:\Users\%USER%\AppData\Local\Microsoft\OneDrive\OneDrive.exe`, `C:\Program Files\Notepad++\notepad++.exe`,
		`C:\Program Files\CrowdStrike\CSFalconService.exe`, `C:\Program Files (x86)\Cisco\Cisco AnyConnect Secure Mobility Client\vpnagent.exe`}
	linuxSystem = []string{"/usr/lib/systemd/systemd", "/usr/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-udevd",
		"/usr/lib/systemd/systemd-logind", "/usr/sbin/sshd", "/usr/sbin/cron", "/usr/sbin/rsyslogd", "/usr/bin/dbus-daemon",
		"/usr/sbin/chronyd", "/usr/bin/bash", "/usr/sbin/agetty", "/usr/lib/postfix/sbin/master", "/usr/sbin/nginx",
		"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "/usr/bin/python3.11", "/usr/bin/containerd", "/usr/bin/dockerd"}
	winServices = func() []string {
		base := []string{"AudioSrv", "BFE", "BITS", "BrokerInfrastructure", "CDPSvc", "CryptSvc", "DcomLaunch", "Dhcp", "Dnscache",
			"DPS", "EventLog", "EventSystem", "FontCache", "gpsvc", "iphlpsvc", "LanmanServer", "LanmanWorkstation", "lmhosts",
			"LSM", "mpssvc", "NcbService", "netprofm", "NlaSvc", "nsi", "PlugPlay", "Power", "ProfSvc", "RpcEptMapper", "RpcSs",
			"SamSs", "Schedule", "SENS", "ShellHWDetection", "Spooler", "SysMain", "Themes", "TrkWks", "UserManager", "UsoSvc",
			"W32Time", "WinDefend", "WinHttpAutoProxySvc", "Winmgmt", "WpnService", "wscsvc", "WSearch", "wuauserv"}
		for i := len(base); i < 230; i++ {
			base = append(base, fmt.Sprintf("Svc%03d", i))
		}
		return base
	}()
	software = func() []string {
		s := []string{"Google Chrome", "Microsoft Edge", "Microsoft 365 Apps for enterprise - ja-jp", "Microsoft Teams", "Zoom",
			"7-Zip 23.01 (x64)", "Adobe Acrobat (64-bit)", "Notepad++ (64-bit x64)", "CrowdStrike Windows Sensor",
			"Cisco AnyConnect Secure Mobility Client", "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
			"Microsoft .NET Runtime - 8.0.4 (x64)", "Microsoft OneDrive", "Mozilla Firefox (x64 ja)", "VLC media player",
			"WinSCP 6.1", "PuTTY release 0.80 (64-bit)", "TeamViewer", "AnyDesk", "Python 3.12.2 (64-bit)", "Git", "Java 8 Update 401"}
		for i := len(s); i < 400; i++ {
			s = append(s, fmt.Sprintf("Business App %03d", i))
		}
		return s
	}()
	domains = func() []string {
		d := []string{"login.microsoftonline.com", "outlook.office365.com", "teams.microsoft.com", "www.google.com", "update.googleapis.com",
			"zoom.us", "ctldl.windowsupdate.com", "settings-win.data.microsoft.com", "ts.falcon.crowdstrike.com", "ocsp.digicert.com"}
		for i := len(d); i < 3000; i++ {
			d = append(d, fmt.Sprintf("site%04d.example.co.jp", i))
		}
		return d
	}()
	builds = []string{"19045", "22621", "22631"}
)

func hashOf(parts ...any) string {
	var b bytes.Buffer
	fmt.Fprint(&b, parts...)
	h := fnv(b.Bytes())
	return fmt.Sprintf("%016x%016x%016x%016x", h, h*0x9e3779b97f4a7c15, h^0xdeadbeefcafebabe, h*31+7)
}

func fnv(b []byte) uint64 {
	h := uint64(1469598103934665603)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func ip(r *rand.Rand) string {
	return fmt.Sprintf("%d.%d.%d.%d", 20+r.IntN(180), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

// synth makes the sweep of host (of tenant t) in round 0 or 1.
func synth(seed uint64, t, host, round int, at time.Time) *result.Result {
	hr := rand.New(rand.NewPCG(seed, uint64(host)))                // the machine: same every round
	r := rand.New(rand.NewPCG(seed+uint64(round)+1, uint64(host))) // this sweep
	windows := hr.IntN(100) < 85
	user := fmt.Sprintf("user%05d", host)
	res := &result.Result{Schema: result.SchemaVersion, SweepID: hashOf(seed, host, round)[:32], Scanner: "tansa-scan 0.1.0 windows/amd64",
		Started: at, Finished: at.Add(time.Duration(8+r.IntN(40)) * time.Second)}
	company := fmt.Sprintf("gc%02d", t)
	if windows {
		build := builds[hr.IntN(len(builds))]
		res.Host = result.Host{Hostname: fmt.Sprintf("%s-PC%05d", strings.ToUpper(company), host), OS: "windows", Arch: "amd64",
			Product: "Windows 11 Enterprise", Version: "23H2", Build: build, Locale: "ja-JP", Domain: company + ".corp.example",
			Users: []string{`CORP\` + user}, Uptime: int64(3600 + r.IntN(900000)), IPs: []string{fmt.Sprintf("10.%d.%d.%d", t, host/250%250, host%250+1)}, Elevated: true}
		pid := 4
		proc := func(path string, ppid int, hashSalt any) {
			pid += 4 + r.IntN(200)
			p := strings.ReplaceAll(path, "%USER%", user)
			res.Processes = append(res.Processes, result.Process{PID: pid, PPID: ppid, Name: filepath.Base(strings.ReplaceAll(p, `\`, "/")), Path: p,
				CommandLine: `"` + p + `"`, User: `CORP\` + user, Started: at.Add(-time.Duration(r.IntN(86400)) * time.Second),
				SHA256: hashOf(path, hashSalt), Signed: ptr(true), ModuleCount: 40 + r.IntN(80)})
		}
		for _, p := range winSystem {
			n := 1
			if strings.HasSuffix(p, "svchost.exe") {
				n = 55 + r.IntN(20)
			} else if strings.HasSuffix(p, "conhost.exe") || strings.HasSuffix(p, "dllhost.exe") || strings.HasSuffix(p, "RuntimeBroker.exe") {
				n = 1 + r.IntN(4)
			}
			for range n {
				proc(p, 600, build)
			}
		}
		for _, p := range winApps {
			if hr.IntN(100) < 70 {
				for range 1 + r.IntN(6) {
					proc(p, 5000, "v"+strconv.Itoa(hr.IntN(3)))
				}
			}
		}
		proc(fmt.Sprintf(`C:\Program Files\%s\LineApp%d.exe`, company, hr.IntN(5)), 5000, company) // tenant software
		if hr.IntN(50) == 0 {
			proc(fmt.Sprintf(`C:\Users\%s\AppData\Local\Temp\tool%d.exe`, user, host), 5000, host) // exists on one machine
		}
		for i, s := range winServices {
			if hr.IntN(100) < 95 {
				res.Persistence = append(res.Persistence, result.Persistence{Kind: "service", Name: s, Location: `HKLM\SYSTEM\CurrentControlSet\Services\` + s,
					Command: `C:\Windows\system32\svchost.exe -k netsvcs -p -s ` + s, User: "LocalSystem", Enabled: ptr(i%7 != 0)})
			}
		}
		for i := range 110 + hr.IntN(30) {
			res.Persistence = append(res.Persistence, result.Persistence{Kind: "scheduled-task", Name: fmt.Sprintf(`\Microsoft\Windows\Task%03d`, i),
				Location: fmt.Sprintf(`C:\Windows\System32\Tasks\Microsoft\Windows\Task%03d`, i), Command: fmt.Sprintf(`%%windir%%\system32\task%03d.exe`, i)})
		}
		for _, run := range []string{"SecurityHealth", "OneDrive", "Teams", "AnyConnect"} {
			res.Persistence = append(res.Persistence, result.Persistence{Kind: "run-key", Name: run, Location: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`,
				Command: fmt.Sprintf(`C:\Users\%s\AppData\Local\%s\%s.exe /background`, user, run, run), User: user})
		}
		for i := range 60 + hr.IntN(40) {
			res.Files = append(res.Files, result.File{Path: fmt.Sprintf(`C:\Windows\Prefetch\APP%03d.EXE-%08X.pf`, i, hr.Uint32()), Kind: "prefetch", Size: 20000 + int64(r.IntN(90000)),
				Modified: at.Add(-time.Duration(r.IntN(14*86400)) * time.Second)})
		}
	} else {
		res.Host = result.Host{Hostname: fmt.Sprintf("%s-srv%05d", company, host), OS: "linux", Arch: "x86_64", Product: "Debian GNU/Linux 12 (bookworm)",
			Version: "12", Kernel: "6.1.0-18-amd64", Locale: "C.UTF-8", Users: []string{"root", "deploy"}, Uptime: int64(r.IntN(9000000)),
			IPs: []string{fmt.Sprintf("10.%d.200.%d", t, host%250+1)}}
		pid := 1
		for _, p := range linuxSystem {
			for range 1 + r.IntN(3) {
				res.Processes = append(res.Processes, result.Process{PID: pid, PPID: 1, Name: filepath.Base(p), Path: p, CommandLine: p, User: "root",
					Started: at.Add(-time.Hour), SHA256: hashOf(p, "deb12")})
				pid += 1 + r.IntN(300)
			}
		}
		for i := range 60 + r.IntN(40) { // kernel threads
			res.Processes = append(res.Processes, result.Process{PID: pid + i, PPID: 2, Name: fmt.Sprintf("kworker/%d:%d", i%4, i), User: "root"})
		}
		for _, u := range []string{"ssh", "cron", "rsyslog", "nginx", "postfix", "docker", "containerd", "chrony", "systemd-journald", "app"} {
			res.Persistence = append(res.Persistence, result.Persistence{Kind: "systemd", Name: u + ".service", Location: "/lib/systemd/system/" + u + ".service",
				Command: "/usr/sbin/" + u, Enabled: ptr(true)})
		}
		res.Persistence = append(res.Persistence, result.Persistence{Kind: "cron", Location: "/etc/cron.d/backup", Command: "/opt/backup/run.sh", User: "root"},
			result.Persistence{Kind: "authorized-keys", Name: "deploy@ci", Location: "/home/deploy/.ssh/authorized_keys", User: "deploy"})
	}
	for i := range 25 + r.IntN(40) {
		proto := "tcp"
		c := result.Connection{Protocol: proto, LocalAddr: res.Host.IPs[0], LocalPort: 49152 + r.IntN(16000), RemoteAddr: ip(hr), RemotePort: 443, State: "ESTABLISHED"}
		if i < 8 {
			c = result.Connection{Protocol: proto, LocalAddr: "0.0.0.0", LocalPort: []int{135, 445, 139, 3389, 5985, 22, 80, 25}[i], State: "LISTEN"}
		}
		if len(res.Processes) > 0 {
			p := res.Processes[r.IntN(len(res.Processes))]
			c.PID, c.Process = p.PID, p.Name
		}
		res.Connections = append(res.Connections, c)
	}
	for _, i := range hr.Perm(len(software))[:60+hr.IntN(90)] {
		res.Software = append(res.Software, result.Software{Name: software[i], Version: fmt.Sprintf("%d.%d.%d", 1+i%9, hr.IntN(20), hr.IntN(9000)),
			Publisher: "Vendor " + strconv.Itoa(i%40), Arch: "x64", Source: "registry", Installed: "20240115"})
	}
	for i := range 10 + r.IntN(30) {
		path := fmt.Sprintf(`C:\Users\%s\Downloads\invoice_%d_%d.pdf`, user, host, i)
		f := result.File{Path: path, Kind: "download", Size: int64(10000 + r.IntN(2000000)), Modified: at.Add(-time.Duration(r.IntN(14*86400)) * time.Second),
			SHA256: hashOf(path, round)}
		if i%7 == 0 {
			f.Path, f.Executable = strings.TrimSuffix(path, ".pdf")+".exe", true
		}
		res.Files = append(res.Files, f)
	}
	for range 30 + r.IntN(50) {
		d := domains[min(int(r.ExpFloat64()*300), len(domains)-1)]
		res.DNS = append(res.DNS, result.DNSEntry{Name: d, Address: ip(r), Type: "A", Source: "cache"})
	}
	res.DNS = append(res.DNS, result.DNSEntry{Name: "localhost", Address: "127.0.0.1", Source: "hosts"})
	if hr.IntN(100) < 4 || (round == 1 && r.IntN(10) == 0) {
		for k := range 1 + r.IntN(3) {
			p := fmt.Sprintf(`C:\Users\%s\AppData\Roaming\upd%d\svc%d.exe`, user, host, k)
			res.Findings = append(res.Findings, result.NewFinding("process.user-writable-path", []int{30, 65, 85, 95}[r.IntN(4)], "process.user-writable-path",
				"Process {name} (pid {pid}) runs {path} from a user-writable folder.", map[string]string{"name": filepath.Base(p), "pid": "4242", "path": p},
				result.Subject{Kind: "process", PID: 4242, Path: p}, "T1036"))
		}
	}
	res.Normalize()
	return res
}

func ptr[T any](v T) *T { return &v }

// ---- upload

func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ 100
}

func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory written by gen")
	server := fs.String("server", "", "server base URL")
	tokensFile := fs.String("tokens", "", "scanner tokens, one per line, line k for tenant k")
	conc := fs.Int("c", 8, "uploads in flight")
	pid := fs.Int("pid", 0, "the server's process ID, to report its CPU time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var items []item
	b, err := os.ReadFile(filepath.Join(*dir, "index.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	tf, err := os.Open(*tokensFile)
	if err != nil {
		return err
	}
	var tokens []string
	for sc := bufio.NewScanner(tf); sc.Scan(); {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			tokens = append(tokens, t)
		}
	}
	tf.Close()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	lat := make([]time.Duration, len(items))
	codes := make([]int, len(items))
	var next atomic.Int64
	var sealedBytes atomic.Int64
	cpu0, _ := cpuOf(*pid)
	self0 := normalizetest.CPUTime()
	start := time.Now()
	var wg sync.WaitGroup
	var progressMu sync.Mutex
	done := 0
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				it := items[i]
				body, err := os.ReadFile(filepath.Join(*dir, it.File))
				if err != nil {
					codes[i] = -1
					continue
				}
				sealedBytes.Add(int64(len(body)))
				req, _ := http.NewRequest("POST", *server+"/api/v1/sweeps", bytes.NewReader(body))
				req.Header.Set("Content-Type", scan.ContentType)
				req.Header.Set("Authorization", "Bearer "+tokens[it.Tenant%len(tokens)])
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					codes[i] = -2
					fmt.Fprintln(os.Stderr, "upload:", err)
					continue
				}
				msg, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[i], codes[i] = time.Since(t0), res.StatusCode
				if res.StatusCode != 201 {
					fmt.Fprintf(os.Stderr, "upload %s: %d %s\n", it.File, res.StatusCode, msg)
				}
				progressMu.Lock()
				done++
				if done%2000 == 0 {
					fmt.Printf("  %d uploaded after %s\n", done, time.Since(start).Round(time.Second))
				}
				progressMu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	cpu1, _ := cpuOf(*pid)
	ok := 0
	hist := map[int]int{}
	for _, c := range codes {
		hist[c]++
		if c == 201 {
			ok++
		}
	}
	slices.Sort(lat)
	fmt.Printf("uploaded %d results (%d stored, status codes %v) with %d in flight in %s: %.1f results/s, %.1f MB sealed\n",
		len(items), ok, hist, *conc, wall.Round(time.Millisecond), float64(ok)/wall.Seconds(), float64(sealedBytes.Load())/1e6)
	fmt.Printf("upload latency p50 %s, p95 %s, p99 %s, max %s\n", lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond),
		lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if *pid > 0 {
		c := cpu1 - cpu0
		fmt.Printf("server CPU %.1f s (%.1f ms per result, %.2f cores on average); sender CPU %.1f s\n", c.Seconds(),
			float64(c.Milliseconds())/float64(max(ok, 1)), c.Seconds()/wall.Seconds(), (normalizetest.CPUTime() - self0).Seconds())
	}
	if ok != len(items) {
		return errors.New("some uploads failed")
	}
	return nil
}

// ---- views

func views(args []string) error {
	fs := flag.NewFlagSet("views", flag.ContinueOnError)
	server := fs.String("server", "", "server base URL")
	username := fs.String("user", "admin", "console user")
	password := fs.String("password", "", "console password")
	n := fs.Int("n", 30, "requests per page")
	pid := fs.Int("pid", 0, "the server's process ID, to report its CPU time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(*server+"/login", url.Values{"username": {*username}, "password": {*password}})
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("log in: status %d", res.StatusCode)
	}
	get := func(path string, out any) (time.Duration, error) {
		t0 := time.Now()
		res, err := c.Get(*server + path)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %d %.200s", path, res.StatusCode, b)
		}
		if out != nil {
			return d, json.Unmarshal(b, out)
		}
		return d, nil
	}
	// Find a tenant, an endpoint swept twice, and a rare artifact.
	var tenants struct{ Items []struct{ ID string } }
	if _, err := get("/api/v1/tenants?limit=1", &tenants); err != nil {
		return err
	}
	var sweeps struct {
		Items []struct {
			ID      string
			AssetID string `json:"asset_id"`
		}
	}
	if _, err := get("/api/v1/fleet/sweeps?limit=1", &sweeps); err != nil || len(sweeps.Items) == 0 {
		return fmt.Errorf("no sweeps: %v", err)
	}
	asset := sweeps.Items[0].AssetID
	var two struct {
		Items []struct{ ID string }
	}
	if _, err := get("/api/v1/fleet/sweeps?limit=2&asset="+asset, &two); err != nil {
		return err
	}
	var prev struct{ Items []struct{ ID string } }
	if _, err := get("/api/v1/fleet/prevalence?kind=process&limit=1", &prev); err != nil || len(prev.Items) == 0 {
		return fmt.Errorf("no prevalence: %v", err)
	}
	t := tenants.Items[0].ID
	pages := []struct{ name, path string }{
		{"console /endpoints (coverage, list, top findings), all tenants", "/endpoints"},
		{"console /endpoints?tenant=T", "/endpoints?tenant=" + t},
		{"console /endpoints, page 100", "/endpoints?page=100"},
		{"console /endpoints?q=PC012 (search)", "/endpoints?q=PC012"},
		{"console /endpoints?swept=never", "/endpoints?swept=never"},
		{"console /endpoints?artifact=rare (who has it)", "/endpoints?artifact=" + prev.Items[0].ID},
		{"console /endpoints/{id}", "/endpoints/" + asset},
		{"console /endpoints/prevalence, all tenants", "/endpoints/prevalence"},
		{"console /endpoints/prevalence?kind=hash", "/endpoints/prevalence?kind=hash"},
		{"console /endpoints/prevalence?tenant=T&kind=process", "/endpoints/prevalence?kind=process&tenant=" + t},
		{"API /api/v1/fleet/coverage?days=7", "/api/v1/fleet/coverage?days=7"},
		{"API /api/v1/fleet/assets?limit=50", "/api/v1/fleet/assets?limit=50"},
		{"API /api/v1/fleet/prevalence?limit=50", "/api/v1/fleet/prevalence?limit=50"},
		{"API /api/v1/fleet/findings?limit=50", "/api/v1/fleet/findings?limit=50"},
		{"API /api/v1/fleet/assets/{id}", "/api/v1/fleet/assets/" + asset},
	}
	if len(two.Items) == 2 {
		q := "?from=" + two.Items[1].ID + "&to=" + two.Items[0].ID
		pages = append(pages, struct{ name, path string }{"console /endpoints/diff", "/endpoints/diff" + q},
			struct{ name, path string }{"API /api/v1/fleet/diff", "/api/v1/fleet/diff" + q})
	} else {
		fmt.Println("(the newest sweep's endpoint was swept once: no diff measured)")
	}
	cpu0, _ := cpuOf(*pid)
	fmt.Println("| page | p50 | p95 | max | ≤ 200 ms (p95) |")
	fmt.Println("|---|---:|---:|---:|---|")
	for _, p := range pages {
		var ds []time.Duration
		for range *n {
			d, err := get(p.path, nil)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		p95 := ds[min(len(ds)-1, (len(ds)*95+99)/100-1)]
		mark := "✅"
		if p95 > 200*time.Millisecond {
			mark = "❌"
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", p.name, ms(ds[len(ds)/2]), ms(p95), ms(ds[len(ds)-1]), mark)
	}
	if *pid > 0 {
		cpu1, _ := cpuOf(*pid)
		fmt.Printf("server CPU for %d page loads: %.1f s\n", *n*len(pages), (cpu1 - cpu0).Seconds())
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
