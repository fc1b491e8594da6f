// Command crash is the pipeline's crash test: it sends events to a real
// tansa server over Splunk HEC as fast as the server takes them, kills the
// server with SIGKILL at a random moment, restarts it, and checks that
// every event the server acknowledged is stored and searchable exactly
// once. It repeats for -cycles cycles on one data directory.
//
//	go run ./bench/crash -cycles 20
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/bench/internal/tansaproc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crash:", err)
		os.Exit(1)
	}
}

const password = "crash-test-password"

func run() error {
	cycles := flag.Int("cycles", 20, "kill -9 cycles")
	senders := flag.Int("senders", 4, "concurrent HEC senders")
	batch := flag.Int("batch", 200, "events per HEC request")
	bin := flag.String("bin", "", "tansa binary (default: build ./cmd/tansa)")
	flag.Parse()

	work, tansa, err := tansaproc.Workdir("tansa-crash-", *bin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	*bin = tansa
	data := filepath.Join(work, "data")
	srv := &server{&tansaproc.Server{Bin: *bin, Data: data, Password: password, Ready: 5 * time.Second}}
	if err := srv.Start(); err != nil {
		return err
	}
	tenant, err := tansaproc.CLI(*bin, "tenant", "create", "--data", data, "--name", "Crash Test")
	if err != nil {
		return err
	}
	token, err := tansaproc.CLI(*bin, "token", "create", "--data", data, "--role", "ingest", "--tenant", tenant, "--name", "crash")
	if err != nil {
		return err
	}
	reader, err := tansaproc.CLI(*bin, "token", "create", "--data", data, "--role", "provider-analyst", "--name", "crash-reader")
	if err != nil {
		return err
	}
	totalAcked := 0
	for c := 1; c <= *cycles; c++ {
		since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
		// The kill comes after a random number of events, while requests
		// are in flight: mid-stream, and within what one export returns.
		acked, sent := srv.load(token, c, *senders, *batch, 5000+rand.IntN(55000))
		if err := srv.Start(); err != nil {
			return fmt.Errorf("cycle %d: restart: %w", c, err)
		}
		got, err := srv.collect(reader, c, since, len(acked))
		if err != nil {
			return fmt.Errorf("cycle %d: %w", c, err)
		}
		missing, dup := 0, 0
		for seq := range acked {
			switch got[seq] {
			case 0:
				missing++
			case 1:
			default:
				dup++
			}
		}
		for seq, n := range got {
			if n > 1 && !acked[seq] {
				dup++
			}
		}
		totalAcked += len(acked)
		fmt.Printf("cycle %2d: sent %6d, acknowledged %6d, stored %6d, acknowledged but missing %d, duplicated %d\n",
			c, sent, len(acked), len(got), missing, dup)
		if missing > 0 || dup > 0 {
			srv.Stop()
			return fmt.Errorf("cycle %d lost %d acknowledged events and duplicated %d", c, missing, dup)
		}
	}
	srv.Stop()
	fmt.Printf("%d cycles of kill -9, %d acknowledged events, none lost, none duplicated\n", *cycles, totalAcked)
	fmt.Printf("crash: %d passed, 0 failed\n", *cycles)
	return nil
}

// server is the tansa server under test.
type server struct{ *tansaproc.Server }

// load sends events of cycle c and, once killAt events are on their way,
// kills the server with SIGKILL while requests are in flight. It returns
// the acknowledged sequence numbers and how many were sent.
func (s *server) load(token string, c, senders, batch, killAt int) (map[int]bool, int) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[int]bool{}
	sent := 0
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	kill := make(chan struct{})
	var killOnce sync.Once
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				first := (w*1_000_000 + n) * batch
				var body bytes.Buffer
				for i := range batch {
					fmt.Fprintf(&body, `{"event":{"crash_cycle":%d,"crash_seq":%d,"message":"crash test event"}}`, c, first+i)
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/services/collector/event", &body)
				req.Header.Set("Authorization", "Splunk "+token)
				mu.Lock()
				sent += batch
				if sent >= killAt {
					killOnce.Do(func() { close(kill) })
				}
				mu.Unlock()
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					for i := range batch {
						acked[first+i] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	select {
	case <-kill:
	case <-time.After(time.Minute): // a server that stopped answering is killed too
	}
	s.Kill() // SIGKILL: no shutdown, no flush
	cancel()
	wg.Wait()
	return acked, sent
}

// collect waits for the pipeline to store at least want events of cycle
// c (or for the count to stop growing), then returns how often each
// sequence number is stored.
// Queries name the cycle's start (since), so they read only its events
// through the time index instead of every event stored so far.
func (s *server) collect(token string, c int, since string, want int) (map[int]int, error) {
	last, stable := -1, 0
	for range 600 {
		n, err := s.count(token, c, since)
		if err != nil {
			return nil, err
		}
		if n == last {
			stable++
		} else {
			stable = 0
		}
		if (n >= want && stable >= 3) || stable >= 40 {
			break
		}
		last = n
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/events/export?format=jsonl&f.crash_cycle=%d&since=%s", s.URL, c, since), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("export: %d %s", resp.StatusCode, b)
	}
	got := map[int]int{}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev struct {
			Fields map[string]any `json:"fields"`
		}
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		seq, ok := ev.Fields["crash_seq"].(float64)
		if !ok {
			return nil, fmt.Errorf("an exported event has no crash_seq: %v", ev.Fields)
		}
		got[int(seq)]++
	}
	return got, nil
}

func (s *server) count(token string, c int, since string) (int, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/events?limit=0&f.crash_cycle=%d&since=%s", s.URL, c, since), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return body.Total, nil
}
