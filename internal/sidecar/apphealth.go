package sidecar

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// The app health probe follows daprd's timings: GET /healthz every 5 s while healthy; 4
// failed probes in a row (2 s timeout each) mark the app unhealthy; then it is probed every
// 0.5 s and one success marks it healthy again.
const (
	healthyProbeInterval   = 5 * time.Second
	unhealthyProbeInterval = 500 * time.Millisecond
	probeTimeout           = 2 * time.Second
	probeFailureThreshold  = 4
)

// prober is the part of the app channel the health check uses.
type prober interface {
	Healthy(ctx context.Context) bool
}

// appHealth tracks whether the app answers its health probe.
type appHealth struct {
	app prober
	log *slog.Logger

	// healthyEvery and unhealthyEvery are the probe intervals in each state.
	healthyEvery, unhealthyEvery time.Duration

	healthy atomic.Bool
}

func newAppHealth(app prober, log *slog.Logger) *appHealth {
	h := &appHealth{app: app, log: log,
		healthyEvery: healthyProbeInterval, unhealthyEvery: unhealthyProbeInterval}
	h.healthy.Store(true)
	return h
}

// run probes the app until ctx ends, logging each change of health once.
func (h *appHealth) run(ctx context.Context) {
	failures := 0
	for {
		interval := h.healthyEvery
		if !h.healthy.Load() {
			interval = h.unhealthyEvery
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}

		if h.probe(ctx) {
			failures = 0
			if !h.healthy.Swap(true) {
				h.log.Info("app is healthy again")
			}
			continue
		}
		failures++
		if failures >= probeFailureThreshold && h.healthy.Swap(false) {
			h.log.Warn("app failed its health probe; reported as not ready",
				"failures", failures)
		}
	}
}

func (h *appHealth) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return h.app.Healthy(ctx)
}
