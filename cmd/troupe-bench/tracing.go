package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/testapp"
)

// tracingBench configures the tracing benchmark (-tracing JAEGER): the same actor calls
// with tracing off, sampling 0.01 and sampling 1, exporting over OTLP/gRPC to a Jaeger
// all-in-one that the benchmark starts (scripts/jaeger.sh builds one).
var tracingBench struct {
	jaeger string
	rounds int
}

func init() {
	flag.StringVar(&tracingBench.jaeger, "tracing", "",
		"run the tracing benchmark against this jaeger-all-in-one binary instead")
	flag.IntVar(&tracingBench.rounds, "tracing-rounds", 3,
		"rounds of the tracing benchmark; the settings take turns within a round")
}

// tracingSettings are the sampling rates compared; "" is tracing not configured.
var tracingSettings = []struct{ name, rate string }{
	{"tracing off", ""}, {"sampling 0.01", "0.01"}, {"sampling 1", "1"},
}

func runTracing(ctx context.Context, cfg config) error {
	env, err := newBenchEnv(ctx, cfg, "tracing")
	if err != nil {
		return err
	}
	defer env.close()
	dir := env.dir
	otlp, stopJaeger, err := startJaeger(ctx, tracingBench.jaeger, dir)
	if err != nil {
		return err
	}
	defer stopJaeger()

	sidecars := make([]string, len(tracingSettings))
	for i, s := range tracingSettings {
		url, stop, err := startTracedSidecar(ctx, dir, otlp, s.rate)
		if err != nil {
			return err
		}
		defer stop()
		sidecars[i] = url
	}

	fmt.Printf("troupe-bench tracing: %d clients over %d actors, %s per scenario, %d rounds "+
		"(median shown), spans to Jaeger over OTLP/gRPC\n\n",
		cfg.clients, cfg.actors, cfg.duration, tracingBench.rounds)
	noState := make([][]result, len(tracingSettings))
	withState := make([][]result, len(tracingSettings))
	for range tracingBench.rounds {
		for i, s := range tracingSettings {
			noState[i] = append(noState[i], measureNoState(ctx, cfg, s.name, sidecars[i]))
			withState[i] = append(withState[i], measureWithState(ctx, cfg, s.name, sidecars[i]))
		}
	}

	reportMedians(noState)
	fmt.Println()
	reportMedians(withState)
	fmt.Println("target: sampling 0.01 >= 95% of tracing off")
	return nil
}

// reportMedians prints each setting's median round against the first setting's.
func reportMedians(rounds [][]result) {
	medians := make([]result, len(rounds))
	for i, rs := range rounds {
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rate(), b.rate()) })
		medians[i] = rs[len(rs)/2]
	}
	report(os.Stdout, medians[0], medians[1:]...)
}

// startTracedSidecar runs a sidecar with its own test app, traced at rate ("" for no
// tracing configuration), and returns its API's URL.
func startTracedSidecar(ctx context.Context, dir, otlp, rate string) (string, func(), error) {
	app, err := testapp.Start([]byte(benchAppConfig))
	if err != nil {
		return "", nil, err
	}

	opts := sidecar.DefaultOptions()
	opts.AppID = "bench-" + rate
	opts.AppPort = app.Port()
	opts.ResourcesPaths = []string{dir}
	opts.MetricsListenAddress = "127.0.0.1"
	for _, p := range []*int{&opts.HTTPPort, &opts.GRPCPort, &opts.MetricsPort} {
		if *p, err = freePort(); err != nil {
			app.Close()
			return "", nil, err
		}
	}
	if rate != "" {
		opts.ConfigPath = filepath.Join(dir, "config-"+rate+".yaml")
		if err := writeTracingConfig(opts.ConfigPath, rate, otlp); err != nil {
			app.Close()
			return "", nil, err
		}
	}

	url, stop, err := runSidecar(ctx, opts)
	if err != nil {
		app.Close()
		return "", nil, err
	}
	app.SidecarURL = url
	return url, func() { stop(); app.Close() }, nil
}

func measureNoState(ctx context.Context, cfg config, name, url string) result {
	return measure(ctx, name+", no state", cfg, func(n int) (string, string, string) {
		return http.MethodPost, url + "/v1.0/actors/Bench/b" + strconv.Itoa(n) + "/method/noop", ""
	})
}

func measureWithState(ctx context.Context, cfg config, name, url string) result {
	return measure(ctx, name+", state read + write", cfg, func(n int) (string, string, string) {
		return http.MethodPost, url + "/v1.0/actors/Bench/s" + strconv.Itoa(n) +
			"/method/readwrite", strconv.Itoa(n)
	})
}

func writeTracingConfig(path, rate, otlp string) error {
	doc := fmt.Sprintf("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n"+
		"  name: tracing\nspec:\n  tracing:\n    samplingRate: %q\n    otel:\n"+
		"      endpointAddress: %s\n      isSecure: false\n      protocol: grpc\n", rate, otlp)
	return os.WriteFile(path, []byte(doc), 0o600)
}

// startJaeger runs Jaeger all-in-one with in-memory storage on loopback ports and returns
// its OTLP/gRPC address once its query API answers.
func startJaeger(ctx context.Context, binary, dir string) (otlp string, stop func(), err error) {
	ports := make([]string, 7)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return "", nil, err
		}
		ports[i] = "127.0.0.1:" + strconv.Itoa(p)
	}
	logFile, err := os.Create(filepath.Join(dir, "jaeger.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, binary,
		"--collector.otlp.grpc.host-port="+ports[0],
		"--query.http-server.host-port="+ports[1],
		"--collector.otlp.http.host-port="+ports[2],
		"--collector.grpc-server.host-port="+ports[3],
		"--collector.http-server.host-port="+ports[4],
		"--query.grpc-server.host-port="+ports[5],
		"--admin.http.host-port="+ports[6],
		"--memory.max-traces=200000")
	cmd.Env = append(os.Environ(), "SPAN_STORAGE_TYPE=memory",
		"OTEL_TRACES_SAMPLER=always_off", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+ports[0])
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", nil, fmt.Errorf("starting jaeger (scripts/jaeger.sh builds it): %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); logFile.Close() }

	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get("http://" + ports[1] + "/api/services"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ports[0], stop, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("jaeger did not start")
}
