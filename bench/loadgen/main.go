// Command loadgen is a closed-loop HTTP load generator for the foundation
// benchmarks (issue #2). For each URL in turn it keeps -c requests in flight
// for -d, records every request's latency, and prints the exact p50, p95 and
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
	warm := fs.Int("warmup", 5, "requests per connection before measuring")
	header := headers{}
	fs.Var(&header, "H", "request `header` \"Name: value\" (repeatable)")
	printHeader := fs.Bool("header", true, "print the table header")
	label := fs.String("label", "", "text for the first column (default: the URL's path and query)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dur > 20*time.Second {
		return errors.New("-d must be at most 20s")
	}
	if fs.NArg() == 0 {
		return errors.New("give one or more URLs")
	}
	if *printHeader {
		fmt.Fprintln(stdout, "| URL | c | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	}
	for _, u := range fs.Args() {
		r, err := measure(ctx, u, header, *conc, *warm, *dur)
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
	lat   []time.Duration // sorted
	codes map[int]int
	errs  int
	rps   float64
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
	return strings.Join(parts, " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func measure(ctx context.Context, url string, hdr headers, conc, warm int, dur time.Duration) (result, error) {
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
	// Warm-up opens the connections and the server's caches.
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for range warm {
				_, _ = do(ctx)
			}
		})
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	type worker struct {
		lat   []time.Duration
		codes map[int]int
		errs  int
	}
	ws := make([]worker, conc)
	start := time.Now()
	for i := range ws {
		wg.Go(func() {
			w := &ws[i]
			w.codes = map[int]int{}
			for ctx.Err() == nil {
				t := time.Now()
				code, err := do(ctx)
				if ctx.Err() != nil {
					return // cut off by the end of the run: not a measurement
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
		for c, n := range w.codes {
			r.codes[c] += n
		}
	}
	slices.Sort(r.lat)
	r.rps = float64(len(r.lat)) / elapsed.Seconds()
	return r, nil
}
