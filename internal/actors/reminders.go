package actors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// ReminderOptions tunes the reminder scheduler; the zero value means its defaults. Store,
// when nil, is the runtime's store (or the store it decorates) if it keeps reminders.
type ReminderOptions = reminders.Options

// initSchedules creates the timer set and, when the store keeps reminders and the app
// hosts actors, the reminder scheduler.
func (r *Runtime) initSchedules() {
	r.timers = newTimerSet()
	opts := r.opts.Reminders
	if opts.Store == nil {
		opts.Store, _ = components.ReminderStoreOf(r.opts.Store)
	}
	types := r.opts.Config.Types()
	if opts.Store == nil || len(types) == 0 {
		return
	}

	opts.AppID, opts.Types, opts.Host = r.opts.AppID, types, schedulerHost{r}
	if opts.Logger == nil {
		opts.Logger = r.log
	}
	r.reminders = reminders.New(opts)
}

// RunSchedules fires reminders until ctx ends; then it waits for the deliveries and
// timer callbacks in flight. Start it beside Run.
func (r *Runtime) RunSchedules(ctx context.Context) error {
	defer r.timers.wait()
	if r.reminders == nil {
		<-ctx.Done()
		return nil
	}
	return r.reminders.Run(ctx)
}

// checkReminderHost fails with 403 ERR_ACTOR_REMINDER_NON_HOSTED unless the app hosts
// actorType, and with ERR_ACTOR_REMINDER_CREATE-style kind k when the store keeps no
// reminders.
func (r *Runtime) checkReminderHost(actorType string, k apierr.Kind) error {
	if _, ok := r.opts.Config.Hosted(actorType); !ok {
		return apierr.New(apierr.ActorReminderHosted,
			"operations on actor reminders are only possible on hosted actor types")
	}
	if r.reminders == nil {
		return apierr.New(k, "the actor state store does not keep reminders")
	}
	return nil
}

// RegisterReminder creates or replaces a durable reminder. The actor need not be active
// or owned here: its owner's scheduler fires it.
func (r *Runtime) RegisterReminder(ctx context.Context, req reminders.Request) error {
	if err := r.checkReminderHost(req.ActorType, apierr.ActorReminderCreate); err != nil {
		return err
	}
	if err := r.reminders.Register(ctx, req); err != nil {
		return apierr.New(apierr.ActorReminderCreate, "error creating actor reminder: %w", err)
	}
	r.obs.Registered("reminder", req.ActorType)
	return nil
}

// GetReminder returns a reminder, or nil when there is none.
func (r *Runtime) GetReminder(ctx context.Context, actorType, actorID, name string) (
	*reminders.Reminder, error) {
	if err := r.checkReminderHost(actorType, apierr.ActorReminderGet); err != nil {
		return nil, err
	}
	rem, err := r.reminders.Get(ctx, actorType, actorID, name)
	if err != nil {
		return nil, apierr.New(apierr.ActorReminderGet, "error getting actor reminder: %w", err)
	}
	return rem, nil
}

// UnregisterReminder deletes a reminder; a missing one is not an error.
func (r *Runtime) UnregisterReminder(ctx context.Context, actorType, actorID, name string) error {
	if err := r.checkReminderHost(actorType, apierr.ActorReminderDelete); err != nil {
		return err
	}
	if err := r.reminders.Delete(ctx, actorType, actorID, name); err != nil {
		return apierr.New(apierr.ActorReminderDelete, "error deleting actor reminder: %w", err)
	}
	return nil
}

// schedulerHost lets the reminder scheduler deliver through the runtime's turns.
type schedulerHost struct{ r *Runtime }

// Owns reports whether this sidecar may start a turn for the actor now, and the
// committed table's version it would run under (0 in single-node mode).
func (h schedulerHost) Owns(actorType, actorID string) (uint64, bool) {
	r := h.r
	if r.draining.Load() {
		return 0, false
	}
	if r.own == nil {
		_, ok := r.opts.Config.Hosted(actorType)
		return 0, ok
	}
	rt, settled, _, _ := r.own.lookup(actorType, actorID)
	return rt.token, settled && rt.local
}

// InTurn takes the actor's owned turn (activating it), runs fn and ends the turn.
func (h schedulerHost) InTurn(ctx context.Context, actorType, actorID string,
	fn func(reminders.Turn) error) error {
	a, req, token, err := h.r.acquireScheduledTurn(ctx, actorType, actorID)
	if err != nil {
		return err
	}
	defer a.turn.release()

	return fn(reminders.Turn{
		Fence: h.r.fence(a),
		Token: token,
		Call: func(ctx context.Context, path string, body []byte) (*appchannel.Response, error) {
			return h.r.callScheduled(ctx, a, req, path, body)
		},
	})
}

// acquireScheduledTurn takes the turn for a reminder call and returns the ownership
// token it was admitted under. It fails with reminders.ErrNotOwner when the actor may
// not take a turn here now.
func (r *Runtime) acquireScheduledTurn(ctx context.Context, actorType, actorID string) (
	*actor, *appchannel.Request, uint64, error) {
	tc, ok := r.opts.Config.Hosted(actorType)
	if !ok || r.draining.Load() {
		return nil, nil, 0, reminders.ErrNotOwner
	}
	req := &appchannel.Request{ActorType: actorType, ActorID: actorID, Header: http.Header{}}

	if r.own == nil {
		a, err := r.acquireTurn(ctx, actorKey{actorType, actorID}, reentrancyID(req, tc), tc)
		if err != nil && r.draining.Load() {
			return nil, nil, 0, reminders.ErrNotOwner
		}
		return a, req, 0, err
	}

	rt, settled, _, _ := r.own.lookup(actorType, actorID)
	if !settled || !rt.local {
		return nil, nil, 0, reminders.ErrNotOwner
	}
	a, err := r.acquireOwnedTurn(ctx, req, rt)
	if errors.Is(err, errDisposed) || (err != nil && r.draining.Load()) {
		return nil, nil, 0, reminders.ErrNotOwner
	}
	return a, req, rt.token, err
}

// callScheduled delivers a reminder or timer call to the app in a's turn. Unlike method
// calls it follows ctx, so that stopping the scheduler ends calls the drain left.
func (r *Runtime) callScheduled(ctx context.Context, a *actor, req *appchannel.Request,
	path string, body []byte) (*appchannel.Response, error) {
	a.started.Store(true)
	call := *req
	call.Path, call.Body, call.ContentType = path, body, "application/json"
	if r.opts.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.CallTimeout)
		defer cancel()
	}

	kind, name, _ := strings.Cut(path, "/")
	if kind == "remind" {
		kind = "reminder"
	}
	ctx, end := r.obs.StartFiring(ctx, kind, a.key.typ, a.key.id, name)
	resp, err := r.opts.App.Invoke(ctx, &call)
	if err == nil && resp.Status != http.StatusOK {
		end(fmt.Errorf("app answered %d", resp.Status))
	} else {
		end(err)
	}
	return resp, err
}
