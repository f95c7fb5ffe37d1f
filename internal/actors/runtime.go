// Package actors is the sidecar's actor runtime: the table of actors active on this
// sidecar, their turn-based concurrency and reentrancy, their state cache over the store,
// and their deactivation when idle or when the sidecar stops.
//
// Lock order: a table shard's lock, an actor's turn lock and an actor's cache lock are
// never held together, and none is held across I/O.
package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// ReentrancyHeader carries a call chain's id, so the chain can re-enter an actor's turn.
const ReentrancyHeader = "Dapr-Reentrancy-Id"

// errorResponseHeader marks a 200 answer as an actor error that is passed through as is.
const errorResponseHeader = "X-Daprerrorresponseheader"

// storeTimeout bounds one state-store operation, so a store outage fails calls promptly.
const storeTimeout = 5 * time.Second

// App is what the runtime needs of the app: delivering calls and deactivations.
type App interface {
	Invoke(ctx context.Context, r *appchannel.Request) (*appchannel.Response, error)
	Deactivate(ctx context.Context, actorType, actorID string) error
}

// Options configures a Runtime.
type Options struct {
	// AppID prefixes every state key, as in Dapr: appId||type||id||key.
	AppID string

	// App receives the actor calls.
	App App

	// Store persists actor state.
	Store components.Store

	// Config says which types the app hosts and how.
	Config Config

	// Logger receives lifecycle events and errors; nil means slog.Default().
	Logger *slog.Logger

	// Self is this sidecar's internal address (host:port). When set, the runtime runs
	// in a cluster: it implements placementclient.Handler, admits turns only for actors
	// the placement tables give it, forwards other calls to their owners and fences its
	// writes. When empty, it owns every actor of the hosted types (single-node mode).
	Self string

	// MaxBodySize bounds the answers read from other sidecars.
	MaxBodySize int64

	// CallTimeout, when positive, bounds a call to the app. The turn is held until the app
	// answers or this passes, even if the caller has gone, so the next turn never runs
	// beside an abandoned one.
	CallTimeout time.Duration

	// Observer hears about lookups, turn waits, forwards and activations; nil means none.
	Observer Observer

	// Reminders tunes the reminder scheduler (zero values mean its defaults); its AppID,
	// Types, Store, Host and Logger are set by the runtime.
	Reminders ReminderOptions
}

// Runtime runs the actors of one sidecar. Create it with New, start Run, stop with Drain.
type Runtime struct {
	opts   Options
	log    *slog.Logger
	obs    Observer
	actors *table

	// own and peers are set in a cluster, nil in single-node mode.
	own   *ownership
	peers *forwarder

	// draining is set once Drain starts; new activations are refused from then on.
	draining atomic.Bool

	// timers are the activations' timers; reminders is the reminder scheduler, nil when
	// the store keeps no reminders or the app hosts no actors.
	timers    *timerSet
	reminders *reminders.Scheduler
}

// New returns a runtime for opts.
func New(opts Options) *Runtime {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	obs := opts.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	r := &Runtime{opts: opts, log: log, obs: obs, actors: newTable()}
	if opts.Self != "" {
		r.own = newOwnership(opts.Self)
		r.peers = newForwarder(max(opts.MaxBodySize, 4<<20), obs)
	}
	r.initSchedules()
	return r
}

// Config returns the app's actor configuration.
func (r *Runtime) Config() Config { return r.opts.Config }

// ActiveCounts returns the number of active actors of each hosted type (zero included).
func (r *Runtime) ActiveCounts() map[string]int {
	counts := r.actors.counts()
	for _, t := range r.opts.Config.Types() {
		counts[t] += 0
	}
	return counts
}

// Invoke runs a method call in the actor's turn, activating the actor if needed, or
// forwards it to the sidecar that owns the actor. A 200 answer is returned as is
// (including actor errors marked by X-DaprErrorResponseHeader); any other status becomes
// an ERR_ACTOR_INVOKE_METHOD error.
func (r *Runtime) Invoke(ctx context.Context, req *appchannel.Request) (*appchannel.Response, error) {
	if r.own != nil {
		return r.invokeInCluster(ctx, req)
	}
	tc, ok := r.opts.Config.Hosted(req.ActorType)
	if !ok {
		return nil, noAddress(req)
	}
	a, err := r.acquireTurn(ctx, actorKey{req.ActorType, req.ActorID}, reentrancyID(req, tc), tc)
	if err != nil {
		return nil, invokeError(err)
	}
	return r.runTurn(ctx, a, req)
}

