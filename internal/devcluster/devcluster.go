// Package devcluster runs troupe's main job in one process for local use and tests: the
// placement service, several sidecars, and an instance of the ArtifactState demo app
// behind each, all on loopback and sharing the embedded state store.
package devcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/troupe-dev/troupe/app/artifact"
	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/sidecar"
)

// Options configures a local cluster. Node i (from 0) uses each base port plus i.
type Options struct {
	// Nodes is the number of sidecar + app pairs. With one node there is no placement
	// service: the sidecar runs in single-node mode.
	Nodes int

	// HTTPPort is the first ArtifactState API port.
	HTTPPort int

	// SidecarHTTPPort is the first sidecar's Dapr HTTP API port.
	SidecarHTTPPort int

	// SidecarGRPCPort is the first sidecar's Dapr gRPC API port.
	SidecarGRPCPort int

	// InternalPort is the first sidecar's port for calls from other sidecars.
	InternalPort int

	// MetricsPort is the first sidecar's Prometheus metrics port.
	MetricsPort int

	// AppPort is the first app's actor callback port.
	AppPort int

	// PlacementPort and PlacementHTTPPort are the placement service's ports.
	PlacementPort     int
	PlacementHTTPPort int

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
	// AppURLs are the ArtifactState APIs, one per node.
	AppURLs []string

	// SidecarURLs are the sidecars' Dapr HTTP APIs, one per node.
	SidecarURLs []string

	// PlacementURL is the placement service's status port; empty with one node.
	PlacementURL string
}

// DefaultOptions returns a three-node cluster on the usual ports: apps from 8082,
// sidecars from 3500 (gRPC from 50001), callbacks from 3000, placement on 50005.
func DefaultOptions() Options {
	return Options{
		Nodes:             3,
		HTTPPort:          artifact.DefaultHTTPPort,
		SidecarHTTPPort:   sidecar.DefaultHTTPPort,
		SidecarGRPCPort:   sidecar.DefaultGRPCPort,
		MetricsPort:       sidecar.DefaultMetricsPort,
		InternalPort:      50011,
		AppPort:           artifact.DefaultAppPort,
		PlacementPort:     placement.DefaultPort,
		PlacementHTTPPort: 8090,
		StorePath:         sidecar.DefaultEmbeddedStorePath(),
	}
}

// Run serves the cluster until ctx ends, then stops every part gracefully.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	// Placement and the apps stop only after the sidecars: a stopping sidecar still hands
	// its actors over through placement and deactivates them in its app. A failure of
	// either group stops the sidecars too.
	lateCtx, stopLate := context.WithCancel(context.Background())
	defer stopLate()
	late, lateGroupCtx := errgroup.WithContext(lateCtx)
	sidecarCtx, stopSidecars := context.WithCancel(ctx)
	defer stopSidecars()
	context.AfterFunc(lateGroupCtx, stopSidecars)
	sidecars, sidecarCtx := errgroup.WithContext(sidecarCtx)

	parts := parts{late: late, lateCtx: lateGroupCtx, sidecars: sidecars, sidecarCtx: sidecarCtx}
	err := parts.start(opts)
	stopSidecars()
	err = errors.Join(err, sidecars.Wait())
	stopLate()
	return errors.Join(err, late.Wait())
}

// parts are the goroutine groups of a running cluster: placement and the apps (late,
// stopped last) and the sidecars.
type parts struct {
	late       *errgroup.Group
	lateCtx    context.Context
	sidecars   *errgroup.Group
	sidecarCtx context.Context
}

// start starts placement and every node, reports readiness, and waits until the
// sidecars' context ends.
func (p parts) start(opts Options) error {
	ctx := p.sidecarCtx
	var cluster Cluster
	var placementAddr string
	if opts.Nodes > 1 {
		addr, url, err := p.startPlacement(opts)
		if err != nil {
			return err
		}
		placementAddr, cluster.PlacementURL = addr, url
	}

	var ready sync.WaitGroup
	for i := range max(opts.Nodes, 1) {
		appURL, sidecarURL, err := p.startNode(&ready, opts, i, placementAddr)
		if err != nil {
			return err
		}
		cluster.AppURLs = append(cluster.AppURLs, appURL)
		cluster.SidecarURLs = append(cluster.SidecarURLs, sidecarURL)
	}

	allReady := make(chan struct{})
	go func() { ready.Wait(); close(allReady) }()
	select {
	case <-allReady:
		if waitConverged(ctx, cluster) && opts.OnReady != nil {
			opts.OnReady(cluster)
		}
	case <-ctx.Done(): // a part failed before every sidecar was ready
	}
	<-ctx.Done()
	return nil
}

