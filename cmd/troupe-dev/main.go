// Command troupe-dev runs troupe's main job on one machine with nothing but Go: a sidecar
// with the embedded state store and the ArtifactState demo app behind it, ready for curl.
//
//	go run ./cmd/troupe-dev
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/troupe-dev/troupe/internal/devcluster"
	"github.com/troupe-dev/troupe/internal/sidecar"
)

func main() {
	opts := devcluster.DefaultOptions()
	flag.IntVar(&opts.Nodes, "nodes", opts.Nodes,
		"sidecar + app pairs (1: a single sidecar without placement)")
	flag.IntVar(&opts.HTTPPort, "http-port", opts.HTTPPort,
		"first port of the ArtifactState APIs (node i uses port+i, as do the ports below)")
	flag.IntVar(&opts.SidecarHTTPPort, "dapr-http-port", opts.SidecarHTTPPort,
		"first port of the sidecars' Dapr HTTP APIs")
	flag.IntVar(&opts.SidecarGRPCPort, "dapr-grpc-port", opts.SidecarGRPCPort,
		"first port of the sidecars' Dapr gRPC APIs")
	flag.IntVar(&opts.InternalPort, "dapr-internal-grpc-port", opts.InternalPort,
		"first port for calls between sidecars")
	flag.IntVar(&opts.MetricsPort, "metrics-port", opts.MetricsPort,
		"first port of the sidecars' Prometheus metrics")
	flag.IntVar(&opts.AppPort, "app-port", opts.AppPort, "first port of the apps' actor callbacks")
	flag.IntVar(&opts.PlacementPort, "placement-port", opts.PlacementPort, "placement service port")
	flag.IntVar(&opts.PlacementHTTPPort, "placement-http-port", opts.PlacementHTTPPort,
		"placement status port (/placement/state)")
	flag.StringVar(&opts.StorePath, "embedded-store-path", sidecar.DefaultEmbeddedStorePath(),
		"file of the embedded state store")
	flag.StringVar(&opts.ResourcesPath, "resources-path", "",
		"folder of Dapr component files (e.g. a state.redis actor store); empty: embedded store")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "invalid --log-level:", err)
		os.Exit(2)
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts.OnReady = func(c devcluster.Cluster) { printWelcome(c) }
	if err := devcluster.Run(ctx, opts); err != nil {
		opts.Logger.Error("troupe-dev stopped", "err", err)
		os.Exit(1)
	}
}

func printWelcome(c devcluster.Cluster) {
	fmt.Printf("\ntroupe is running %d node(s):\n", len(c.AppURLs))
	for i := range c.AppURLs {
		fmt.Printf("  node %d: ArtifactState API %s, sidecar %s\n", i, c.AppURLs[i], c.SidecarURLs[i])
	}
	if c.PlacementURL != "" {
		fmt.Printf("  placement status: %s/placement/state\n", c.PlacementURL)
	}
	app, sidecar := c.AppURLs[0], c.SidecarURLs[len(c.SidecarURLs)-1]
	fmt.Printf(`Any node serves any actor. Try:
  curl -s -XPOST %[1]s/artifactState/setArtifactReadByUser -d '{"artifactId":1,"userId":"ada"}'
  curl -s '%[3]s/artifactState/getAllStates?artifactId=1&userId=ada'
  curl -s %[2]s/v1.0/metadata
Press Ctrl-C to stop.
`, app, sidecar, c.AppURLs[len(c.AppURLs)-1])
}