func noAddress(req *appchannel.Request) error {
	return apierr.New(apierr.ActorInvokeMethod,
		"error invoke actor method: did not find address for actor %s/%s",
		req.ActorType, req.ActorID)
}

// runTurn delivers the call to the app while the caller holds a's turn, and ends the turn.
func (r *Runtime) runTurn(ctx context.Context, a *actor, req *appchannel.Request) (
	*appchannel.Response, error) {

	a.started.Store(true)
	resp, err := r.callApp(ctx, req)
	a.turn.release()

	if err != nil {
		return nil, invokeError(err)
	}
	if resp.Status != http.StatusOK {
		return nil, apierr.New(apierr.ActorInvokeMethod,
			"error invoke actor method: error from actor service: %s", resp.Body)
	}
	return resp, nil
}

// IsActorError reports whether a successful answer carries an actor error that callers
// receive unchanged (the .NET SDK's way of reporting exceptions).
func IsActorError(resp *appchannel.Response) bool {
	_, ok := resp.Header[errorResponseHeader]
	return ok
}

// reentrancyID returns the call chain's id for a reentrant type, adding one to the
// request when the caller sent none, so the app can pass it on to nested calls.
func reentrancyID(req *appchannel.Request, tc TypeConfig) string {
	if !tc.Reentrant {
		return ""
	}
	if rid := req.Header.Get(ReentrancyHeader); rid != "" {
		return rid
	}
	rid := uuid.NewString()
	if req.Header == nil {
		req.Header = make(http.Header, 1)
	}
	req.Header.Set(ReentrancyHeader, rid)
	return rid
}

// acquireTurn activates the actor if needed and waits for its turn. A waiter whose
// activation was deactivated meanwhile tries again on a fresh activation.
func (r *Runtime) acquireTurn(ctx context.Context, k actorKey, rid string, tc TypeConfig) (*actor, error) {
	for {
		if r.draining.Load() {
			return nil, errors.New("sidecar is shutting down")
		}
		now := time.Now()
		a, created := r.actors.getOrCreate(k, now)
		if created {
			r.obs.Activated(k.typ)
			r.log.Debug("actor activated", "actor_type", k.typ, "actor_id", k.id)
		}

		err := a.turn.acquire(ctx, rid, tc.Reentrant, tc.MaxStackDepth)
		r.obs.TurnWaited(ctx, k.typ, k.id, now, err)
		if errors.Is(err, errDisposed) {
			continue
		}
		if err != nil {
			return nil, err
		}
		a.touch(now)
		return a, nil
	}
}

// callApp delivers the call. The app's answer, not the caller, ends the turn: the call
// is detached from the caller's cancellation and bounded only by CallTimeout.
func (r *Runtime) callApp(ctx context.Context, req *appchannel.Request) (*appchannel.Response, error) {
	ctx = context.WithoutCancel(ctx)
	if r.opts.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.CallTimeout)
		defer cancel()
	}
	return r.opts.App.Invoke(ctx, req)
}

func invokeError(err error) error {
	var apiErr *apierr.Error
	if errors.As(err, &apiErr) {
		return err
	}
	return apierr.New(apierr.ActorInvokeMethod, "error invoke actor method: %w", err)
}

// activeActor returns the actor if it is active on this sidecar, as the state API
// requires (state calls are made by the app during the actor's turn).
func (r *Runtime) activeActor(actorType, actorID string) (*actor, error) {
	if _, ok := r.opts.Config.Hosted(actorType); !ok {
		return nil, apierr.New(apierr.ActorInstanceMissing, "actor instance is missing")
	}
	a := r.actors.get(actorKey{actorType, actorID})
	if a == nil {
		return nil, apierr.New(apierr.ActorInstanceMissing, "actor instance is missing")
	}
	return a, nil
}

func (r *Runtime) stateKey(actorType, actorID, key string) string {
	return r.opts.AppID + "||" + actorType + "||" + actorID + "||" + key
}

// GetState returns the value of an active actor's key. The first read of a key loads it
// from the store; later reads are served from memory until the actor is deactivated.
func (r *Runtime) GetState(ctx context.Context, actorType, actorID, key string) ([]byte, bool, error) {
	a, err := r.activeActor(actorType, actorID)
	if err != nil {
		return nil, false, err
	}

	now := time.Now()
	e, hit, gen := a.cache.lookup(key, now)
	if hit {
		return e.value, e.found, nil
	}

	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	item, found, err := r.opts.Store.Get(ctx, r.stateKey(actorType, actorID, key))
	if err != nil {
		return nil, false, apierr.New(apierr.ActorStateGet, "error getting actor state: %w", err)
	}

	e = cacheEntry{value: item.Value, found: found && len(item.Value) > 0, expires: item.Expires}
	a.cache.fill(key, e, gen)
	return e.value, e.found, nil
}

