package placementclient

import (
	"sync"
	"time"
)

// lease tracks until when this sidecar may admit actor turns: the send time of the
// last heartbeat placement acknowledged, plus the lease duration. Placement reassigns
// a member's actors only after hearing nothing from it for longer than that.
//
// A timer reports the loss to the handler as soon as it happens, wherever the client
// is (connected, reconnecting or backing off), and handler commits happen only while
// the lease is valid; mu serializes the two so a commit never resumes a sidecar that
// has just been told its lease is gone.
type lease struct {
	onLost func()
	lost   chan struct{} // signalled (capacity 1) on each loss

	mu       sync.Mutex // guards the fields below and calls to onLost and commit's apply
	until    time.Time
	reported bool // onLost was called since the lease was last valid
	timer    *time.Timer
	stopped  bool
}

// newLease returns a lease that has never been granted; its absence is not reported
// (the sidecar has nothing to stop before its first table).
func newLease(onLost func()) *lease {
	l := &lease{onLost: onLost, lost: make(chan struct{}, 1), reported: true}
	l.timer = time.AfterFunc(time.Hour, l.check)
	l.timer.Stop()
	return l
}

// extend moves the end of the lease to until, if that is later.
func (l *lease) extend(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()

	if until.After(l.until) {
		l.until = until
	}
	if time.Now().Before(l.until) {
		l.reported = false
		if !l.stopped {
			l.timer.Reset(time.Until(l.until))
		}
	}
}

// valid reports whether the lease has not ended.
func (l *lease) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Before(l.until)
}

// whileValid runs apply if the lease is valid, holding off the loss report meanwhile.
func (l *lease) whileValid(apply func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	if !time.Now().Before(l.until) {
		return false
	}
	apply()
	return true
}

func (l *lease) check() {
	l.mu.Lock()
	defer l.mu.Unlock()

	if l.stopped || l.reported {
		return
	}
	if left := time.Until(l.until); left > 0 {
		l.timer.Reset(left)
		return
	}
	l.reported = true
	l.onLost()
	select {
	case l.lost <- struct{}{}:
	default:
	}
}

// stop ends loss reporting; after it returns onLost is not called again.
func (l *lease) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	l.timer.Stop()
}
