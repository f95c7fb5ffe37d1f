package actors

import (
	"context"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/internal/placementclient"
)

// noOwnerWait bounds how long a call waits for a table that places its actor type
// before it fails, as daprd's lookup retries do.
const noOwnerWait = 5 * time.Second

// ownership tracks which actors this sidecar may run, from the placement tables. It
// implements the admission rules of placementclient: an actor takes a turn here only if
// the committed table makes this sidecar its owner, no Prepare since that Commit moves
// it, and the lease holds.
type ownership struct {
	self string

	// mu guards the fields below.
	mu sync.Mutex

	// current is the last committed table; nil until the first Commit.
	current *placementclient.Table

	// pending are the tables prepared since that Commit. An actor whose owner differs
	// between current and any of them is paused until the next Commit.
	pending []*placementclient.Table

	// leaseHeld is false from LeaseLost until the next Commit.
	leaseHeld bool

	// changed is closed and replaced whenever the fields above change, waking waiters.
	changed chan struct{}
}

func newOwnership(self string) *ownership {
	return &ownership{self: self, changed: make(chan struct{})}
}

// route is where a call for the actor goes now.
type route struct {
	// owner is the owning sidecar's internal address; local is true when it is us.
	owner string
	local bool

	// token is the fencing token of a local activation: the committed table's version.
	token uint64
}

// route waits until the actor's owner is settled and returns it. It fails when no table
// places the actor's type for noOwnerWait, or when ctx ends.
func (o *ownership) route(ctx context.Context, actorType, actorID string) (route, error) {
	noOwnerDeadline := time.Now().Add(noOwnerWait)
	for {
		r, settled, hasOwner, changed := o.lookup(actorType, actorID)
		if settled {
			return r, nil
		}
		if !hasOwner && time.Now().After(noOwnerDeadline) {
			return route{}, errNoOwner
		}

		timer := time.NewTimer(time.Until(noOwnerDeadline))
		select {
		case <-changed:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return route{}, ctx.Err()
		}
		timer.Stop()
	}
}

// lookup returns the actor's route if it is settled: owned by a known host, not paused
// by a pending table and, for a local owner, covered by the lease.
func (o *ownership) lookup(actorType, actorID string) (
	r route, settled, hasOwner bool, changed chan struct{}) {

	o.mu.Lock()
	defer o.mu.Unlock()
	changed = o.changed

	owner, ok := o.current.Owner(actorType, actorID)
	if !ok {
		return route{}, false, false, changed
	}
	for _, next := range o.pending {
		if !placementclient.SameOwner(o.current, next, actorType, actorID) {
			return route{}, false, true, changed
		}
	}
	r = route{owner: owner, local: owner == o.self, token: o.current.Version()}
	if r.local && !o.leaseHeld {
		return route{}, false, true, changed
	}
	return r, true, true, changed
}

// admits reports whether a local turn for the actor may run now.
func (o *ownership) admits(actorType, actorID string) bool {
	r, settled, _, _ := o.lookup(actorType, actorID)
	return settled && r.local
}

// ownedElsewhere reports whether t places the actor on another sidecar.
func (o *ownership) ownedElsewhere(t *placementclient.Table, actorType, actorID string) bool {
	owner, ok := t.Owner(actorType, actorID)
	return !ok || owner != o.self
}

func (o *ownership) prepare(next *placementclient.Table) (current *placementclient.Table) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, next)
	o.notifyLocked()
	return o.current
}

func (o *ownership) commit(t *placementclient.Table) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.current = t
	o.pending = nil
	o.leaseHeld = true
	o.notifyLocked()
}

func (o *ownership) leaseLost() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.leaseHeld = false
	o.notifyLocked()
}

// status returns the committed table's version and whether the lease holds.
func (o *ownership) status() (version uint64, connected bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.current.Version(), o.leaseHeld
}

func (o *ownership) notifyLocked() {
	close(o.changed)
	o.changed = make(chan struct{})
}
