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
	flag.IntVar(&opts.HTTPPort, "http-port", opts.HTTPPort, "port of the ArtifactState API")
	flag.IntVar(&opts.SidecarHTTPPort, "dapr-http-port", opts.SidecarHTTPPort,
		"port of the sidecar's Dapr HTTP API")
	flag.IntVar(&opts.SidecarGRPCPort, "dapr-grpc-port", opts.SidecarGRPCPort,
		"port of the sidecar's Dapr gRPC API")
	flag.IntVar(&opts.AppPort, "app-port", opts.AppPort, "port of the app's actor callbacks")
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
	fmt.Printf(`
troupe is running: the ArtifactState app at %[1]s, its sidecar at %[2]s.
Try:
  curl -s -XPOST %[1]s/artifactState/setArtifactReadByUser -d '{"artifactId":1,"userId":"ada"}'
  curl -s '%[1]s/artifactState/getAllStates?artifactId=1&userId=ada'
  curl -s %[2]s/v1.0/metadata
Press Ctrl-C to stop.
`, c.AppURL, c.SidecarURL)
}
