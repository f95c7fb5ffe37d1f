// Command app runs the artifact-state demo, a Go port of an Akka Cluster sharding demo,
// as Dapr virtual actors behind a Dapr-compatible sidecar. See package artifact.
//
// Usage:
//
//	app [--http-port 8082] [--app-port 3000] [--dapr-http-port 3500] [--dapr-host 127.0.0.1]
//	    [--log-level info] [--actor-idle-timeout 10m] ...
//
// APP_PORT and DAPR_HTTP_PORT are fallbacks for --app-port and --dapr-http-port.
// DAPR_API_TOKEN is sent to the sidecar; APP_API_TOKEN is required from it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/troupe-dev/troupe/app/artifact"
)

func main() {
	opts, err := parseFlags(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := artifact.Run(ctx, opts); err != nil {
		opts.Logger.Error("artifact service failed", "error", err)
		os.Exit(1)
	}
}

// parseFlags maps the command line and environment onto artifact.Options.
func parseFlags(args []string, getenv func(string) string) (artifact.Options, error) {
	opts := artifact.DefaultOptions()
	appPort, err := envPort(getenv, "APP_PORT", opts.AppPort)
	if err != nil {
		return opts, err
	}
	daprPort, err := envPort(getenv, "DAPR_HTTP_PORT", opts.DaprHTTPPort)
	if err != nil {
		return opts, err
	}

	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.IntVar(&opts.HTTPPort, "http-port", opts.HTTPPort, "public API port")
	fs.IntVar(&opts.AppPort, "app-port", appPort,
		"actor callback port the sidecar calls (else $APP_PORT)")
	fs.IntVar(&opts.DaprHTTPPort, "dapr-http-port", daprPort,
		"sidecar HTTP API port (else $DAPR_HTTP_PORT)")
	fs.StringVar(&opts.DaprHost, "dapr-host", opts.DaprHost, "sidecar host")
	fs.StringVar(&opts.ListenHost, "listen-host", "", "address to bind; empty for all")
	fs.DurationVar(&opts.ActorIdleTimeout, "actor-idle-timeout", opts.ActorIdleTimeout,
		"idle time before the sidecar deactivates an actor")
	fs.DurationVar(&opts.CallTimeout, "call-timeout", opts.CallTimeout,
		"limit on each call to the sidecar")
	fs.IntVar(&opts.SidecarConns, "sidecar-conns", opts.SidecarConns,
		"idle keep-alive connections kept to the sidecar")
	fs.IntVar(&opts.ActivationLogSize, "activation-log-size", opts.ActivationLogSize,
		"finished activations kept for /debug/activations")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return opts, fmt.Errorf("--log-level: %w", err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts.DaprAPIToken = getenv("DAPR_API_TOKEN")
	opts.AppAPIToken = getenv("APP_API_TOKEN")

	return opts, opts.Validate()
}

// envPort reads a port number from the environment variable name, or returns def when
// it is unset.
func envPort(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}

	port, err := strconv.Atoi(v)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", name, v)
	}
	return port, nil
}
