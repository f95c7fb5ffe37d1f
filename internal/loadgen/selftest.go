package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// Defaults of a self test.
const (
	DefaultSelfTestWorkers  = 64
	DefaultSelfTestDuration = 5 * time.Second
	DefaultSelfTestHotKeys  = 1024
)

// DefaultSelfTestConfig returns the configuration of a self test: a stress run of
// DefaultSelfTestWorkers for DefaultSelfTestDuration, without reports and without a target
// to compare with.
func DefaultSelfTestConfig() Config {
	cfg := DefaultConfig()
	cfg.Scenario = ScenarioStress
	cfg.Target = ""
	cfg.Concurrency = DefaultSelfTestWorkers
	cfg.Duration = DefaultSelfTestDuration
	cfg.HotKeys = DefaultSelfTestHotKeys
	cfg.ReportPrefix = ""
	return cfg
}

// SelfTestResult holds the figures of a self test.
type SelfTestResult struct {
	// Tool is the run against the in-process fake app: what the tool can send.
	Tool *Result

	// Target is the same run against the target, when one was given, and Headroom how many
	// times more requests per second the tool sent to the fake app than the target served.
	Target   *Result
	Headroom float64
}

// SelfTest measures how much load the tool can send: it runs cfg as a stress run against an
// in-process fake app (NewFakeApp) on a loopback port and prints the request rate sustained.
// The tool and the fake app share the machine's CPUs, so the rate is a lower bound of what
// the tool sends against a target elsewhere.
//
// When cfg.Target is set, the same run then goes to the target, and SelfTest prints how many
// times the target's rate the tool sustained: measured in the same run, on the same machine,
// the ratio says whether the tool, not the target, limited the target's figures.
// Thresholds apply to the run against the fake app.
func SelfTest(ctx context.Context, cfg Config, out, progress io.Writer) (*SelfTestResult, error) {
	cfg.Scenario = ScenarioStress
	target := cfg.Target
	if target != "" {
		if err := validateTarget(target); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}

	tool, err := runAgainstFakeApp(ctx, cfg, out, progress)
	if err != nil || target == "" {
		return &SelfTestResult{Tool: tool}, err
	}

	fmt.Fprintln(out)
	cfg.Target = target
	res, err := Run(ctx, cfg, out, progress)
	if err != nil {
		return &SelfTestResult{Tool: tool}, err
	}

	st := &SelfTestResult{Tool: tool, Target: res}
	if res.Total.RPS > 0 {
		st.Headroom = tool.Total.RPS / res.Total.RPS
	}
	fmt.Fprintf(out, "\nselftest: the tool sent %.0f requests/s to its own handler, %.1f times "+
		"the %.0f requests/s that %s served\n", tool.Total.RPS, st.Headroom, res.Total.RPS, target)
	return st, nil
}

// runAgainstFakeApp runs cfg against a fake app served on a loopback port for the run and
// prints the rate and the CPU it took.
func runAgainstFakeApp(ctx context.Context, cfg Config, out, progress io.Writer) (*Result, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("self test listener: %w", err)
	}
	srv := &http.Server{Handler: NewFakeApp(), ReadHeaderTimeout: DefaultTimeout}

	var serving sync.WaitGroup
	serving.Go(func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(out, "self test server: %v\n", err)
		}
	})
	defer serving.Wait()
	defer srv.Close()

	cfg.Target = "http://" + l.Addr().String()
	cpuBefore, cpuKnown := processCPUTime()
	res, err := Run(ctx, cfg, out, progress)
	if err != nil {
		return nil, err
	}
	cpuAfter, _ := processCPUTime()

	fmt.Fprintf(out, "\nselftest: %.0f requests/s sustained by %d workers against an "+
		"in-process handler (tool and handler share %d CPUs)\n",
		res.Total.RPS, cfg.Concurrency, runtime.GOMAXPROCS(0))
	if cpu := cpuAfter - cpuBefore; cpuKnown && cpu > 0 && res.Total.Count > 0 {
		// On a shared machine the rate depends on what else runs; the CPU cost does not.
		fmt.Fprintf(out, "selftest: %.1f µs of CPU per request, tool and handler together "+
			"(%.0f requests per CPU-second)\n",
			float64(cpu.Microseconds())/float64(res.Total.Count),
			float64(res.Total.Count)/cpu.Seconds())
	}
	return res, nil
}
