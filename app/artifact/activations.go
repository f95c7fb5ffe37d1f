package artifact

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Activation is one period during which an actor was active in this process: from the
// first method call for an id that was not active here to the sidecar's DELETE for it.
type Activation struct {
	ActorID     string    `json:"actorId"`
	ActivatedAt time.Time `json:"activatedAt"`
	// DeactivatedAt is nil while the actor is still active.
	DeactivatedAt *time.Time `json:"deactivatedAt,omitempty"`
}

// ActivationReport is the body of GET /debug/activations.
type ActivationReport struct {
	// Activations holds the open activations and the most recent finished ones, ordered
	// by ActivatedAt.
	Activations []Activation `json:"activations"`
	// Dropped counts finished activations discarded because the log was full.
	Dropped int64 `json:"dropped"`
}

// activationLog records activations in this process so that cluster tests can check an
// actor id was never active in two processes at once. It is safe for concurrent use.
type activationLog struct {
	now func() time.Time

	// mu guards the fields below. It is never held across I/O.
	mu sync.Mutex
	// open maps each active actor id to the start of its activation.
	open map[string]time.Time
	// finished is a ring of the latest finished activations, grown on demand up to size;
	// once full, the oldest sits at next. dropped counts the entries overwritten.
	finished []Activation
	size     int
	next     int
	dropped  int64
}

func newActivationLog(size int, now func() time.Time) *activationLog {
	return &activationLog{
		now:  now,
		open: make(map[string]time.Time),
		size: size,
	}
}

// activate records a method call for id and reports whether it started an activation.
func (l *activationLog) activate(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	if _, active := l.open[id]; active {
		return false
	}
	l.open[id] = l.now()
	return true
}

// deactivate ends id's activation and reports whether it was active.
func (l *activationLog) deactivate(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	activatedAt, active := l.open[id]
	if !active {
		return false
	}
	delete(l.open, id)

	deactivatedAt := l.now()
	l.appendFinishedLocked(Activation{
		ActorID:       id,
		ActivatedAt:   activatedAt,
		DeactivatedAt: &deactivatedAt,
	})
	return true
}

func (l *activationLog) appendFinishedLocked(a Activation) {
	if len(l.finished) < l.size {
		l.finished = append(l.finished, a)
		return
	}

	l.dropped++
	if l.size == 0 {
		return
	}
	l.finished[l.next] = a
	l.next = (l.next + 1) % l.size
}

// report returns the activations of actorID, or of every actor when actorID is empty.
func (l *activationLog) report(actorID string) ActivationReport {
	l.mu.Lock()
	r := ActivationReport{Activations: make([]Activation, 0), Dropped: l.dropped}
	for _, a := range l.finished {
		if actorID == "" || a.ActorID == actorID {
			r.Activations = append(r.Activations, a)
		}
	}
	for id, at := range l.open {
		if actorID == "" || id == actorID {
			r.Activations = append(r.Activations, Activation{ActorID: id, ActivatedAt: at})
		}
	}
	l.mu.Unlock()

	slices.SortStableFunc(r.Activations, func(a, b Activation) int {
		return cmp.Or(a.ActivatedAt.Compare(b.ActivatedAt), cmp.Compare(a.ActorID, b.ActorID))
	})
	return r
}
