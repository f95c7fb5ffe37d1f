// Command troupe-bench measures the sidecar's actor call path against a bare two-hop HTTP
// path in the same run, and the sidecar's memory per idle actor. It starts its own
// redis-server, a test app, a reverse proxy and a sidecar on loopback (proxy and sidecar
// in processes of their own unless -in-process), measures the scenarios in interleaved
// rounds, and prints requests/s, latency percentiles, CPU per call and ratios to the
// baseline.
//
//	go run ./cmd/troupe-bench [-duration 5s] [-rounds 3] [-clients 32] [-actors 100]
//	go run ./cmd/troupe-bench -in-process -cpuprofile cpu.out   (one profile of everything)
//	go run ./cmd/troupe-bench -tracing "$(scripts/jaeger.sh)"   (tracing off / 0.01 / 1)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"
)

type config struct {
	duration   time.Duration
	warmup     time.Duration
	rounds     int
	clients    int
	actors     int
	idleActors int
	forwarding bool
	inProcess  bool
	redis      string
	cpuProfile string

	// meter reads the CPU time that scenarios use; it counts this process and redis-server.
	meter cpuMeter
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "measuring time per scenario")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up time per scenario")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds; each measures every scenario once, in turn")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients")
	flag.IntVar(&cfg.actors, "actors", 100, "actor ids the clients spread over")
	flag.IntVar(&cfg.idleActors, "idle-actors", 100_000,
		"actors to activate for the memory figure (0: skip)")
	flag.BoolVar(&cfg.forwarding, "forwarding", true, "measure forwarded calls in a cluster too")
	flag.BoolVar(&cfg.inProcess, "in-process", false,
		"run the proxy and the sidecar inside this process (one CPU profile covers all)")
	flag.StringVar(&cfg.redis, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "",
		"write a CPU profile of the actor scenarios here (of this process: add -in-process)")
	serveProxyAt := flag.String("serve-proxy", "", "internal: only serve the baseline's proxy here")
	proxyTarget := flag.String("proxy-target", "", "internal: the proxy's app URL")
	flag.Parse()
	if *serveProxyAt != "" {
		if err := serveProxy(*serveProxyAt, *proxyTarget); err != nil {
			fmt.Fprintln(os.Stderr, "troupe-bench proxy:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logOpts := &slog.HandlerOptions{Level: slog.LevelWarn}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, logOpts)))

	runner := run
	if reminderBench.count > 0 {
		runner = runReminders
	}
	if tracingBench.jaeger != "" {
		runner = runTracing
	}
	if err := runner(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "troupe-bench:", err)
		os.Exit(1)
	}
}
