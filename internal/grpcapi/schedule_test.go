package grpcapi

import (
	"context"
	"errors"
	"sync"
	"testing"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// fakeScheduler records reminder and timer calls and answers with err. It stands in for
// the runtime's reminders and timers, which are not part of this package.
type fakeScheduler struct {
	err error

	mu        sync.Mutex
	reminders []reminders.Request
	timers    []actors.TimerRequest
	deleted   []string
}

func (f *fakeScheduler) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeScheduler) RegisterReminder(_ context.Context, r reminders.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reminders = append(f.reminders, r)
	return f.err
}

func (f *fakeScheduler) UnregisterReminder(_ context.Context, typ, id, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, "reminder "+typ+"/"+id+"/"+name)
	return f.err
}

func (f *fakeScheduler) RegisterTimer(_ context.Context, t actors.TimerRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timers = append(f.timers, t)
	return f.err
}

func (f *fakeScheduler) UnregisterTimer(_ context.Context, typ, id, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, "timer "+typ+"/"+id+"/"+name)
	return f.err
}

func TestRemindersAndTimersUnavailable(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()

	_, err := h.client.RegisterActorReminder(ctx, &runtimev1pb.RegisterActorReminderRequest{
		ActorType: "counter", ActorId: "a", Name: "r"})
	requireStatus(t, err, codes.Unimplemented,
		"troupe does not implement Dapr RPC RegisterActorReminder yet: actor reminders")

	_, err = h.client.UnregisterActorTimer(ctx, &runtimev1pb.UnregisterActorTimerRequest{
		ActorType: "counter", ActorId: "a", Name: "t"})
	requireStatus(t, err, codes.Unimplemented,
		"troupe does not implement Dapr RPC UnregisterActorTimer yet: actor timers")
}

func TestRemindersAndTimersReachTheRuntime(t *testing.T) {
	sched := &fakeScheduler{}
	h := newHarness(t, func(o *Options) {
		o.Reminders = sched
		o.Timers = sched
	})
	ctx := context.Background()

	_, err := h.client.RegisterActorReminder(ctx, &runtimev1pb.RegisterActorReminderRequest{
		ActorType: "counter", ActorId: "a", Name: "r", DueTime: "5s", Period: "R5/PT1S",
		Ttl: "1m", Data: []byte("hi"),
	})
	require.NoError(t, err)
	_, err = h.client.RegisterActorTimer(ctx, &runtimev1pb.RegisterActorTimerRequest{
		ActorType: "counter", ActorId: "a", Name: "t", DueTime: "1s", Callback: "Tick",
	})
	require.NoError(t, err)
	_, err = h.client.UnregisterActorReminder(ctx, &runtimev1pb.UnregisterActorReminderRequest{
		ActorType: "counter", ActorId: "a", Name: "r"})
	require.NoError(t, err)
	_, err = h.client.UnregisterActorTimer(ctx, &runtimev1pb.UnregisterActorTimerRequest{
		ActorType: "counter", ActorId: "a", Name: "t"})
	require.NoError(t, err)

	sched.mu.Lock()
	defer sched.mu.Unlock()
	require.Len(t, sched.reminders, 1)
	assert.Equal(t, reminders.Request{
		ActorType: "counter", ActorID: "a", Name: "r", DueTime: "5s", Period: "R5/PT1S",
		TTL: "1m", Data: []byte(`"aGk="`),
	}, sched.reminders[0], "gRPC bytes become a base64 JSON string")
	require.Len(t, sched.timers, 1)
	assert.Equal(t, "Tick", sched.timers[0].Callback)
	assert.Nil(t, sched.timers[0].Data, "no data stays absent")
	assert.Equal(t, []string{"reminder counter/a/r", "timer counter/a/t"}, sched.deleted)
}

func TestScheduleErrors(t *testing.T) {
	sched := &fakeScheduler{}
	h := newHarness(t, func(o *Options) {
		o.Reminders = sched
		o.Timers = sched
	})
	ctx := context.Background()
	reminder := &runtimev1pb.RegisterActorReminderRequest{ActorType: "x", ActorId: "a", Name: "r"}

	sched.setErr(apierr.New(apierr.ActorReminderHosted, "type x is not hosted"))
	_, err := h.client.RegisterActorReminder(ctx, reminder)
	requireStatus(t, err, codes.PermissionDenied, "type x is not hosted")

	sched.setErr(errors.New("store down"))
	_, err = h.client.RegisterActorReminder(ctx, reminder)
	requireStatus(t, err, codes.Internal, "error creating actor reminder: store down")
	_, err = h.client.UnregisterActorTimer(ctx, &runtimev1pb.UnregisterActorTimerRequest{
		ActorType: "x", ActorId: "a", Name: "t"})
	requireStatus(t, err, codes.Internal, "error deleting timer: store down")

	_, err = h.client.RegisterActorTimer(ctx, &runtimev1pb.RegisterActorTimerRequest{
		ActorType: "x", ActorId: "a"})
	requireStatus(t, err, codes.InvalidArgument, "name is empty")
	sched.mu.Lock()
	defer sched.mu.Unlock()
	assert.Empty(t, sched.timers, "an invalid request does not reach the runtime")
}
