// Command placement runs troupe's placement service, which assigns every actor to
// exactly one sidecar.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/troupe-dev/troupe/internal/placement"
)

func main() {
	opts := placement.DefaultOptions()
	flag.StringVar(&opts.ListenAddress, "listen-address", "", "interface to bind (default all)")
	flag.IntVar(&opts.Port, "port", opts.Port, "gRPC port sidecars connect to")
	flag.IntVar(&opts.HealthzPort, "healthz-port", opts.HealthzPort,
		"HTTP port for /healthz, /placement/state and /metrics")
	flag.StringVar(&opts.LogLevel, "log-level", opts.LogLevel, "debug, info, warn or error")
	flag.BoolVar(&opts.LogAsJSON, "log-as-json", false, "write logs as JSON")
	flag.DurationVar(&opts.Heartbeat, "heartbeat", opts.Heartbeat,
		"interval at which sidecars heartbeat")
	flag.DurationVar(&opts.Lease, "lease", opts.Lease,
		"how long a sidecar serves after its last acknowledged heartbeat")
	flag.DurationVar(&opts.MemberTimeout, "member-timeout", opts.MemberTimeout,
		"silence after which a sidecar's actors move (must exceed --lease)")
	flag.DurationVar(&opts.PrepareTimeout, "prepare-timeout", opts.PrepareTimeout,
		"how long a round waits for a sidecar to drain (exceed the drain timeout)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := placement.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "placement:", err)
		os.Exit(1)
	}
}
