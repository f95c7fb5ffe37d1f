package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/testapp"
)

// runForwarding measures actor calls made to the owning sidecar against the same calls
// made to a sidecar that hosts nothing and forwards every call to the owner.
func runForwarding(ctx context.Context, cfg config, dir string) error {
	po := placement.DefaultOptions()
	po.ListenAddress, po.Port, po.HealthzPort = "127.0.0.1", 0, 0
	po.SettleWindow = po.Lease
	po.Logger = slog.Default()
	pl, err := placement.New(po)
	if err != nil {
		return err
	}
	plCtx, stopPlacement := context.WithCancel(ctx)
	defer stopPlacement()
	go pl.Serve(plCtx)

	app, err := testapp.Start([]byte(`{"entities":["Bench"]}`))
	if err != nil {
		return err
	}
	defer app.Close()

	ownerURL, stopOwner, err := startClusterSidecar(ctx, dir, pl.Addr(), app.Port())
	if err != nil {
		return err
	}
	defer stopOwner()
	app.SidecarURL = ownerURL
	forwarderURL, stopForwarder, err := startClusterSidecar(ctx, dir, pl.Addr(), 0)
	if err != nil {
		return err
	}
	defer stopForwarder()
	if err := waitForActors(ctx, forwarderURL); err != nil {
		return err
	}

	call := func(base string) target {
		return func(n int) (string, string, string) {
			return http.MethodPost, base + "/v1.0/actors/Bench/f" + strconv.Itoa(n) + "/method/noop", ""
		}
	}
	fmt.Println()
	measureRounds(ctx, cfg, []scenario{
		{"cluster: call to the owner", call(ownerURL)},
		{"cluster: call forwarded by a peer", call(forwarderURL)},
	})
	return nil
}

// startClusterSidecar runs a sidecar that joins placement; appPort 0 hosts no actors.
func startClusterSidecar(ctx context.Context, dir, placementAddr string, appPort int) (
	string, func(), error) {

	opts := sidecar.DefaultOptions()
	opts.AppID = "bench"
	opts.EnableMetrics = false
	opts.AppPort = appPort
	opts.ResourcesPaths = []string{dir}
	opts.PlacementAddresses = []string{placementAddr}
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return "", nil, err
		}
		ports[i] = p
	}
	opts.HTTPPort, opts.GRPCPort, opts.InternalGRPCPort = ports[0], ports[1], ports[2]
	return runSidecar(ctx, opts)
}

// waitForActors waits until the sidecar at url can reach a Bench actor.
func waitForActors(ctx context.Context, url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if send(ctx, http.DefaultClient, http.MethodPost, url+"/v1.0/actors/Bench/probe/method/noop", "") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no Bench actor reachable through %s", url)
}
