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
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tansa-sec/tansa/bench/internal/tansaproc"
	"github.com/tansa-sec/tansa/internal/scan"
)

// crash is the sweep uploads' crash test. Scanners upload sealed results
// to a real server, 8 at a time; at a random moment the server is killed
// with SIGKILL and started again. Then every upload the server answered
// 201 must be stored, and every upload of the cycle is sent again: an
// acknowledged one must be refused as a replay (409, stored once), any
// other one stored now or refused as already stored. The sweeps listed at
// the end of each cycle are exactly the results uploaded so far.
//
//	go run ./bench/sweepload crash -cycles 5 -per 40
func crash(args []string) error {
	fs := flag.NewFlagSet("crash", flag.ContinueOnError)
	cycles := fs.Int("cycles", 5, "kill -9 cycles")
	per := fs.Int("per", 40, "sealed results uploaded per cycle")
	conc := fs.Int("c", 8, "uploads in flight")
	bin := fs.String("bin", "", "tansa binary (default: build ./cmd/tansa)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	work, tansa, err := tansaproc.Workdir("tansa-sweepcrash-", *bin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	*bin = tansa
	data := filepath.Join(work, "data")
	srv := &tansaproc.Server{Bin: *bin, Data: data, Password: "sweep-crash-password"}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Kill()
	var tokens []string
	for t := range 2 {
		id, err := tansaproc.CLI(*bin, "tenant", "create", "--data", data, "--name", fmt.Sprintf("Sweep Crash %d", t))
		if err != nil {
			return err
		}
		tok, err := tansaproc.CLI(*bin, "token", "create", "--data", data, "--role", "scanner", "--tenant", id, "--name", "gpo package")
		if err != nil {
			return err
		}
		tokens = append(tokens, tok)
	}
	admin, err := tansaproc.CLI(*bin, "token", "create", "--data", data, "--role", "provider-admin", "--name", "sweep-crash")
	if err != nil {
		return err
	}
	c := &crashClient{srv: srv, admin: admin, http: &http.Client{Timeout: time.Minute}}
	var key struct{ Recipient string }
	if err := c.get("/api/v1/fleet/key", &key); err != nil {
		return err
	}
	dir := filepath.Join(work, "sweeps")
	if err := gen([]string{"-dir", dir, "-n", strconv.Itoa(*cycles * *per), "-resweep", "0", "-tenants", "2", "-recipient", key.Recipient}); err != nil {
		return err
	}
	var items []item
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	upload := func(it item) (int, string, error) {
		body, err := os.ReadFile(filepath.Join(dir, it.File))
		if err != nil {
			return 0, "", err
		}
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sweeps", bytes.NewReader(body))
		req.Header.Set("Content-Type", scan.ContentType)
		req.Header.Set("Authorization", "Bearer "+tokens[it.Tenant])
		res, err := c.http.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		var sw struct{ ID string }
		msg, _ := io.ReadAll(res.Body)
		if res.StatusCode == http.StatusCreated {
			if err := json.Unmarshal(msg, &sw); err != nil || sw.ID == "" {
				return 0, "", fmt.Errorf("201 without a sweep id: %s", msg)
			}
		}
		return res.StatusCode, sw.ID, nil
	}
	acknowledged := 0
	for cy := range *cycles {
		part := items[cy**per : (cy+1)**per]
		killAt := int64(*per/5 + rand.IntN(*per*3/5+1))
		ids := make([]string, len(part)) // the sweep id of each acknowledged upload
		var next, acks atomic.Int64
		var wg sync.WaitGroup
		killed := make(chan struct{})
		var once sync.Once
		for range *conc {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(part) {
						return
					}
					code, id, err := upload(part[i])
					if err != nil {
						return // the server is gone
					}
					if code == http.StatusCreated {
						ids[i] = id
						if acks.Add(1) >= killAt {
							once.Do(func() { close(killed) })
						}
					}
				}
			})
		}
		select {
		case <-killed:
		case <-time.After(2 * time.Minute):
		}
		srv.Kill()
		wg.Wait()
		if err := srv.Start(); err != nil {
			return fmt.Errorf("cycle %d: restart: %w", cy+1, err)
		}
		lost, replays, late := 0, 0, 0
		for i, id := range ids {
			if id == "" {
				continue
			}
			acknowledged++
			var sw struct{ ID string }
			if err := c.get("/api/v1/fleet/sweeps/"+id, &sw); err != nil || sw.ID != id {
				lost++
				fmt.Fprintf(os.Stderr, "cycle %d: acknowledged sweep %s (%s) not found after the restart: %v\n", cy+1, id, part[i].File, err)
			}
		}
		// Everything again: a replay of an acknowledged upload is refused;
		// the others are stored now (or were stored before the kill).
		for i, it := range part {
			code, _, err := upload(it)
			if err != nil {
				return fmt.Errorf("cycle %d: upload again: %w", cy+1, err)
			}
			switch {
			case code == http.StatusConflict:
				replays++
			case code == http.StatusCreated && ids[i] == "":
				late++
			default:
				return fmt.Errorf("cycle %d: %s uploaded again: status %d (acknowledged before the kill: %t)", cy+1, it.File, code, ids[i] != "")
			}
		}
		var list struct{ Total int }
		if err := c.get("/api/v1/fleet/sweeps?limit=0", &list); err != nil {
			return err
		}
		want := (cy + 1) * *per
		fmt.Printf("cycle %2d: %d uploads acknowledged before kill -9, %d lost; sent again: %d refused as replays, %d stored now; %d sweeps listed, want %d\n",
			cy+1, acks.Load(), lost, replays, late, list.Total, want)
		if lost > 0 || list.Total != want {
			return fmt.Errorf("cycle %d: %d acknowledged sweeps lost, %d listed for %d uploaded", cy+1, lost, list.Total, want)
		}
	}
	fmt.Printf("sweepcrash: %d passed, 0 failed (%d acknowledged uploads, none lost, none stored twice)\n", *cycles, acknowledged)
	return nil
}

type crashClient struct {
	srv   *tansaproc.Server
	admin string
	http  *http.Client
}

func (c *crashClient) get(path string, out any) error {
	req, _ := http.NewRequest("GET", c.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.admin)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return errors.New(res.Status + ": " + string(b))
	}
	return json.Unmarshal(b, out)
}
