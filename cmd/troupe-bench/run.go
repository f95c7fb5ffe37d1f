package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/testapp"
)

const benchAppConfig = `{"entities":["Bench","Idle"]}`

func run(ctx context.Context, cfg config) error {
	env, err := newBenchEnv(ctx, cfg, "calls")
	if err != nil {
		return err
	}
	defer env.close()
	dir := env.dir
	cfg.meter.pids = []int{env.redisPID}

	app, err := testapp.Start([]byte(benchAppConfig))
	if err != nil {
		return err
	}
	defer app.Close()

	srv, err := startServers(ctx, cfg, dir, app.Port())
	if err != nil {
		return err
	}
	defer srv.stop()
	proxyURL, sidecarURL := srv.proxyURL, srv.sidecarURL
	app.SidecarURL = sidecarURL
	cfg.meter.pids = append(cfg.meter.pids, srv.pids...)

	fmt.Printf("troupe-bench: %d clients over %d actors, %d rounds of %s per scenario, "+
		"GOMAXPROCS=%d, %s\n\n", cfg.clients, cfg.actors, cfg.rounds, cfg.duration,
		runtime.GOMAXPROCS(0), srv.layout)
	stopProfile, err := startProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}
	measureRounds(ctx, cfg, []scenario{
		{"baseline: client->proxy->app", func(n int) (string, string, string) {
			return http.MethodPut, proxyURL + "/actors/Bench/b" + strconv.Itoa(n) + "/method/noop", ""
		}},
		{"actor call, no state", func(n int) (string, string, string) {
			return http.MethodPost, sidecarURL + "/v1.0/actors/Bench/b" + strconv.Itoa(n) +
				"/method/noop", ""
		}},
		{"actor call, state read + write", func(n int) (string, string, string) {
			return http.MethodPost, sidecarURL + "/v1.0/actors/Bench/s" + strconv.Itoa(n) +
				"/method/readwrite", strconv.Itoa(n)
		}},
	})
	stopProfile()
	fmt.Println("targets: no state >= 90%, state read + write >= 45% of the baseline")

	if cfg.forwarding {
		if err := runForwarding(ctx, cfg, dir); err != nil {
			return fmt.Errorf("forwarding scenario: %w", err)
		}
	}

	if cfg.idleActors > 0 {
		perActor, err := memoryPerActor(ctx, cfg, dir, app.Port())
		if err != nil {
			return err
		}
		fmt.Printf("\nsidecar heap per idle active actor (%d actors): %.0f bytes (target < 1024)\n",
			cfg.idleActors, perActor)
	}
	return nil
}

// memoryPerActor starts a sidecar in this process, activates cfg.idleActors actors and
// returns the growth of the live heap divided by their number. The app keeps no per-actor
// data for noop calls, so the growth is the sidecar's.
func memoryPerActor(ctx context.Context, cfg config, dir string, appPort int) (
	float64, error) {

	sidecarURL, stop, err := startSidecar(ctx, dir, appPort)
	if err != nil {
		return 0, err
	}
	defer stop()
	before := liveHeap()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients}}
	defer client.CloseIdleConnections()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range cfg.clients {
		wg.Go(func() {
			for n := next.Add(1); n <= int64(cfg.idleActors) && ctx.Err() == nil; n = next.Add(1) {
				url := sidecarURL + "/v1.0/actors/Idle/" + strconv.FormatInt(n, 10) + "/method/noop"
				if !send(ctx, client, http.MethodPut, url, "") {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	if n := failed.Load(); n > 0 {
		return 0, fmt.Errorf("%d activations failed", n)
	}

	after := liveHeap()
	return float64(after-before) / float64(cfg.idleActors), nil
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func startRedis(ctx context.Context, binary string) (addr string, pid int, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.CommandContext(ctx, binary, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("starting redis-server (install it or pass -redis-server): %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }

	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if client.Ping(ctx).Err() == nil {
			return addr, cmd.Process.Pid, stop, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return "", 0, nil, errors.New("redis-server did not answer PING")
}

func startSidecar(ctx context.Context, dir string, appPort int) (string, func(), error) {
	opts := sidecar.DefaultOptions()
	opts.AppID = "bench"
	opts.EnableMetrics = false
	opts.AppPort = appPort
	opts.ResourcesPaths = []string{dir}
	var err error
	if opts.HTTPPort, err = freePort(); err != nil {
		return "", nil, err
	}
	if opts.GRPCPort, err = freePort(); err != nil {
		return "", nil, err
	}
	return runSidecar(ctx, opts)
}

// runSidecar runs a sidecar in-process and waits until it is healthy.
func runSidecar(ctx context.Context, opts sidecar.Options) (string, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sidecar.Run(ctx, opts, slog.Default()) }()
	stop := func() { cancel(); <-done }

	url := "http://127.0.0.1:" + strconv.Itoa(opts.HTTPPort)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get(url + "/v1.0/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return url, stop, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("sidecar did not become healthy")
}

// startProfile starts a CPU profile to path, if given, and returns its stop function.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
