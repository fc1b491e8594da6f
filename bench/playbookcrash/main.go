// Command playbookcrash is the playbook runner's crash test: it starts
// -runs runs of a playbook with an approval gate and an EDR isolation on a
// real tansa server, kills the server with SIGKILL at random moments while
// runs are being started, approved and isolated, restarts it each time,
// and checks that every run ends and that the EDR console (a local fake
// of Microsoft Defender for Endpoint, which also loses some answers after
// acting on them) received exactly one isolate request per run.
//
//	go run ./bench/playbookcrash -runs 100 -kills 4
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/bench/internal/tansaproc"
	"github.com/tansa-sec/tansa/internal/playbook/edr/edrfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "playbookcrash:", err)
		os.Exit(1)
	}
}

const playbookSource = `name: Isolate after approval (crash test)
trigger: {manual: true}
steps:
  - id: approve
    action: approval
    approvers: {roles: [provider-admin]}
    timeout: 1h
  - id: isolate
    action: edr.isolate
    with: {connector: edr, host: "{{ host }}", comment: "crash test"}
    retries: 5
tests:
  - name: isolates after approval
    manual: true
    alert: {host: pc-000}
    want: {steps: [approve, isolate], status: succeeded}
  - name: rejected
    manual: true
    alert: {host: pc-000}
    decisions: {approve: reject}
    want: {steps: [approve], status: rejected}
`

