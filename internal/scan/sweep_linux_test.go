package scan

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tansa-sec/tansa/internal/scan/result"
)

// TestSweepLiveLinux sweeps the machine the test runs on and checks what
// a user would look for first: this test's own process, a listener it
// opened, and the packages dpkg knows.
func TestSweepLiveLinux(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	r, err := Sweep(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	self := findProcess(r, os.Getpid())
	if self == nil {
		t.Fatalf("own process %d not among %d processes", os.Getpid(), len(r.Processes))
	}
	exe, _ := os.Executable()
	if self.Path != exe || len(self.SHA256) != 64 || self.PPID != os.Getppid() {
		t.Errorf("own process = %+v, want path %s, a sha256 and ppid %d", *self, exe, os.Getppid())
	}
	var listening bool
	for _, c := range r.Connections {
		if c.Protocol == "tcp" && c.LocalPort == port && c.State == "LISTEN" {
			listening = true
			if c.PID != os.Getpid() {
				t.Errorf("listener on %d owned by pid %d, want %d", port, c.PID, os.Getpid())
			}
		}
	}
	if !listening {
		t.Errorf("listener on 127.0.0.1:%d not found among %d connections", port, len(r.Connections))
	}
	if _, err := os.Stat("/var/lib/dpkg/status"); err == nil {
		n := 0
		for _, s := range r.Software {
			if s.Source == "dpkg" {
				n++
			}
		}
		if n == 0 {
			t.Error("no dpkg packages found although /var/lib/dpkg/status exists")
		}
	}
	if r.Host.OS != "linux" || r.Host.Hostname == "" {
		t.Errorf("host = %+v", r.Host)
	}
	t.Logf("%d processes, %d connections, %d persistence, %d software, %d files, %d findings, %d errors",
		len(r.Processes), len(r.Connections), len(r.Persistence), len(r.Software), len(r.Files), len(r.Findings), len(r.Errors))
	for _, e := range r.Errors {
		t.Logf("error: %+v", e)
	}
	for _, f := range r.Findings {
		t.Logf("finding: %d %s %s", f.Score, f.Rule, f.Message)
	}
}

// TestSweepFlagsBinaryRunFromTemp copies sleep into a temporary folder,
// runs it from there and, after deleting a second copy while it runs,
// expects both to be flagged.
func TestSweepFlagsBinaryRunFromTemp(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary to copy:", err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := func(name string) *exec.Cmd {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(p, "300")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	temp := start("payload")
	gone := start("vanishing")
	if err := os.Remove(filepath.Join(dir, "vanishing")); err != nil {
		t.Fatal(err)
	}

	r, err := Sweep(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFinding(r, temp.Process.Pid, "process.user-writable-path") {
		t.Errorf("process %d run from %s not flagged as running from a temporary folder; findings: %+v", temp.Process.Pid, dir, findingsFor(r, temp.Process.Pid))
	}
	if p := findProcess(r, gone.Process.Pid); p == nil || !p.Deleted {
		t.Errorf("process %d with a deleted executable: %+v", gone.Process.Pid, p)
	}
	if !hasFinding(r, gone.Process.Pid, "process.deleted-executable") {
		t.Errorf("deleted executable of process %d not flagged; findings: %+v", gone.Process.Pid, findingsFor(r, gone.Process.Pid))
	}
}

func findProcess(r *result.Result, pid int) *result.Process {
	for i := range r.Processes {
		if r.Processes[i].PID == pid {
			return &r.Processes[i]
		}
	}
	return nil
}

func findingsFor(r *result.Result, pid int) []result.Finding {
	var out []result.Finding
	for _, f := range r.Findings {
		if f.Subject.PID == pid {
			out = append(out, f)
		}
	}
	return out
}

func hasFinding(r *result.Result, pid int, rule string) bool {
	for _, f := range findingsFor(r, pid) {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// BenchmarkSweep measures a full sweep of this machine without CPU
// throttling and reports the size of its JSON result. Run it with
// -benchtime=3x: one sweep takes about a second.
func BenchmarkSweep(b *testing.B) {
	var size int
	for b.Loop() {
		r, err := Sweep(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		doc, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		size = len(doc)
	}
	b.ReportMetric(float64(size), "result-bytes")
}
