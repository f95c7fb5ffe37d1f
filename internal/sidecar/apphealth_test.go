package sidecar

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeProber struct{ ok atomic.Bool }

func (f *fakeProber) Healthy(context.Context) bool { return f.ok.Load() }

func TestAppHealthFollowsTheProbe(t *testing.T) {
	app := &fakeProber{}
	app.ok.Store(true)
	h := newAppHealth(app, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.healthyEvery, h.unhealthyEvery = 5*time.Millisecond, time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.run(ctx)

	app.ok.Store(false)
	require.Eventually(t, func() bool { return !h.healthy.Load() }, 5*time.Second, time.Millisecond)
	app.ok.Store(true)
	require.Eventually(t, h.healthy.Load, 5*time.Second, time.Millisecond)
}