// StateOp is one operation of an actor state transaction; Key is the actor's own key.
type StateOp struct {
	Key    string
	Delete bool
	Value  []byte
	ETag   string
	TTL    time.Duration
}

// TransactState writes an active actor's state: all operations or none. The write is
// acknowledged only after the store has it; then the cache reflects it.
func (r *Runtime) TransactState(ctx context.Context, actorType, actorID string, ops []StateOp) error {
	a, err := r.activeActor(actorType, actorID)
	if err != nil {
		return err
	}

	txn := components.Txn{Ops: make([]components.Op, len(ops)), Fence: r.fence(a)}
	for i, op := range ops {
		txn.Ops[i] = components.Op{
			Key:    r.stateKey(actorType, actorID, op.Key),
			Delete: op.Delete,
			Value:  op.Value,
			ETag:   op.ETag,
			TTL:    op.TTL,
		}
	}

	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := r.opts.Store.Transact(ctx, txn); err != nil {
		if !isRejection(err) {
			// The store may or may not have applied it: read it again next time.
			a.cache.forget(ops)
		}
		return apierr.New(apierr.ActorStateTransaction,
			"error saving actor state: %w", err)
	}
	a.cache.apply(ops, time.Now())
	return nil
}

// isRejection reports whether the store refused a write, so it certainly wrote nothing.
func isRejection(err error) bool {
	return errors.Is(err, components.ErrETagMismatch) ||
		errors.Is(err, components.ErrInvalidETag) ||
		errors.Is(err, components.ErrFenced)
}

// Run deactivates idle actors until ctx ends.
func (r *Runtime) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.reapInterval())
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			r.reapIdle(ctx, now)
		}
	}
}

// reapInterval checks often enough that an actor outlives its idle timeout by at most a
// tenth of it, within sane bounds.
func (r *Runtime) reapInterval() time.Duration {
	interval := 5 * time.Second
	for _, t := range r.opts.Config.Types() {
		tc, _ := r.opts.Config.Hosted(t)
		interval = min(interval, tc.IdleTimeout/10)
	}
	return max(interval, 20*time.Millisecond)
}

// reapIdle deactivates every actor idle for longer than its type allows.
func (r *Runtime) reapIdle(ctx context.Context, now time.Time) {
	var idle []*actor
	r.actors.each(func(a *actor) {
		tc, _ := r.opts.Config.Hosted(a.key.typ)
		if now.UnixNano()-a.lastUsed.Load() >= int64(tc.IdleTimeout) && a.turn.tryAcquireIdle() {
			idle = append(idle, a)
		}
	})
	r.deactivateAll(ctx, idle)
}

// deactivateAll deactivates actors whose turns the caller holds, several at a time.
func (r *Runtime) deactivateAll(ctx context.Context, held []*actor) {
	const parallel = 16
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, a := range held {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.deactivate(ctx, a)
		})
	}
	wg.Wait()
}

// deactivate ends an activation whose turn the caller holds: the app hears DELETE, then
// the actor leaves the table and its waiters move on to a fresh activation. Until the app
// has answered, new calls queue on this activation, so the app never sees a call for the
// actor while its deactivation is in flight.
func (r *Runtime) deactivate(ctx context.Context, a *actor) {
	if a.started.Load() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.opts.App.Deactivate(ctx, a.key.typ, a.key.id); err != nil {
			r.log.Warn("actor deactivation failed", "actor_type", a.key.typ,
				"actor_id", a.key.id, "err", err)
		}
	}

	r.actors.remove(a)
	a.cache.clear()
	a.turn.dispose()
	r.timers.stopActor(a)
	r.obs.Deactivated(a.key.typ)
	r.log.Debug("actor deactivated", "actor_type", a.key.typ, "actor_id", a.key.id)
}

// Drain stops new activations, waits for each active actor's calls to finish (bounded by
// its type's drain timeout and ctx) and deactivates it. It is the last step of a graceful shutdown.
func (r *Runtime) Drain(ctx context.Context) error {
	r.draining.Store(true)

	var all []*actor
	r.actors.each(func(a *actor) { all = append(all, a) })
	if err := r.drainActors(ctx, all); err != nil {
		return fmt.Errorf("draining actors: %w", err)
	}
	return nil
}
