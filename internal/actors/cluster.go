package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/placementclient"
)

// errNoOwner means no placement table places the actor's type.
var errNoOwner = errors.New("no sidecar hosts the actor type")

// rerouteWait bounds how long a call whose owner refused the connection waits for a new
// table before it fails.
const rerouteWait = 3 * time.Second

// invokeInCluster routes a call by the placement table: a local turn when this sidecar
// owns the actor, a forward to the owner otherwise.
func (r *Runtime) invokeInCluster(ctx context.Context, req *appchannel.Request) (
	*appchannel.Response, error) {

	hops := hopsOf(req)
	req.Header.Del(HopsHeader)
	for {
		start := time.Now()
		rt, err := r.own.route(ctx, req.ActorType, req.ActorID)
		r.obs.LookedUp(ctx, req.ActorType, req.ActorID, start, rt.owner, err)
		if errors.Is(err, errNoOwner) {
			return nil, noAddress(req)
		}
		if err != nil {
			return nil, invokeError(err)
		}

		if !rt.local {
			resp, err := r.forwardOnce(ctx, rt, req, hops)
			if errors.Is(err, errNotDelivered) {
				continue // the owner is gone; the next table names its successor
			}
			return resp, err
		}

		a, err := r.acquireOwnedTurn(ctx, req, rt)
		if errors.Is(err, errDisposed) {
			continue // ownership changed while we waited for the turn
		}
		if err != nil {
			return nil, invokeError(err)
		}
		return r.runTurn(ctx, a, req)
	}
}

// forwardOnce forwards the call to the owner. When the owner refused the connection it
// waits (bounded) for the table to change and returns errNotDelivered to route again.
func (r *Runtime) forwardOnce(ctx context.Context, rt route, req *appchannel.Request,
	hops int) (*appchannel.Response, error) {

	if hops >= maxHops {
		return nil, apierr.New(apierr.ActorInvokeMethod,
			"error invoke actor method: call for %s/%s forwarded %d times without reaching its owner",
			req.ActorType, req.ActorID, hops)
	}
	fctx, end := r.obs.StartForward(ctx, req.ActorType, req.ActorID, rt.owner)
	resp, err := r.peers.forward(fctx, rt.owner, req, hops)
	end(forwardStatus(resp, err), err)
	if !errors.Is(err, errNotDelivered) {
		return resp, err
	}

	if !r.own.waitForNewTable(ctx, rt.token, rerouteWait) {
		return nil, invokeError(err)
	}
	return nil, err
}

// acquireOwnedTurn takes the actor's turn and checks, while holding it, that this
// sidecar still owns the actor: a Prepare may have moved it after routing. The first
// turn of an activation claims the store fence with the table's version.
func (r *Runtime) acquireOwnedTurn(ctx context.Context, req *appchannel.Request, rt route) (*actor, error) {
	tc, ok := r.opts.Config.Hosted(req.ActorType)
	if !ok {
		return nil, noAddress(req)
	}
	a, err := r.acquireTurn(ctx, actorKey{req.ActorType, req.ActorID}, reentrancyID(req, tc), tc)
	if err != nil {
		return nil, err
	}
	if !r.own.admits(req.ActorType, req.ActorID) {
		a.turn.release()
		return nil, errDisposed
	}
	if err := r.claim(ctx, a, rt.token); err != nil {
		a.turn.release()
		return nil, err
	}
	return a, nil
}

// claim raises the actor's fence in the store to token on its first turn, so that a
// former owner that has not yet noticed the move can no longer write its state.
func (r *Runtime) claim(ctx context.Context, a *actor, token uint64) error {
	if a.token.Load() != 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	fence := &components.Fence{Key: r.fenceKey(a.key), Token: token}
	if err := r.opts.Store.Transact(ctx, components.Txn{Fence: fence}); err != nil {
		return fmt.Errorf("claiming actor %s/%s: %w", a.key.typ, a.key.id, err)
	}
	a.token.Store(token)
	return nil
}

