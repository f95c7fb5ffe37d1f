package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is what one scenario measured.
type result struct {
	name      string
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

// target builds the request a client sends for actor number n.
type target func(n int) (method, url, body string)

// measure runs clients in closed loops against target: a warm-up, then the measured
// period. Every answer other than 200 counts as an error.
func measure(ctx context.Context, name string, cfg config, tgt target) result {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.clients * 2,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()

	load(ctx, client, cfg, tgt, cfg.warmup)
	res := load(ctx, client, cfg, tgt, cfg.duration)
	res.name = name
	return res
}

func load(ctx context.Context, client *http.Client, cfg config, tgt target, d time.Duration) result {
	deadline := time.Now().Add(d)
	perClient := make([]result, cfg.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range perClient {
		wg.Go(func() { perClient[i] = loop(ctx, client, cfg, tgt, deadline) })
	}
	wg.Wait()

	total := result{elapsed: time.Since(start)}
	for _, r := range perClient {
		total.requests += r.requests
		total.errors += r.errors
		total.latencies = append(total.latencies, r.latencies...)
	}
	slices.Sort(total.latencies)
	return total
}

func loop(ctx context.Context, client *http.Client, cfg config, tgt target, deadline time.Time) result {
	var r result
	r.latencies = make([]time.Duration, 0, 4096)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		method, url, body := tgt(rand.IntN(cfg.actors))
		began := time.Now()
		ok := send(ctx, client, method, url, body)
		r.latencies = append(r.latencies, time.Since(began))
		r.requests++
		if !ok {
			r.errors++
		}
	}
	return r
}

func send(ctx context.Context, client *http.Client, method, url, body string) bool {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// report prints one line per result with its ratio to the baseline's rate.
func report(w io.Writer, baseline result, results ...result) {
	fmt.Fprintf(w, "%-34s %10s %8s %9s %9s %9s %8s\n",
		"scenario", "req/s", "errors", "p50", "p90", "p99", "ratio")
	for _, r := range append([]result{baseline}, results...) {
		fmt.Fprintf(w, "%-34s %10.0f %8d %9s %9s %9s %7.0f%%\n",
			r.name, r.rate(), r.errors,
			round(r.percentile(0.50)), round(r.percentile(0.90)), round(r.percentile(0.99)),
			100*r.rate()/baseline.rate())
	}
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
