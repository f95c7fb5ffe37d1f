package actors

import (
	"context"
	"net/http"
	"time"
)

// Observer hears about the runtime's steps so that package telemetry can trace and
// measure them; the runtime itself creates no spans. Methods are called on the call
// path: they must be cheap and must not block.
type Observer interface {
	// LookedUp reports a placement lookup that began at start; owner is the internal
	// address of the sidecar the table names (this one's own when it owns the actor).
	LookedUp(ctx context.Context, actorType, actorID string, start time.Time, owner string,
		err error)

	// TurnWaited reports a wait for an actor's turn that began at start.
	TurnWaited(ctx context.Context, actorType, actorID string, start time.Time, err error)

	// StartForward begins forwarding a call to owner. The returned context carries the
	// trace context that InjectForward writes into the request; end reports the outcome
	// (status is the owner's HTTP status, 0 when it did not answer).
	StartForward(ctx context.Context, actorType, actorID, owner string) (
		fctx context.Context, end func(status int, err error))

	// InjectForward writes ctx's trace context into a forwarded request's headers.
	InjectForward(ctx context.Context, h http.Header)

	// Activated and Deactivated report an activation's start and end.
	Activated(actorType string)
	Deactivated(actorType string)

	// Registered reports a reminder or timer created or replaced; kind is "reminder" or
	// "timer".
	Registered(kind, actorType string)

	// StartFiring begins delivering a reminder or timer. The returned context carries the
	// firing into the app call; end reports the outcome (nil when the app answered 200).
	StartFiring(ctx context.Context, kind, actorType, actorID, name string) (
		fctx context.Context, end func(err error))
}

// nopObserver is the Observer of a runtime created without one.
type nopObserver struct{}

func (nopObserver) LookedUp(context.Context, string, string, time.Time, string, error) {}
func (nopObserver) TurnWaited(context.Context, string, string, time.Time, error)       {}
func (nopObserver) InjectForward(context.Context, http.Header)                         {}
func (nopObserver) Activated(string)                                                   {}
func (nopObserver) Deactivated(string)                                                 {}
func (nopObserver) Registered(string, string)                                          {}

func (nopObserver) StartFiring(ctx context.Context, _, _, _, _ string) (context.Context,
	func(error)) {
	return ctx, nopFired
}

func nopFired(error) {}

func (nopObserver) StartForward(ctx context.Context, _, _, _ string) (context.Context,
	func(int, error)) {
	return ctx, nopEnd
}

func nopEnd(int, error) {}
