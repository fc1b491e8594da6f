// Command playbookload measures the playbook runner on one node: alerts
// are handed to the playbook service as the alert subscription does,
// each starts a run of a playbook with an approval gate and a Defender
// isolation (a local fake of the vendor's API); it reports the alert →
// first step latency, then approves every run while all -runs wait at
// once and checks that each ends with exactly one isolate request.
//
//	go run ./bench/playbookload -runs 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/normalize/normalizetest"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/playbook/edr/edrfake"
	"github.com/tansa-sec/tansa/internal/server"
	"github.com/tansa-sec/tansa/internal/tansa"
)

const source = `name: Isolate after approval (load)
trigger:
  alert: level == "critical" and host != ""
steps:
  - id: approve
    action: approval
    approvers: {roles: [provider-admin]}
    timeout: 1h
  - id: isolate
    action: edr.isolate
    with: {connector: edr, host: "{{ host }}"}
tests:
  - name: critical with a host
    alert: {level: critical, host: pc-1}
    want: {steps: [approve, isolate]}
  - name: high
    alert: {level: high, host: pc-1}
    want: {triggered: false}
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "playbookload:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("runs", 1000, "runs (alerts)")
	batch := flag.Int("batch", 50, "alerts per delivery")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "tansa-pbload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var cfg server.Config
	cfg.Data, cfg.Listen = dir, "127.0.0.1:0"
	s, err := server.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "bench")
	if err != nil {
		return err
	}
	defer s.Close()
	ready := make(chan string, 1)
	go s.Serve(ctx, func(a string) { ready <- a })
	<-ready
	sys := access.Caller{Principal: access.System("bench")}
	name := "Load"
	t, err := s.Access.CreateTenant(ctx, sys, access.TenantInput{Name: &name})
	if err != nil {
		return err
	}
	fake := edrfake.NewDefender("app", "secret")
	for i := range *n {
		fake.AddDevice(fmt.Sprintf("pc-%04d", i), fmt.Sprintf("%040x", i+1))
	}
	edr := httptest.NewServer(fake)
	defer edr.Close()
	if _, err := s.Playbooks.PutConnector(ctx, sys, playbook.ConnectorInput{TenantID: t.ID, Name: "edr", Kind: "defender",
		Config:  map[string]string{"base_url": edr.URL, "token_url": edr.URL + "/t/oauth2/v2.0/token", "client_id": "app"},
		Secrets: map[string]string{"client_secret": "secret"}}); err != nil {
		return err
	}
	on := true
	if _, _, err := s.Playbooks.Create(ctx, sys, playbook.PlaybookInput{TenantID: t.ID, Source: source, Enabled: &on}); err != nil {
		return err
	}
	// Phase 1: alerts arrive in deliveries of -batch; each starts a run.
	cpu0, wall0 := normalizetest.CPUTime(), time.Now()
	for i := 0; i < *n; i += *batch {
		var as []tansa.Alert
		for j := i; j < min(i+*batch, *n); j++ {
			as = append(as, tansa.Alert{ID: fmt.Sprintf("alert-%04d", j), TenantID: t.ID, Kind: tansa.AlertSigma, RuleTitle: "Ransomware",
				Level: "critical", Host: fmt.Sprintf("pc-%04d", j), Created: time.Now()})
		}
		if err := s.Playbooks.Trigger(ctx, as); err != nil {
			return err
		}
	}
	runs := func() []playbook.Run {
		var all []playbook.Run
		for off := 0; ; off += 500 {
			l, total, err := s.Playbooks.Runs(ctx, sys, playbook.RunQuery{Page: access.Page{Limit: 500, Offset: off}})
			if err != nil {
				panic(err)
			}
			all = append(all, l...)
			if off+500 >= total {
				return all
			}
		}
	}
	waitAll := func(status string) ([]playbook.Run, error) {
		deadline := time.Now().Add(10 * time.Minute)
		for {
			all := runs()
			k := 0
			for _, r := range all {
				if r.Status == status {
					k++
				}
			}
			if len(all) == *n && k == *n {
				return all, nil
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%d of %d runs %s after 10 minutes", k, len(all), status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	all, err := waitAll(playbook.StatusWaiting)
	if err != nil {
		return err
	}
	wall1, cpu1 := time.Since(wall0), normalizetest.CPUTime()-cpu0
	var lat []time.Duration
	for _, r := range all {
		full, err := s.Playbooks.Run(ctx, sys, r.ID)
		if err != nil || len(full.Steps) == 0 {
			return fmt.Errorf("run %s has no steps: %v", r.ID, err)
		}
		lat = append(lat, full.Steps[0].Started.Sub(r.Created))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("alert → playbook start, %d runs started in deliveries of %d: p50 %v, p95 %v, p99 %v, max %v; all waiting after %.2f s wall, %.2f s CPU (%.2f ms CPU per run)\n",
		*n, *batch, q(.5).Round(time.Millisecond), q(.95).Round(time.Millisecond), q(.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		wall1.Seconds(), cpu1.Seconds(), cpu1.Seconds()*1000/float64(*n))

	// Phase 2: every run waits at once; approve them all.
	cpu0, wall0 = normalizetest.CPUTime(), time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(all))
	for _, r := range all {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.Playbooks.Decide(ctx, sys, r.ID, "approve", "approve", "load"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if _, err := waitAll(playbook.StatusSucceeded); err != nil {
		return err
	}
	wall2, cpu2 := time.Since(wall0), normalizetest.CPUTime()-cpu0
	calls := fake.AllCalls()
	wrong := 0
	for i := range *n {
		if calls[fmt.Sprintf("isolate:%040x", i+1)] != 1 {
			wrong++
		}
	}
	b, _ := json.Marshal(map[string]any{"runs": *n, "succeeded": len(all), "devices_wrong": wrong})
	fmt.Printf("%d concurrent waiting runs approved and isolated in %.2f s wall, %.2f s CPU (%.2f ms CPU per run); %s\n",
		*n, wall2.Seconds(), cpu2.Seconds(), cpu2.Seconds()*1000/float64(*n), b)
	if wrong > 0 {
		return fmt.Errorf("%d devices did not get exactly one isolate request", wrong)
	}
	return nil
}
