// Command sidecar runs a troupe sidecar: Dapr's actor API for one app. It accepts daprd's
// command line; flags that do not concern actors are accepted with a warning.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/telemetry"
)

func main() {
	opts, procOpts, unknown, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	log := newLogger(procOpts)
	if procOpts.profiling {
		serveProfiles(log, procOpts.profilePort)
	}
	for _, name := range unknown {
		log.Warn("daprd flag not used by troupe; ignored", "flag", name)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sidecar.Run(ctx, opts, log); err != nil {
		log.Error("sidecar stopped", "err", err)
		os.Exit(1)
	}
}

// processOptions are the flags about the process rather than the sidecar: logging and
// profiling.
type processOptions struct {
	level  string
	asJSON bool

	// profiling serves net/http/pprof on 127.0.0.1:profilePort, as daprd's
	// --enable-profiling does.
	profiling   bool
	profilePort int
}

// parseFlags maps daprd's flags onto sidecar.Options. It returns the names of flags it
// does not know, which it skipped.
func parseFlags(args []string) (sidecar.Options, processOptions, []string, error) {
	opts := sidecar.DefaultOptions()
	var procOpts processOptions
	var placement, listen, resources, components string
	var maxBody string
	var shutdownSeconds int

	fs := flag.NewFlagSet("sidecar", flag.ContinueOnError)
	fs.StringVar(&opts.AppID, "app-id", "", "the app's id")
	fs.IntVar(&opts.AppPort, "app-port", 0, "the app's HTTP port (0: the app hosts no actors)")
	fs.StringVar(&opts.AppHost, "app-channel-address", "127.0.0.1", "the app's host")
	fs.StringVar(&opts.AppProtocol, "app-protocol", "http", "the app's protocol (http)")
	fs.IntVar(&opts.HTTPPort, "dapr-http-port", sidecar.DefaultHTTPPort, "Dapr HTTP API port")
	fs.IntVar(&opts.GRPCPort, "dapr-grpc-port", sidecar.DefaultGRPCPort, "Dapr gRPC API port")
	fs.IntVar(&opts.InternalGRPCPort, "dapr-internal-grpc-port",
		sidecar.DefaultInternalGRPCPort, "port for calls between sidecars")
	fs.StringVar(&listen, "dapr-listen-addresses", sidecar.DefaultListenAddress,
		"comma-separated addresses the APIs bind")
	fs.StringVar(&placement, "placement-host-address", "",
		"comma-separated placement addresses (empty: single-node mode)")
	fs.StringVar(&resources, "resources-path", "", "comma-separated component folders")
	fs.StringVar(&components, "components-path", "", "older name of --resources-path")
	fs.StringVar(&opts.ConfigPath, "config", "", "Dapr Configuration file")
	fs.StringVar(&opts.EmbeddedStorePath, "embedded-store-path", opts.EmbeddedStorePath,
		"file of the embedded state store, used when no actor state store is configured")
	fs.StringVar(&maxBody, "max-body-size", "4Mi", "largest request or app response body")
	fs.IntVar(&shutdownSeconds, "dapr-graceful-shutdown-seconds",
		int(sidecar.DefaultShutdownTimeout/time.Second), "graceful shutdown bound in seconds")
	fs.DurationVar(&opts.ActorCallTimeout, "actor-call-timeout", 0,
		"bound on one call to the app (0: none)")
	fs.BoolVar(&opts.EnableMetrics, "enable-metrics", true, "serve Prometheus metrics")
	fs.IntVar(&opts.MetricsPort, "metrics-port", sidecar.DefaultMetricsPort,
		"port of GET /metrics")
	fs.StringVar(&opts.MetricsListenAddress, "metrics-listen-address", "",
		"interface the metrics bind (default all)")
	fs.BoolVar(&procOpts.profiling, "enable-profiling", false, "serve Go's pprof endpoints")
	fs.IntVar(&procOpts.profilePort, "profile-port", 7777, "port of the pprof endpoints (loopback)")
	fs.StringVar(&procOpts.level, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&procOpts.asJSON, "log-as-json", false, "log JSON lines")

	unknown, err := parseLenient(fs, args)
	if err != nil {
		return opts, procOpts, nil, err
	}

	opts.ListenAddresses = splitList(listen)
	opts.PlacementAddresses = splitList(placement)
	opts.ResourcesPaths = append(splitList(resources), splitList(components)...)
	opts.APIToken = os.Getenv("DAPR_API_TOKEN")
	opts.AppToken = os.Getenv("APP_API_TOKEN")
	if ip := os.Getenv("DAPR_HOST_IP"); ip != "" {
		opts.HostAddress = ip
	}
	opts.ShutdownTimeout = time.Duration(shutdownSeconds) * time.Second
	if opts.MaxBodySize, err = parseSize(maxBody); err != nil {
		return opts, procOpts, nil, fmt.Errorf("--max-body-size: %w", err)
	}
	return opts, procOpts, unknown, opts.Validate()
}

// parseLenient parses args, skipping flags fs does not define (with the value that
// follows them, if any), so that a full daprd command line starts troupe.
func parseLenient(fs *flag.FlagSet, args []string) (unknown []string, err error) {
	fs.SetOutput(new(strings.Builder))
	for {
		err := fs.Parse(args)
		if err == nil {
			return unknown, nil
		}
		name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
		if !ok {
			return nil, err
		}

		unknown = append(unknown, name)
		args = skipFlag(args, name)
	}
}

// skipFlag removes the unknown flag and its value from the arguments still to parse.
func skipFlag(args []string, name string) []string {
	for i, arg := range args {
		trimmed := strings.TrimLeft(arg, "-")
		if trimmed != name && !strings.HasPrefix(trimmed, name+"=") {
			continue
		}
		rest := args[i+1:]
		if !strings.Contains(trimmed, "=") && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			rest = rest[1:]
		}
		return append(append([]string(nil), args[:i]...), rest...)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseSize reads sizes like 4Mi, 512Ki, 10M or 1048576.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			var n int64
			if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 {
				return 0, fmt.Errorf("invalid size %q", s)
			}
			return n * u.factor, nil
		}
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n, nil
}

func newLogger(o processOptions) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.level)); err != nil {
		level = slog.LevelInfo
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, handlerOpts)
	if o.asJSON {
		h = slog.NewJSONHandler(os.Stderr, handlerOpts)
	}
	return slog.New(telemetry.LogHandler(h))
}

// serveProfiles serves Go's pprof endpoints on loopback for the life of the process.
func serveProfiles(log *slog.Logger, port int) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	go func() {
		// The blank import of net/http/pprof registered its handlers on the default mux.
		if err := http.ListenAndServe(addr, nil); err != nil {
			log.Warn("profiling not served", "err", err)
		}
	}()
	log.Info("profiling served", "addr", addr)
}
