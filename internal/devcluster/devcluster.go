// Package devcluster runs troupe's main job in one process for local use and tests: a
// sidecar and the ArtifactState demo app that calls actors through it.
package devcluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/troupe-dev/troupe/app/artifact"
	"github.com/troupe-dev/troupe/internal/sidecar"
)

// Options configures a local cluster.
type Options struct {
	// HTTPPort is the ArtifactState API's port.
	HTTPPort int

	// SidecarHTTPPort is the sidecar's Dapr HTTP API port.
	SidecarHTTPPort int

	// SidecarGRPCPort is the sidecar's Dapr gRPC API port.
	SidecarGRPCPort int

	// AppPort is the app's actor callback port.
	AppPort int

	// StorePath is the embedded store's file, used when ResourcesPath has no actor store.
	StorePath string

	// ResourcesPath is an optional folder of Dapr component files.
	ResourcesPath string

	// Logger receives every part's logs; nil means slog.Default().
	Logger *slog.Logger

	// OnReady, when set, is called once every part serves.
	OnReady func(Cluster)
}

// Cluster says where a running local cluster serves.
type Cluster struct {
	AppURL     string
	SidecarURL string
}

// DefaultOptions returns the usual ports: the app on 8082, the sidecar on 3500, callbacks
// on 3000.
func DefaultOptions() Options {
	return Options{
		HTTPPort:        artifact.DefaultHTTPPort,
		SidecarHTTPPort: sidecar.DefaultHTTPPort,
		SidecarGRPCPort: sidecar.DefaultGRPCPort,
		AppPort:         artifact.DefaultAppPort,
		StorePath:       sidecar.DefaultEmbeddedStorePath(),
	}
}

// Run serves the cluster until ctx ends, then stops every part gracefully.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}

	group, ctx := errgroup.WithContext(ctx)
	ready := make(chan artifact.Addrs, 1)
	appOpts := artifact.DefaultOptions()
	appOpts.HTTPPort = opts.HTTPPort
	appOpts.AppPort = opts.AppPort
	appOpts.ListenHost = "127.0.0.1"
	appOpts.DaprHTTPPort = opts.SidecarHTTPPort
	appOpts.Logger = log.With("part", "app")
	appOpts.Ready = ready
	group.Go(func() error { return artifact.Run(ctx, appOpts) })

	var addrs artifact.Addrs
	select {
	case addrs = <-ready:
	case <-ctx.Done():
		return group.Wait()
	}

	sc := sidecar.DefaultOptions()
	sc.AppID = "artifactstate"
	sc.AppPort = portOf(addrs.App)
	sc.HTTPPort = opts.SidecarHTTPPort
	sc.GRPCPort = opts.SidecarGRPCPort
	sc.EmbeddedStorePath = opts.StorePath
	if opts.ResourcesPath != "" {
		sc.ResourcesPaths = []string{opts.ResourcesPath}
	}
	sidecarReady := make(chan struct{})
	sc.OnReady = func() { close(sidecarReady) }
	group.Go(func() error { return sidecar.Run(ctx, sc, log.With("part", "sidecar")) })

	select {
	case <-sidecarReady:
		if opts.OnReady != nil {
			opts.OnReady(Cluster{
				AppURL:     "http://" + addrs.HTTP,
				SidecarURL: fmt.Sprintf("http://127.0.0.1:%d", sc.HTTPPort),
			})
		}
	case <-ctx.Done():
	}
	return group.Wait()
}

func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}
