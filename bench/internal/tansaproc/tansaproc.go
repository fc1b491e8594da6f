// Package tansaproc runs a real tansa binary for the crash tests under
// bench/: its CLI commands, and `tansa serve` on a data directory, started
// again after a SIGKILL.
package tansaproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Workdir makes a temporary directory named after prefix and, when bin
// is empty, builds the binary into it. The caller removes work.
func Workdir(prefix, bin string) (work, binary string, err error) {
	if work, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", err
	}
	if bin == "" {
		if bin, err = Build(work); err != nil {
			os.RemoveAll(work)
			return "", "", err
		}
	}
	return work, bin, nil
}

// Build compiles ./cmd/tansa (run from the module's root) into dir and
// returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "tansa")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tansa")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return bin, nil
}

// CLI runs `bin args...` and returns its standard output, trimmed; a
// failure carries the command's standard error.
func CLI(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("tansa %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Server is `tansa serve --data Data` on a free local port.
type Server struct {
	Bin, Data string
	Password  string        // TANSA_ADMIN_PASSWORD
	Ready     time.Duration // how long Start waits for /healthz; 30 s when zero
	URL       string        // the base URL, set by Start
	Starts    int           // how many times Start ran the server

	cmd *exec.Cmd
}

// Start runs the server and waits until it answers /healthz.
func (s *Server) Start() error {
	cmd := exec.Command(s.Bin, "serve", "--data", s.Data, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TANSA_ADMIN_PASSWORD="+s.Password)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.Starts++
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server printed no address: %w", err)
	}
	go io.Copy(io.Discard, out)
	s.URL = strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
	ready := s.Ready
	if ready == 0 {
		ready = 30 * time.Second
	}
	for deadline := time.Now().Add(ready); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	return fmt.Errorf("server not ready in %s", ready)
}

// Kill ends the server with SIGKILL: no shutdown, no flush.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Stop ends the server with SIGTERM and waits for it.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		s.cmd = nil
	}
}
