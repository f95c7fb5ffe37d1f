// Package api is what the go-sdk example's actor host and client share: the actor type's
// name, its methods as a client stub, and the values they exchange as JSON.
package api

import "context"

// ActorType is the name the host registers its actor under.
const ActorType = "Counter"

// CounterStub is the client side of the Counter actor. client.ImplActorClientStub fills
// in each func field with a call to the method of the same name.
type CounterStub struct {
	id string

	// Greet answers with a greeting for name.
	Greet func(ctx context.Context, name string) (string, error)

	// Increment adds one to the actor's persisted count.
	Increment func(ctx context.Context) (*Count, error)

	// StartTicking registers the actor's timer and reminder.
	StartTicking func(ctx context.Context, s *Schedule) (*Schedule, error)

	// StopTicking unregisters them and reports how often they fired.
	StopTicking func(ctx context.Context) (*Fired, error)

	// Fired reports how often the timer and the reminder have fired.
	Fired func(ctx context.Context) (*Fired, error)
}

// NewCounterStub returns a stub for the actor with the given id; it does nothing until
// passed to client.ImplActorClientStub.
func NewCounterStub(id string) *CounterStub {
	return &CounterStub{id: id}
}

// Type returns the actor type the stub calls.
func (s *CounterStub) Type() string { return ActorType }

// ID returns the id of the actor the stub calls.
func (s *CounterStub) ID() string { return s.id }

// Count is the result of Increment.
type Count struct {
	// Value is the count after the increment; it is kept in the actor state store.
	Value int `json:"value"`

	// Activation counts the calls since this activation of the actor; it lives only in
	// the host's memory, so it starts again at 1 after the actor was deactivated.
	Activation int `json:"activation"`
}

// Schedule says when the actor's timer and reminder fire, in Dapr's duration formats.
type Schedule struct {
	DueTime string `json:"dueTime"`
	Period  string `json:"period"`
}

// Fired counts the timer's and the reminder's firings, as kept in the actor's state.
type Fired struct {
	Timer    int `json:"timer"`
	Reminder int `json:"reminder"`
}