func run() error {
	runs := flag.Int("runs", 100, "playbook runs")
	kills := flag.Int("kills", 4, "kill -9 cycles")
	bin := flag.String("bin", "", "tansa binary (default: build ./cmd/tansa)")
	flag.Parse()
	start := time.Now()
	work, tansa, err := tansaproc.Workdir("tansa-pbcrash-", *bin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	*bin = tansa
	// The EDR console: slow enough that kills land between a call and its
	// record, and losing one answer in ten after acting (a 502).
	fake := edrfake.NewDefender("crash-app", "crash-secret")
	for i := range *runs {
		fake.AddDevice(host(i), fmt.Sprintf("%040x", i+1))
	}
	var lost sync.Mutex
	edr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/isolate") {
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
			lost.Lock()
			if rand.IntN(10) == 0 {
				fake.Fail(edrfake.Fault{Status: 502, AfterEffect: true, Path: "/isolate"})
			}
			lost.Unlock()
		}
		fake.ServeHTTP(w, r)
	}))
	defer edr.Close()

	data := filepath.Join(work, "data")
	srv := &tansaproc.Server{Bin: *bin, Data: data, Password: "playbook-crash-password"}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Kill()
	tenant, err := tansaproc.CLI(*bin, "tenant", "create", "--data", data, "--name", "Crash Test")
	if err != nil {
		return err
	}
	token, err := tansaproc.CLI(*bin, "token", "create", "--data", data, "--role", "provider-admin", "--name", "crash")
	if err != nil {
		return err
	}
	c := &client{srv: srv, token: token}
	if _, err := c.do("PUT", "/api/v1/connectors", map[string]any{"tenant_id": tenant, "name": "edr", "kind": "defender",
		"config":  map[string]string{"base_url": edr.URL, "token_url": edr.URL + "/t/oauth2/v2.0/token", "client_id": "crash-app"},
		"secrets": map[string]string{"client_secret": "crash-secret"}}); err != nil {
		return err
	}
	b, err := c.do("POST", "/api/v1/playbooks", map[string]any{"tenant_id": tenant, "source": playbookSource, "enabled": true})
	if err != nil {
		return err
	}
	var pb struct{ ID string }
	json.Unmarshal(b, &pb)

	killsLeft := *kills
	killer := func(after time.Duration) chan struct{} {
		done := make(chan struct{})
		go func() {
			time.Sleep(after)
			srv.Kill()
			close(done)
		}()
		return done
	}
	// Phase 1: start the runs, killing the server once on the way; a start
	// whose answer was lost is made again (a second run for that host).
	started := map[int]int{}
	var mu sync.Mutex
	pending := make([]int, *runs)
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		var k chan struct{}
		if killsLeft > 0 {
			k = killer(time.Duration(50+rand.IntN(300)) * time.Millisecond)
			killsLeft--
		}
		var failed []int
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, i := range pending {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := c.do("POST", "/api/v1/playbooks/"+pb.ID+"/runs", map[string]any{"alert": map[string]any{"host": host(i), "level": "critical"}}); err != nil {
					mu.Lock()
					failed = append(failed, i)
					mu.Unlock()
					return
				}
				mu.Lock()
				started[i]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if k != nil {
			<-k
			if err := srv.Start(); err != nil {
				return err
			}
		}
		pending = failed
	}
	// Phase 2: approve every waiting run, killing the server at random
	// moments while approvals and isolations are under way.
	for round := 0; ; round++ {
		if round > 50 {
			return errors.New("runs did not finish after 50 rounds")
		}
		all, err := c.runs(tenant)
		if err != nil {
			return err
		}
		var waiting []string
		unfinished := 0
		for _, r := range all {
			switch r.Status {
			case "waiting":
				waiting = append(waiting, r.ID)
				unfinished++
			case "running":
				unfinished++
			}
		}
		if unfinished == 0 {
			break
		}
		var k chan struct{}
		if killsLeft > 0 && len(waiting) > 0 {
			k = killer(time.Duration(100+rand.IntN(600)) * time.Millisecond)
			killsLeft--
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, id := range waiting {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c.do("POST", "/api/v1/playbook-runs/"+id+"/decide", map[string]string{"step": "approve", "decision": "approve"})
			}()
		}
		wg.Wait()
		if k != nil {
			<-k
			if err := srv.Start(); err != nil {
				return err
			}
		} else {
			time.Sleep(500 * time.Millisecond)
		}
	}
	// The verdict: every run succeeded, and each device got exactly as
	// many isolate requests as runs isolated it.
	all, err := c.runs(tenant)
	if err != nil {
		return err
	}
	perHost := map[string]int{}
	for _, r := range all {
		if r.Status != "succeeded" {
			return fmt.Errorf("run %s ended %s: %s", r.ID, r.Status, r.Error)
		}
		var a struct{ Host string }
		json.Unmarshal(r.Alert, &a)
		perHost[a.Host]++
	}
	bad := 0
	calls := fake.AllCalls()
	total := 0
	for i := range *runs {
		id := fmt.Sprintf("%040x", i+1)
		got, want := calls["isolate:"+id], perHost[host(i)]
		total += got
		if got != want || want == 0 {
			bad++
			fmt.Fprintf(os.Stderr, "%s: %d isolate requests, %d runs\n", host(i), got, want)
		}
	}
	fmt.Printf("playbookcrash: %d runs for %d hosts, %d kill -9, %d restarts; %d isolate requests, %d hosts wrong; %.1f s\n",
		len(all), *runs, *kills-killsLeft, srv.Starts-1, total, bad, time.Since(start).Seconds())
	if bad > 0 {
		return fmt.Errorf("%d hosts did not get exactly one isolate request per run", bad)
	}
	return nil
}

func host(i int) string { return fmt.Sprintf("pc-%03d", i) }

type runBody struct {
	ID, Status, Error string
	Alert             json.RawMessage
}

type client struct {
	srv   *tansaproc.Server
	token string
}

func (c *client) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return b, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return b, nil
}

func (c *client) runs(tenant string) ([]runBody, error) {
	var all []runBody
	for off := 0; ; off += 500 {
		b, err := c.do("GET", fmt.Sprintf("/api/v1/playbook-runs?tenant=%s&limit=500&offset=%d", tenant, off), nil)
		if err != nil {
			return nil, err
		}
		var l struct {
			Items []runBody
			Total int
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
		if off+500 >= l.Total {
			return all, nil
		}
	}
}
