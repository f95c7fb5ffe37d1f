package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// TimerRequest is a timer to create: the reminder fields plus the callback method the
// app's SDK runs when it fires.
type TimerRequest struct {
	reminders.Request
	Callback string
}

// timerSet holds the timers of this sidecar's activations, in memory only: a timer ends
// with its activation, when its schedule is over, or when it is deleted.
type timerSet struct {
	// mu guards byActor. Lock order: never held with a turn or table lock.
	mu      sync.Mutex
	byActor map[actorKey]map[string]*timer

	// running counts the scheduled and firing callbacks, for RunSchedules to wait on.
	running sync.WaitGroup
}

func newTimerSet() *timerSet {
	return &timerSet{byActor: make(map[actorKey]map[string]*timer)}
}

// timer is one timer of one activation. Each fire runs in a goroutine of its own, so a
// slow callback delays only the next fire of this timer.
type timer struct {
	r    *Runtime
	a    *actor
	name string
	body []byte

	period  reminders.Period
	expires time.Time

	// mu guards the fields below.
	mu        sync.Mutex
	due       time.Time
	firesLeft int // -1 for no limit
	clock     *time.Timer
	stopped   bool
}

// timerCall is the body of PUT /actors/{type}/{id}/method/timer/{name} (contract §2.5):
// a timer without data sends "data":null.
type timerCall struct {
	Data     json.RawMessage `json:"data"`
	Callback string          `json:"callback"`
	DueTime  string          `json:"dueTime"`
	Period   string          `json:"period"`
}

// RegisterTimer creates or replaces a timer of an actor active on this sidecar.
func (r *Runtime) RegisterTimer(_ context.Context, req TimerRequest) error {
	a := r.actors.get(actorKey{req.ActorType, req.ActorID})
	if a == nil {
		return apierr.New(apierr.ActorTimerCreate,
			"error creating timer: can't create timer for actor %s||%s: actor not activated",
			req.ActorType, req.ActorID)
	}
	t, err := r.newTimer(a, req, time.Now())
	if err != nil {
		return apierr.New(apierr.ActorTimerCreate, "error creating timer: %w", err)
	}
	r.timers.add(t)
	r.obs.Registered("timer", req.ActorType)
	return nil
}

// UnregisterTimer deletes a timer; a missing one is not an error.
func (r *Runtime) UnregisterTimer(_ context.Context, actorType, actorID, name string) error {
	if t := r.timers.remove(actorKey{actorType, actorID}, name); t != nil {
		t.stop()
	}
	return nil
}

func (r *Runtime) newTimer(a *actor, req TimerRequest, now time.Time) (*timer, error) {
	data, err := reminders.CompactData(req.Data)
	if err != nil {
		return nil, err
	}
	s, err := reminders.ParseSchedule(req.Request, "timer", now)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(timerCall{Data: data, Callback: req.Callback,
		DueTime: req.DueTime, Period: req.Period})
	if err != nil {
		return nil, err
	}
	return &timer{r: r, a: a, name: req.Name, body: body, period: s.Period,
		expires: s.Expires, due: s.Due, firesLeft: s.Fires()}, nil
}

// add starts t, replacing the activation's timer of the same name.
func (ts *timerSet) add(t *timer) {
	ts.mu.Lock()
	named := ts.byActor[t.a.key]
	if named == nil {
		named = make(map[string]*timer)
		ts.byActor[t.a.key] = named
	}
	old := named[t.name]
	named[t.name] = t
	ts.mu.Unlock()

	if old != nil {
		old.stop()
	}
	t.schedule()
}

// remove takes the named timer out of the set and returns it; nil when absent.
func (ts *timerSet) remove(k actorKey, name string) *timer {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.byActor[k][name]
	if t == nil {
		return nil
	}
	delete(ts.byActor[k], name)
	if len(ts.byActor[k]) == 0 {
		delete(ts.byActor, k)
	}
	return t
}

// removeIf removes t only if it is still the set's timer of its name.
func (ts *timerSet) removeIf(t *timer) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if named := ts.byActor[t.a.key]; named[t.name] == t {
		delete(named, t.name)
		if len(named) == 0 {
			delete(ts.byActor, t.a.key)
		}
	}
}

// stopActor ends every timer of activation a; the deactivation calls it.
func (ts *timerSet) stopActor(a *actor) {
	ts.mu.Lock()
	var ended []*timer
	for name, t := range ts.byActor[a.key] {
		if t.a == a {
			ended = append(ended, t)
			delete(ts.byActor[a.key], name)
		}
	}
	if len(ts.byActor[a.key]) == 0 {
		delete(ts.byActor, a.key)
	}
	ts.mu.Unlock()

	for _, t := range ended {
		t.stop()
	}
}

func (ts *timerSet) wait() { ts.running.Wait() }

// schedule arms the clock for t.due unless t is stopped.
func (t *timer) schedule() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.r.timers.running.Add(1)
	t.clock = time.AfterFunc(time.Until(t.due), t.fire)
}

// stop ends t; a fire already running completes.
func (t *timer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.clock != nil && t.clock.Stop() {
		t.r.timers.running.Done()
	}
}

// fire delivers one tick in the actor's turn and schedules the next.
func (t *timer) fire() {
	defer t.r.timers.running.Done()
	if !t.expires.IsZero() && !t.due.Before(t.expires) {
		t.r.timers.removeIf(t)
		return
	}

	err := t.deliver()
	if errors.Is(err, errDisposed) {
		t.r.timers.removeIf(t) // the activation ended
		return
	}
	if err != nil {
		t.r.log.Debug("timer callback failed", "actor_type", t.a.key.typ,
			"actor_id", t.a.key.id, "timer", t.name, "err", err)
	}

	if !t.advance(time.Now()) {
		t.r.timers.removeIf(t)
		return
	}
	t.schedule()
}

// advance moves t past a fire at now; false when it has no fire left. A failed callback
// counts as a fire: timers are not retried, as in daprd.
func (t *timer) advance(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.firesLeft > 0 {
		t.firesLeft--
	}
	if t.firesLeft == 0 || !t.period.Repeating() {
		return false
	}
	t.due = t.period.Next(t.due, now)
	return t.expires.IsZero() || t.due.Before(t.expires)
}

// deliver calls the app in the turn of t's activation (never a later one). It returns
// errDisposed when the activation has ended, and skips the tick when t was stopped
// meanwhile or the actor is moving to another sidecar.
func (t *timer) deliver() error {
	r, a := t.r, t.a
	tc, _ := r.opts.Config.Hosted(a.key.typ)
	req := &appchannel.Request{ActorType: a.key.typ, ActorID: a.key.id, Header: http.Header{}}
	rid := reentrancyID(req, tc)
	if err := a.turn.acquire(context.Background(), rid, tc.Reentrant, tc.MaxStackDepth); err != nil {
		return err
	}
	defer a.turn.release()

	if t.isStopped() || (r.own != nil && !r.own.admits(a.key.typ, a.key.id)) {
		return nil
	}
	a.touch(time.Now())
	resp, err := r.callScheduled(context.Background(), a, req,
		"timer/"+url.PathEscape(t.name), t.body)
	if err == nil && resp.Status != http.StatusOK {
		err = fmt.Errorf("app answered %d: %s", resp.Status, resp.Body)
	}
	return err
}

func (t *timer) isStopped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopped
}
