// Command loadgen is a closed-loop HTTP load generator for the foundation
// benchmarks (issue #2). For each URL in turn it keeps -c requests in flight
// for -d (requests still in flight then may finish within -grace and
// count), records every request's latency, and prints the exact p50, p95 and
// p99 (nearest rank over all recorded requests), requests per second and the
// status codes seen, one Markdown table row per URL.
//
//	loadgen -c 8 -d 5s -H "Authorization: Bearer tansa_…" http://127.0.0.1:8080/api/v1/users?limit=50 …
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	if err := run(context.Background(), os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	conc := fs.Int("c", 8, "requests in flight")
	dur := fs.Duration("d", 5*time.Second, "duration per URL (at most 20s)")
	warm := fs.Int("warmup", 1, "requests before measuring")
	grace := fs.Duration("grace", 15*time.Second, "how long requests in flight at the end may take to finish")
	header := headers{}
	fs.Var(&header, "H", "request `header` \"Name: value\" (repeatable)")
	printHeader := fs.Bool("header", true, "print the table header")
	label := fs.String("label", "", "text for the first column (default: the URL's path and query)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dur+*grace > 20*time.Second {
		return errors.New("-d plus -grace must be at most 20s (one bounded run per URL)")
	}
	if fs.NArg() == 0 {
		return errors.New("give one or more URLs")
	}
	if *printHeader {
		fmt.Fprintln(stdout, "| URL | c | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	}
	for _, u := range fs.Args() {
		r, err := measure(ctx, u, header, *conc, *warm, *dur, *grace)
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		name := *label
		if name == "" {
			name = u
			if i := strings.Index(u, "://"); i >= 0 {
				if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
					name = u[i+3+j:]
				}
			}
		}
		fmt.Fprintf(stdout, "| `%s` | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n", name, *conc, len(r.lat), r.rps,
			ms(r.pct(50)), ms(r.pct(95)), ms(r.pct(99)), ms(r.pct(100)), r.statuses())
	}
	return nil
}

type result struct {
	lat        []time.Duration // sorted
	codes      map[int]int
	errs       int
	unfinished int
	rps        float64
}

// pct returns the p-th percentile by nearest rank.
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.lat))+0.999999) - 1
	return r.lat[max(0, min(i, len(r.lat)-1))]
}

func (r result) statuses() string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(r.codes)) {
		parts = append(parts, fmt.Sprintf("%d×%d", c, r.codes[c]))
	}
	if r.errs > 0 {
		parts = append(parts, fmt.Sprintf("errors×%d", r.errs))
	}
	if r.unfinished > 0 {
		parts = append(parts, fmt.Sprintf("unfinished×%d", r.unfinished))
	}
	return strings.Join(parts, " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func measure(ctx context.Context, url string, hdr headers, conc, warm int, dur, grace time.Duration) (result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return nil, err
		}
		for _, h := range hdr {
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				return nil, fmt.Errorf("header %q: want \"Name: value\"", h)
			}
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		return req, nil
	}
	do := func(ctx context.Context) (int, error) {
		req, err := newReq(ctx)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, err
	}
	if _, err := newReq(ctx); err != nil {
		return result{}, err
	}
	// One request warms the server's caches; the connections open during
	// the run, which on loopback costs a fraction of a millisecond.
	for range warm {
		_, _ = do(ctx)
	}

	// Workers start requests until the deadline; a request in flight then
	// may finish within grace and counts, so that a slow URL still reports
	// its latency. What grace cuts off is reported as unfinished.
	deadline := time.Now().Add(dur)
	hard, cancel := context.WithTimeout(ctx, dur+grace)
	defer cancel()
	type worker struct {
		lat        []time.Duration
		codes      map[int]int
		errs       int
		unfinished int
	}
	ws := make([]worker, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		wg.Go(func() {
			w := &ws[i]
			w.codes = map[int]int{}
			for time.Now().Before(deadline) {
				t := time.Now()
				code, err := do(hard)
				if hard.Err() != nil {
					w.unfinished++
					return
				}
				w.lat = append(w.lat, time.Since(t))
				if err != nil {
					w.errs++
					continue
				}
				w.codes[code]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := result{codes: map[int]int{}}
	for _, w := range ws {
		r.lat = append(r.lat, w.lat...)
		r.errs += w.errs
		r.unfinished += w.unfinished
		for c, n := range w.codes {
			r.codes[c] += n
		}
	}
	slices.Sort(r.lat)
	r.rps = float64(len(r.lat)) / elapsed.Seconds()
	return r, nil
}