// fence returns the fence for a's writes; nil in single-node mode.
func (r *Runtime) fence(a *actor) *components.Fence {
	token := a.token.Load()
	if r.own == nil || token == 0 {
		return nil
	}
	return &components.Fence{Key: r.fenceKey(a.key), Token: token}
}

func (r *Runtime) fenceKey(k actorKey) string {
	return "troupe-fence:" + r.opts.AppID + "||" + k.typ + "||" + k.id
}

// waitForNewTable waits until a table newer than version is committed, up to d.
func (o *ownership) waitForNewTable(ctx context.Context, version uint64, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		st := o.state.Load()
		if st.current.Version() > version {
			return true
		}
		select {
		case <-st.changed:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Prepare implements placementclient.Handler: it pauses the actors whose owner next
// changes, then drains and deactivates those this sidecar loses.
func (r *Runtime) Prepare(ctx context.Context, _, next *placementclient.Table) error {
	r.own.prepare(next)

	var lost []*actor
	r.actors.each(func(a *actor) {
		if r.own.ownedElsewhere(next, a.key.typ, a.key.id) {
			lost = append(lost, a)
		}
	})
	r.log.Debug("handing over actors", "table_version", next.Version(), "actors", len(lost))

	// An actor whose call outlives its drain timeout is left to finish; it takes no new
	// turn here, and the new owner's fence rejects its writes. Failing the Prepare instead
	// would make placement fence this whole sidecar.
	if err := r.drainActors(ctx, lost); err != nil {
		r.log.Warn("hand-over incomplete", "table_version", next.Version(), "err", err)
	}
	return nil
}

// drainActors waits for each actor's calls in flight (bounded by its type's drain
// timeout) and deactivates it.
func (r *Runtime) drainActors(ctx context.Context, list []*actor) error {
	var held []*actor
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range list {
		if a.turn.tryAcquireIdle() {
			mu.Lock()
			held = append(held, a)
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			if r.waitForTurn(ctx, a) {
				mu.Lock()
				held = append(held, a)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	r.deactivateAll(ctx, held)
	if len(held) < len(list) {
		return fmt.Errorf("%d actors still busy after their drain timeout", len(list)-len(held))
	}
	return ctx.Err()
}

func (r *Runtime) waitForTurn(ctx context.Context, a *actor) bool {
	tc, _ := r.opts.Config.Hosted(a.key.typ)
	ctx, cancel := context.WithTimeout(ctx, tc.DrainCallTimeout)
	defer cancel()
	if err := a.turn.acquire(ctx, "", false, 1); err != nil {
		if !errors.Is(err, errDisposed) {
			r.log.Warn("actor still busy after its drain timeout; its writes stay fenced",
				"actor_type", a.key.typ, "actor_id", a.key.id)
		}
		return false
	}
	return true
}

// Commit implements placementclient.Handler: t becomes the table, and actors it places
// elsewhere (if a Prepare did not already move them) are drained in the background.
func (r *Runtime) Commit(t *placementclient.Table) {
	r.own.commit(t)

	var stray []*actor
	r.actors.each(func(a *actor) {
		if r.own.ownedElsewhere(t, a.key.typ, a.key.id) {
			stray = append(stray, a)
		}
	})
	if len(stray) > 0 {
		go r.drainActors(context.Background(), stray)
	}
	r.log.Info("placement table committed", "table_version", t.Version(),
		"members", len(t.Members()))
}

// LeaseLost implements placementclient.Handler: no new turns until the next Commit.
func (r *Runtime) LeaseLost() {
	r.own.leaseLost()
	r.log.Warn("placement lease lost; actor calls pause until placement answers")
}

// PlacementStatus returns the committed table's version and whether the lease holds;
// ok is false in single-node mode.
func (r *Runtime) PlacementStatus() (version uint64, connected, ok bool) {
	if r.own == nil {
		return 0, false, false
	}
	version, connected = r.own.status()
	return version, connected, true
}
