package sidecar

import (
	"context"
	"time"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/grpcapi"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// scheduleAPI serves the gRPC API's reminder and timer RPCs from the actor runtime,
// once it is ready.
type scheduleAPI struct {
	wait func(ctx context.Context) (*actors.Runtime, error)
}

// runtime waits for the actor runtime as the other RPCs do: up to 10 s, then
// ERR_ACTOR_RUNTIME_NOT_FOUND.
func (a scheduleAPI) runtime(ctx context.Context) (*actors.Runtime, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rt, err := a.wait(ctx)
	if err != nil {
		return nil, apierr.New(apierr.ActorRuntimeNotFound,
			"the actor runtime is not ready: %v", err)
	}
	return rt, nil
}

var (
	_ grpcapi.Reminders = scheduleAPI{}
	_ grpcapi.Timers    = scheduleAPI{}
)

// RegisterReminder implements grpcapi.Reminders.
func (a scheduleAPI) RegisterReminder(ctx context.Context, r reminders.Request) error {
	rt, err := a.runtime(ctx)
	if err != nil {
		return err
	}
	return rt.RegisterReminder(ctx, r)
}

// UnregisterReminder implements grpcapi.Reminders.
func (a scheduleAPI) UnregisterReminder(ctx context.Context, actorType, actorID, name string) error {
	rt, err := a.runtime(ctx)
	if err != nil {
		return err
	}
	return rt.UnregisterReminder(ctx, actorType, actorID, name)
}

// RegisterTimer implements grpcapi.Timers.
func (a scheduleAPI) RegisterTimer(ctx context.Context, t actors.TimerRequest) error {
	rt, err := a.runtime(ctx)
	if err != nil {
		return err
	}
	return rt.RegisterTimer(ctx, t)
}

// UnregisterTimer implements grpcapi.Timers.
func (a scheduleAPI) UnregisterTimer(ctx context.Context, actorType, actorID, name string) error {
	rt, err := a.runtime(ctx)
	if err != nil {
		return err
	}
	return rt.UnregisterTimer(ctx, actorType, actorID, name)
}