// waitConverged waits until placement counts every sidecar as a member and each sidecar
// has committed placement's current table; it returns false if ctx ends first.
func waitConverged(ctx context.Context, c Cluster) bool {
	if c.PlacementURL == "" {
		return ctx.Err() == nil
	}
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for !converged(c) {
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
	}
	return true
}

func converged(c Cluster) bool {
	var st struct {
		TableVersion uint64            `json:"table_version"`
		Phase        string            `json:"phase"`
		Members      []json.RawMessage `json:"members"`
	}
	if getJSON(c.PlacementURL+"/placement/state", &st) != nil || st.Phase != "stable" ||
		len(st.Members) != len(c.SidecarURLs) {
		return false
	}
	want := strconv.FormatUint(st.TableVersion, 10)
	for _, url := range c.SidecarURLs {
		var md struct {
			Extended map[string]string `json:"extended"`
		}
		if getJSON(url+"/v1.0/metadata", &md) != nil ||
			md.Extended["placementTableVersion"] != want {
			return false
		}
	}
	return true
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// startPlacement runs placement with the late parts.
func (p parts) startPlacement(opts Options) (addr, url string, err error) {
	po := placement.DefaultOptions()
	po.ListenAddress = "127.0.0.1"
	po.Port = opts.PlacementPort
	po.HealthzPort = opts.PlacementHTTPPort
	po.Logger = opts.Logger.With("part", "placement")
	// A fresh local cluster has no earlier placement whose leases could still run.
	po.SettleWindow = po.Lease

	srv, err := placement.New(po)
	if err != nil {
		return "", "", err
	}
	p.late.Go(func() error { return srv.Serve(p.lateCtx) })
	return srv.Addr(), "http://" + srv.HealthzAddr(), nil
}

// startNode starts node i's app and sidecar; ready is done once the sidecar serves.
func (p parts) startNode(ready *sync.WaitGroup, opts Options, i int, placementAddr string) (
	appURL, sidecarURL string, err error) {

	appReady := make(chan artifact.Addrs, 1)
	ao := artifact.DefaultOptions()
	ao.HTTPPort = opts.HTTPPort + i
	ao.AppPort = opts.AppPort + i
	ao.ListenHost = "127.0.0.1"
	ao.DaprHTTPPort = opts.SidecarHTTPPort + i
	ao.Logger = opts.Logger.With("part", "app", "node", i)
	ao.Ready = appReady
	p.late.Go(func() error { return artifact.Run(p.lateCtx, ao) })

	var addrs artifact.Addrs
	select {
	case addrs = <-appReady:
	case <-p.sidecarCtx.Done():
		return "", "", fmt.Errorf("app %d did not start: %w", i, p.sidecarCtx.Err())
	}

	so := sidecar.DefaultOptions()
	so.AppID = "artifactstate"
	so.AppPort = portOf(addrs.App)
	so.HTTPPort = opts.SidecarHTTPPort + i
	so.GRPCPort = opts.SidecarGRPCPort + i
	so.InternalGRPCPort = opts.InternalPort + i
	so.MetricsPort = opts.MetricsPort + i
	so.MetricsListenAddress = "127.0.0.1"
	so.EmbeddedStorePath = opts.StorePath
	if opts.ResourcesPath != "" {
		so.ResourcesPaths = []string{opts.ResourcesPath}
	}
	if placementAddr != "" {
		so.PlacementAddresses = []string{placementAddr}
	}
	ready.Add(1)
	so.OnReady = ready.Done
	log := opts.Logger.With("part", "sidecar", "node", i)
	p.sidecars.Go(func() error { return sidecar.Run(p.sidecarCtx, so, log) })

	return "http://" + addrs.HTTP, fmt.Sprintf("http://127.0.0.1:%d", so.HTTPPort), nil
}

func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}
