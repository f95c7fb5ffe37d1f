package actors

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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

	// mu serialises writers; readers load state without it, so routing a call takes no
	// lock.
	mu    sync.Mutex
	state atomic.Pointer[ownershipState]
}

// ownershipState is one immutable view of the tables; a change replaces it whole.
type ownershipState struct {
	// current is the last committed table; nil until the first Commit.
	current *placementclient.Table

	// pending are the tables prepared since that Commit. An actor whose owner differs
	// between current and any of them is paused until the next Commit.
	pending []*placementclient.Table

	// leaseHeld is false from LeaseLost until the next Commit.
	leaseHeld bool

	// changed is closed when this view is replaced, waking waiters.
	changed chan struct{}
}

func newOwnership(self string) *ownership {
	o := &ownership{self: self}
	o.state.Store(&ownershipState{changed: make(chan struct{})})
	return o
}

// update replaces the view with a copy that change has modified, and wakes waiters.
func (o *ownership) update(change func(*ownershipState)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.state.Load()
	next := *old
	next.pending = slices.Clone(old.pending)
	next.changed = make(chan struct{})
	change(&next)
	o.state.Store(&next)
	close(old.changed)
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

	st := o.state.Load()
	owner, ok := st.current.Owner(actorType, actorID)
	if !ok {
		return route{}, false, false, st.changed
	}
	for _, next := range st.pending {
		if !placementclient.SameOwner(st.current, next, actorType, actorID) {
			return route{}, false, true, st.changed
		}
	}
	r = route{owner: owner, local: owner == o.self, token: st.current.Version()}
	if r.local && !st.leaseHeld {
		return route{}, false, true, st.changed
	}
	return r, true, true, st.changed
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

func (o *ownership) prepare(next *placementclient.Table) {
	o.update(func(st *ownershipState) { st.pending = append(st.pending, next) })
}

func (o *ownership) commit(t *placementclient.Table) {
	o.update(func(st *ownershipState) {
		st.current, st.pending, st.leaseHeld = t, nil, true
	})
}

func (o *ownership) leaseLost() {
	o.update(func(st *ownershipState) { st.leaseHeld = false })
}

// status returns the committed table's version and whether the lease holds.
func (o *ownership) status() (version uint64, connected bool) {
	st := o.state.Load()
	return st.current.Version(), st.leaseHeld
}
