// Command readytime measures how long "tansa serve" takes from exec to its
// first 200 on /healthz, polling every 10 ms, over several starts; it prints
// each start and the median. With -fresh every start gets a new empty data
// directory under -data, so each one is a first start (migrations and the
// first administrator included).
//
//	readytime -bin /tmp/tansa-bench -data /tmp/seeded -listen 127.0.0.1:18090 -n 5
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "readytime:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("readytime", flag.ContinueOnError)
	bin := fs.String("bin", "", "the tansa `binary` (required)")
	data := fs.String("data", "", "data `directory`, or with -fresh the parent of one new directory per start (required)")
	fresh := fs.Bool("fresh", false, "start each time in a new empty data directory")
	listen := fs.String("listen", "127.0.0.1:18090", "listen `address` (loopback)")
	n := fs.Int("n", 5, "number of starts")
	timeout := fs.Duration("timeout", 20*time.Second, "give up on a start after this long")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *bin == "" || *data == "" {
		return errors.New("-bin and -data are required")
	}
	var times []time.Duration
	for i := range *n {
		dir := *data
		if *fresh {
			dir = filepath.Join(*data, fmt.Sprintf("fresh-%d-%d", os.Getpid(), i))
		}
		d, err := start(ctx, *bin, dir, *listen, *timeout)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		fmt.Fprintf(stdout, "start %d: ready in %.1f ms\n", i+1, float64(d)/float64(time.Millisecond))
		times = append(times, d)
	}
	slices.Sort(times)
	fmt.Fprintf(stdout, "median of %d: %.1f ms (min %.1f, max %.1f)\n", len(times),
		ms(times[len(times)/2]), ms(times[0]), ms(times[len(times)-1]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// start runs the server once, measures time to ready and stops it with
// SIGTERM.
func start(ctx context.Context, bin, dir, listen string, timeout time.Duration) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", dir, "--listen", listen)
	cmd.Env = append(os.Environ(), "TANSA_ADMIN_PASSWORD=bench-password-1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	client := &http.Client{Timeout: 500 * time.Millisecond}
	url := "http://" + listen + "/healthz"
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d := time.Since(t0)
				stop()
				return d, nil
			}
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("server exited before it was ready: %v", err)
		case <-tick.C:
		}
		if time.Since(t0) > timeout {
			stop()
			return 0, fmt.Errorf("not ready after %v", timeout)
		}
	}
}
