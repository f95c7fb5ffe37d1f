package grpcapi

import (
	"context"
	"errors"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/httpapi"
)

// runtime returns the actor runtime, waiting for start-up as daprd's readiness gate does.
// The runtime is set once per sidecar, so the first one found is kept and later calls
// skip the wait and its timer.
func (s *Service) runtime(ctx context.Context) (*actors.Runtime, error) {
	if rt := s.rt.Load(); rt != nil {
		return rt, nil
	}

	if s.opts.Runtime == nil {
		return nil, apierr.New(apierr.ActorRuntimeNotFound, "no actor runtime")
	}
	ctx, cancel := context.WithTimeout(ctx, readinessWait)
	defer cancel()
	rt, err := s.opts.Runtime(ctx)
	if err == nil && rt == nil {
		err = errors.New("no actor runtime")
	}
	if err != nil {
		return nil, apierr.New(apierr.ActorRuntimeNotFound,
			"the actor runtime is not ready: %v", err)
	}
	s.rt.Store(rt)
	return rt, nil
}

// InvokeActor calls an actor method. The app's 200 answer comes back as data, including an
// actor error marked with X-DaprErrorResponseHeader, which gRPC callers get with status OK
// as from daprd; any other answer is Internal with the ERR_ACTOR_INVOKE_METHOD text.
func (s *Service) InvokeActor(ctx context.Context,
	in *runtimev1pb.InvokeActorRequest) (*runtimev1pb.InvokeActorResponse, error) {
	req, err := parseInvoke(in, s.opts.MaxBodySize)
	if err != nil {
		return nil, toStatus(err)
	}
	rt, err := s.runtime(ctx)
	if err != nil {
		return nil, toStatus(err)
	}

	resp, err := rt.Invoke(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &runtimev1pb.InvokeActorResponse{Data: resp.Body}, nil
}

// GetActorState reads a key of an actor active on this sidecar. A missing key is OK with
// empty data, which the SDKs rely on.
func (s *Service) GetActorState(ctx context.Context,
	in *runtimev1pb.GetActorStateRequest) (*runtimev1pb.GetActorStateResponse, error) {
	if err := parseGetState(in); err != nil {
		return nil, toStatus(err)
	}
	rt, err := s.runtime(ctx)
	if err != nil {
		return nil, toStatus(err)
	}

	value, found, err := rt.GetState(ctx, in.GetActorType(), in.GetActorId(), in.GetKey())
	if err != nil {
		return nil, toStatus(err)
	}
	if !found {
		return &runtimev1pb.GetActorStateResponse{}, nil
	}
	return &runtimev1pb.GetActorStateResponse{Data: value}, nil
}

// ExecuteActorStateTransaction writes an active actor's state, all operations or none.
func (s *Service) ExecuteActorStateTransaction(ctx context.Context,
	in *runtimev1pb.ExecuteActorStateTransactionRequest) (*emptypb.Empty, error) {
	ops, err := parseTransaction(in, s.opts.MaxBodySize)
	if err != nil {
		return nil, toStatus(err)
	}
	rt, err := s.runtime(ctx)
	if err != nil {
		return nil, toStatus(err)
	}

	if err := rt.TransactState(ctx, in.GetActorType(), in.GetActorId(), ops); err != nil {
		return nil, toStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// RegisterActorReminder creates or replaces a reminder through Options.Reminders.
func (s *Service) RegisterActorReminder(ctx context.Context,
	in *runtimev1pb.RegisterActorReminderRequest) (*emptypb.Empty, error) {
	if s.opts.Reminders == nil {
		return nil, notAvailable("RegisterActorReminder", "reminders")
	}
	call, err := parseScheduled(in, s.opts.MaxBodySize)
	if err != nil {
		return nil, toStatus(err)
	}

	err = s.opts.Reminders.RegisterReminder(ctx, call)
	return empty(err, apierr.ActorReminderCreate, "error creating actor reminder")
}

// UnregisterActorReminder deletes a reminder through Options.Reminders.
func (s *Service) UnregisterActorReminder(ctx context.Context,
	in *runtimev1pb.UnregisterActorReminderRequest) (*emptypb.Empty, error) {
	if s.opts.Reminders == nil {
		return nil, notAvailable("UnregisterActorReminder", "reminders")
	}
	if err := checkTarget(in.GetActorType(), in.GetActorId(), in.GetName()); err != nil {
		return nil, toStatus(err)
	}

	err := s.opts.Reminders.UnregisterReminder(ctx,
		in.GetActorType(), in.GetActorId(), in.GetName())
	return empty(err, apierr.ActorReminderDelete, "error deleting actor reminder")
}

// RegisterActorTimer creates or replaces a timer through Options.Timers.
func (s *Service) RegisterActorTimer(ctx context.Context,
	in *runtimev1pb.RegisterActorTimerRequest) (*emptypb.Empty, error) {
	if s.opts.Timers == nil {
		return nil, notAvailable("RegisterActorTimer", "timers")
	}
	call, err := parseScheduled(in, s.opts.MaxBodySize)
	if err != nil {
		return nil, toStatus(err)
	}

	t := actors.TimerRequest{Request: call, Callback: in.GetCallback()}
	err = s.opts.Timers.RegisterTimer(ctx, t)
	return empty(err, apierr.ActorTimerCreate, "error creating timer")
}

// UnregisterActorTimer deletes a timer through Options.Timers.
func (s *Service) UnregisterActorTimer(ctx context.Context,
	in *runtimev1pb.UnregisterActorTimerRequest) (*emptypb.Empty, error) {
	if s.opts.Timers == nil {
		return nil, notAvailable("UnregisterActorTimer", "timers")
	}
	if err := checkTarget(in.GetActorType(), in.GetActorId(), in.GetName()); err != nil {
		return nil, toStatus(err)
	}

	err := s.opts.Timers.UnregisterTimer(ctx, in.GetActorType(), in.GetActorId(), in.GetName())
	return empty(err, apierr.ActorTimerDelete, "error deleting timer")
}

// empty answers a call that returns nothing. An error that is not an API error gets kind
// k, its text prefixed as daprd does for that kind.
func empty(err error, k apierr.Kind, prefix string) (*emptypb.Empty, error) {
	if err == nil {
		return &emptypb.Empty{}, nil
	}
	var apiErr *apierr.Error
	if !errors.As(err, &apiErr) {
		err = apierr.New(k, "%s: %w", prefix, err)
	}
	return nil, toStatus(err)
}

// notAvailable answers an RPC whose part of the runtime this sidecar was built without.
func notAvailable(rpc, feature string) error {
	return status.Errorf(codes.Unimplemented,
		"troupe does not implement Dapr RPC %s yet: actor %s are not available", rpc, feature)
}

// GetMetadata reports the sidecar's app id, version and actor runtime status.
func (s *Service) GetMetadata(context.Context,
	*runtimev1pb.GetMetadataRequest) (*runtimev1pb.GetMetadataResponse, error) {
	st := httpapi.ActorRuntimeStatus{RuntimeStatus: "INITIALIZING"}
	if s.opts.Metadata != nil {
		st = s.opts.Metadata()
	}

	counts := make([]*runtimev1pb.ActiveActorsCount, len(st.ActiveActors))
	for i, c := range st.ActiveActors {
		counts[i] = &runtimev1pb.ActiveActorsCount{Type: c.Type, Count: int32(c.Count)}
	}
	runtimeStatus := runtimev1pb.ActorRuntime_ActorRuntimeStatus(
		runtimev1pb.ActorRuntime_ActorRuntimeStatus_value[st.RuntimeStatus])

	return &runtimev1pb.GetMetadataResponse{
		Id:                s.opts.AppID,
		RuntimeVersion:    httpapi.RuntimeVersion,
		ActiveActorsCount: counts,
		ExtendedMetadata: map[string]string{
			"daprRuntimeVersion": httpapi.RuntimeVersion,
			"runtime":            "troupe",
		},
		ActorRuntime: &runtimev1pb.ActorRuntime{
			RuntimeStatus: runtimeStatus,
			ActiveActors:  counts,
			HostReady:     st.HostReady,
			Placement:     st.Placement,
		},
	}, nil
}
