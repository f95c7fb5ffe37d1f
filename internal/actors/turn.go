package actors

import (
	"context"
	"errors"
	"sync"
)

var (
	// ErrMaxStackDepth means a reentrant call chain went deeper than the type allows.
	ErrMaxStackDepth = errors.New("maximum stack depth exceeded")

	// errDisposed tells a waiter that the activation it waited for was deactivated; the
	// caller looks the actor up again and gets a fresh activation.
	errDisposed = errors.New("actor is already disposed")
)

// turn serialises an actor's calls: one turn at a time, handed to waiters in arrival
// order, with optional reentrancy for calls that carry the holder's reentrancy id.
type turn struct {
	// mu guards every field below.
	mu sync.Mutex

	// held is true while a call (or the deactivation) owns the turn. holder is the owner's
	// reentrancy id ("" when the call has none) and depth its nesting, >= 1 while held.
	held   bool
	holder string
	depth  int

	// waiters are the calls queued for the turn, first come first served.
	waiters []*waiter

	// disposed is set once the activation is gone; every later acquire fails.
	disposed bool
}

type waiter struct {
	ready    chan struct{}
	rid      string
	granted  bool
	disposed bool
}

// acquire takes the turn, waiting for it if needed. A call whose non-empty rid equals the
// holder's re-enters when reentrant is true, up to maxDepth.
func (t *turn) acquire(ctx context.Context, rid string, reentrant bool, maxDepth int) error {
	t.mu.Lock()
	switch {
	case t.disposed:
		t.mu.Unlock()
		return errDisposed
	case !t.held:
		t.held, t.holder, t.depth = true, rid, 1
		t.mu.Unlock()
		return nil
	case reentrant && rid != "" && rid == t.holder:
		defer t.mu.Unlock()
		if t.depth >= maxDepth {
			return ErrMaxStackDepth
		}
		t.depth++
		return nil
	}

	w := &waiter{ready: make(chan struct{}), rid: rid}
	t.waiters = append(t.waiters, w)
	t.mu.Unlock()

	return t.wait(ctx, w)
}

func (t *turn) wait(ctx context.Context, w *waiter) error {
	select {
	case <-w.ready:
	case <-ctx.Done():
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case w.granted && ctx.Err() != nil:
		// The turn was handed over just as the caller gave up: pass it on.
		t.releaseLocked()
		return ctx.Err()
	case w.granted:
		return nil
	case w.disposed:
		return errDisposed
	}
	t.removeWaiterLocked(w)
	return ctx.Err()
}

func (t *turn) removeWaiterLocked(w *waiter) {
	for i, other := range t.waiters {
		if other == w {
			t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
			return
		}
	}
}

// release ends one level of the current turn; at depth zero the next waiter gets it.
func (t *turn) release() {
	t.mu.Lock()
	t.releaseLocked()
	t.mu.Unlock()
}

func (t *turn) releaseLocked() {
	t.depth--
	if t.depth > 0 {
		return
	}
	if len(t.waiters) == 0 {
		t.held, t.holder = false, ""
		return
	}

	next := t.waiters[0]
	t.waiters[0] = nil
	t.waiters = t.waiters[1:]
	t.holder, t.depth = next.rid, 1
	next.granted = true
	close(next.ready)
}

// tryAcquireIdle takes the turn only if nobody holds it or waits for it. The idle reaper
// and the drain use it to claim an actor they may deactivate.
func (t *turn) tryAcquireIdle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held || t.disposed || len(t.waiters) > 0 {
		return false
	}
	t.held, t.holder, t.depth = true, "", 1
	return true
}

// busy reports whether a call holds or waits for the turn.
func (t *turn) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.held || len(t.waiters) > 0
}

// dispose ends the activation: the holder (the deactivation) gives up the turn and every
// waiter is told to look the actor up again.
func (t *turn) dispose() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.disposed = true
	t.held, t.holder, t.depth = false, "", 0
	for _, w := range t.waiters {
		w.disposed = true
		close(w.ready)
	}
	t.waiters = nil
}
