// Command syslogload sends N realistic log lines to a receiver as fast as
// it takes them and measures the wall time until all of them are durably
// stored. The lines are a mix of FortiGate key=value traffic logs, CEF and
// sshd messages behind an RFC 3164 header, every one with its own values;
// one line in 1 000 mentions 203.0.113.5, the address the lookup benchmark
// searches for.
//
// Over TCP syslog (newline-framed, -conns connections):
//
//	syslogload -addr 127.0.0.1:5514 -n 300000 -conns 4 -metrics http://127.0.0.1:18100/metrics
//	syslogload -addr 127.0.0.1:5515 -n 300000 -conns 4 -file /tmp/rsyslog-out.log
//
// Over Splunk HEC (/services/collector/raw, -batch lines per request,
// -conns concurrent senders):
//
//	syslogload -hec http://127.0.0.1:18100 -token T -n 300000 -conns 4 -batch 500 -metrics …
//
// With -metrics it waits until the sum of tansa_events_stored_total has
// grown by N; with -file until the file has grown by N lines. The clock
// starts before the first byte is sent. With -attacks K, one line in K is
// one that SigmaHQ rules match (loglines.Attack), for the live detection
// benchmark.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/tansa-sec/tansa/bench/loglines"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "syslogload:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "", "TCP syslog receiver host:port")
	hec := flag.String("hec", "", "HEC base URL (instead of -addr)")
	token := flag.String("token", "", "HEC ingest token")
	n := flag.Int("n", 100000, "lines to send")
	conns := flag.Int("conns", 4, "TCP connections or concurrent HEC senders")
	batch := flag.Int("batch", 500, "lines per HEC request")
	offset := flag.Int("offset", 0, "number of the first line (distinct values across runs)")
	metrics := flag.String("metrics", "", "wait until tansa_events_stored_total at this URL grows by N")
	file := flag.String("file", "", "wait until this file grows by N lines")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after")
	flag.BoolVar(&fwOnly, "fw", false, "FortiGate traffic lines only (the storage benchmark's typical firewall event)")
	flag.IntVar(&attacks, "attacks", 0, "make one line in `K` one that SigmaHQ rules match (0: none)")
	flag.Parse()
	if (*addr == "") == (*hec == "") {
		return errors.New("give -addr or -hec")
	}

	var base int
	var err error
	switch {
	case *metrics != "":
		base, err = stored(*metrics)
	case *file != "":
		base, err = lines(*file)
	}
	if err != nil {
		return err
	}

	start := time.Now()
	errc := make(chan error, *conns)
	var wg sync.WaitGroup
	for c := range *conns {
		lo, hi := c**n / *conns, (c+1)**n / *conns
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *hec != "" {
				errc <- sendHEC(*hec, *token, *offset+lo, *offset+hi, *batch)
			} else {
				errc <- sendTCP(*addr, *offset+lo, *offset+hi)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	sent := time.Since(start)
	fmt.Printf("sent %d lines over %d connections in %.2f s (%.0f lines/s)\n", *n, *conns, sent.Seconds(), float64(*n)/sent.Seconds())
	if *metrics == "" && *file == "" {
		return nil
	}
	deadline := start.Add(*timeout)
	got := 0
	for time.Now().Before(deadline) {
		if *metrics != "" {
			got, err = stored(*metrics)
		} else {
			got, err = lines(*file)
		}
		if err != nil {
			return err
		}
		if got-base >= *n {
			d := time.Since(start)
			fmt.Printf("stored %d in %.2f s: %.0f events/s\n", got-base, d.Seconds(), float64(*n)/d.Seconds())
			return nil
		}
		time.Sleep(pollWait(got-base, *n, time.Since(start)))
	}
	return fmt.Errorf("timeout: %d of %d stored after %s", got-base, *n, *timeout)
}

// pollWait is how long to wait before asking again how many of n lines are
// stored, done after elapsed: half the time the rate so far says is left,
// between 20 and 250 ms. Tansa's /metrics page costs the server about 2 ms
// of CPU per scrape; polling it every 20 ms throughout took 4 % of the
// server's CPU in a 10 s run and was counted as ingest cost.
func pollWait(done, n int, elapsed time.Duration) time.Duration {
	wait := 250 * time.Millisecond
	if done > 0 {
		left := time.Duration(float64(elapsed) * float64(n-done) / float64(done))
		wait = min(wait, left/2)
	}
	return max(wait, 20*time.Millisecond)
}

// fwOnly makes every line a FortiGate traffic log.
var fwOnly bool

// attacks, when positive, makes line k an attack line when k%attacks is
// attacks/2 (never one of the lines naming 203.0.113.5, k%1000 == 0).
var attacks int

// line appends line k of the stream, without its newline.
func line(b []byte, k int, now time.Time) []byte {
	if attacks > 1 && k%attacks == attacks/2 {
		return loglines.Attack(b, k/attacks, now)
	}
	return loglines.Line(b, k, now, fwOnly)
}

func sendTCP(addr string, lo, hi int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(c, 256<<10)
	now := time.Now()
	var b []byte
	for k := lo; k < hi; k++ {
		b = append(line(b[:0], k, now), '\n')
		if _, err := w.Write(b); err != nil {
			c.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		c.Close()
		return err
	}
	// Close the write side and wait for the receiver to close, so every
	// byte has been read before the connection goes.
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, c)
	}
	return c.Close()
}

func sendHEC(url, token string, lo, hi, batch int) error {
	client := &http.Client{Timeout: time.Minute}
	now := time.Now()
	var body []byte
	for k := lo; k < hi; k += batch {
		body = body[:0]
		for j := k; j < min(k+batch, hi); j++ {
			body = append(line(body, j, now), '\n')
		}
		for {
			req, _ := http.NewRequest("POST", url+"/services/collector/raw", bytes.NewReader(body))
			req.Header.Set("Authorization", "Splunk "+token)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests {
				return fmt.Errorf("hec: %d %s", resp.StatusCode, msg)
			}
			time.Sleep(50 * time.Millisecond) // back-pressure: retry the batch
		}
	}
	return nil
}

// stored sums tansa_events_stored_total over its tenants.
func stored(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "tansa_events_stored_total") {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", l, err)
		}
		sum += v
	}
	return int(sum), sc.Err()
}

// lines counts the newlines in path; a missing file has none. It reads
// only what was appended since its last call, so polling a growing file
// costs the receiver little CPU.
func lines(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(fileOff, io.SeekStart); err != nil {
		return fileLines, err
	}
	buf := make([]byte, 1<<20)
	for {
		m, err := f.Read(buf)
		fileOff += int64(m)
		fileLines += bytes.Count(buf[:m], []byte{'\n'})
		if err == io.EOF {
			return fileLines, nil
		} else if err != nil {
			return fileLines, err
		}
	}
}

// fileOff and fileLines are what lines has read so far.
var (
	fileOff   int64
	fileLines int
)
