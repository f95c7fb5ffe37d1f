package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
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

	// cpu is the CPU time that client, servers and redis-server used meanwhile.
	cpu time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// cpuPerCall is the CPU time used per request, zero where it was not measured.
func (r result) cpuPerCall() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

// target builds the request a client sends for actor number n.
type target func(n int) (method, url, body string)

// scenario is a named target.
type scenario struct {
	name string
	tgt  target
}

// measureRounds measures every scenario once per round, in turn, so that a slow spell of
// the machine falls on all of them alike. It prints the merged results with their ratios to
// the first scenario, then each round's ratios, and returns the merged results.
func measureRounds(ctx context.Context, cfg config, scenarios []scenario) []result {
	merged := make([]result, len(scenarios))
	ratios := make([][]float64, len(scenarios))
	for range max(cfg.rounds, 1) {
		var first float64
		for i, sc := range scenarios {
			r := measure(ctx, sc.name, cfg, sc.tgt)
			if i == 0 {
				first = r.rate()
			}
			ratios[i] = append(ratios[i], r.rate()/first)
			merged[i] = merged[i].merge(r)
		}
	}
	for i := range merged {
		slices.Sort(merged[i].latencies)
	}

	report(os.Stdout, merged[0], merged[1:]...)
	for i, sc := range scenarios[1:] {
		fmt.Printf("  %-32s per round:", sc.name)
		for _, r := range ratios[i+1] {
			fmt.Printf(" %4.0f%%", 100*r)
		}
		fmt.Println()
	}
	return merged
}

// merge adds o's requests, time and latencies to r's.
func (r result) merge(o result) result {
	r.name = o.name
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.latencies = append(r.latencies, o.latencies...)
	return r
}

// measure runs clients in closed loops against target: a warm-up, then the measured
// period. Every answer other than 200 counts as an error.
func measure(ctx context.Context, name string, cfg config, tgt target) result {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.clients * 2,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()

	load(ctx, client, cfg, tgt, cfg.warmup)
	cpu := cfg.meter.used()
	res := load(ctx, client, cfg, tgt, cfg.duration)
	res.cpu = cfg.meter.used() - cpu
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
	fmt.Fprintf(w, "%-34s %10s %8s %9s %9s %9s %9s %8s\n",
		"scenario", "req/s", "errors", "p50", "p90", "p99", "CPU/call", "ratio")
	for _, r := range append([]result{baseline}, results...) {
		fmt.Fprintf(w, "%-34s %10.0f %8d %9s %9s %9s %9s %7.0f%%\n",
			r.name, r.rate(), r.errors,
			round(r.percentile(0.50)), round(r.percentile(0.90)), round(r.percentile(0.99)),
			round(r.cpuPerCall()), 100*r.rate()/baseline.rate())
	}
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
