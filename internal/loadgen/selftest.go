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
// DefaultSelfTestWorkers for DefaultSelfTestDuration, without reports.
func DefaultSelfTestConfig() Config {
	cfg := DefaultConfig()
	cfg.Scenario = ScenarioStress
	cfg.Concurrency = DefaultSelfTestWorkers
	cfg.Duration = DefaultSelfTestDuration
	cfg.HotKeys = DefaultSelfTestHotKeys
	cfg.ReportPrefix = ""
	return cfg
}

// SelfTest measures how much load the tool can send: it runs cfg as a stress run against an
// in-process fake app (NewFakeApp) on a loopback port, whatever cfg.Target says, and prints
// the request rate sustained. The tool and the fake app share the machine's CPUs, so the
// rate is a lower bound of what the tool sends against a target elsewhere.
func SelfTest(ctx context.Context, cfg Config, out, progress io.Writer) (*Result, error) {
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

	cfg.Scenario = ScenarioStress
	cfg.Target = "http://" + l.Addr().String()
	res, err := Run(ctx, cfg, out, progress)
	if err != nil {
		return res, err
	}

	fmt.Fprintf(out, "\nselftest: %.0f requests/s sustained by %d workers against an "+
		"in-process handler (tool and handler share %d CPUs)\n",
		res.Total.RPS, cfg.Concurrency, runtime.GOMAXPROCS(0))
	return res, nil
}
