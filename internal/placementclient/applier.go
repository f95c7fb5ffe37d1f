package placementclient

import (
	"context"
	"log/slog"
	"sync"
)

type jobKind int

const (
	jobPrepare jobKind = iota // Prepare for an acknowledgement
	jobCommit                 // Commit a table whose Prepare was acknowledged
	jobSync                   // adopt a committed table this sidecar never prepared
)

type job struct {
	kind   jobKind
	ctx    context.Context // ends when the job is superseded or its stream ends
	table  *Table
	result chan<- error // jobPrepare: capacity 1, receives Prepare's result
}

// applier calls the Handler, one call at a time and in the order the protocol asks,
// on its own goroutine, so that a long drain never stalls heartbeats.
type applier struct {
	h     Handler
	lease *lease
	log   *slog.Logger

	mu     sync.Mutex // guards queue and closed
	queue  []job
	closed bool
	wake   chan struct{} // capacity 1

	// applied is the table the handler last committed. Owned by the run goroutine.
	applied *Table
}

func newApplier(h Handler, l *lease, log *slog.Logger) *applier {
	return &applier{h: h, lease: l, log: log, wake: make(chan struct{}, 1), applied: NewTable(0, nil)}
}

func (a *applier) push(j job) {
	a.mu.Lock()
	a.queue = append(a.queue, j)
	a.mu.Unlock()
	a.signal()
}

// close makes run return once the queued jobs are done; jobs whose context has ended
// are skipped.
func (a *applier) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.signal()
}

func (a *applier) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *applier) run() {
	for {
		j, ok, closed := a.next()
		if ok {
			a.do(j)
			continue
		}
		if closed {
			return
		}
		<-a.wake
	}
}

func (a *applier) next() (j job, ok, closed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()

	if len(a.queue) == 0 {
		return job{}, false, a.closed
	}
	j = a.queue[0]
	a.queue = a.queue[1:]
	return j, true, a.closed
}

// do runs one job. A job whose stream has ended is skipped: a commit queued by an
// older stream could otherwise resume a table that placement has since replaced
// while this sidecar was away.
func (a *applier) do(j job) {
	if err := j.ctx.Err(); err != nil {
		if j.result != nil {
			j.result <- err
		}
		return
	}

	switch j.kind {
	case jobPrepare:
		j.result <- a.prepare(j.ctx, j.table)
	case jobCommit:
		a.commit(j.table)
	case jobSync:
		if !sameMembers(a.applied, j.table) {
			if err := a.prepare(j.ctx, j.table); err != nil && j.ctx.Err() == nil {
				a.log.Warn("drain before adopting the placement table", "table_version",
					j.table.Version(), "error", err)
			}
		}
		a.commit(j.table)
	default:
		panic("placementclient: unknown job kind")
	}
}

func (a *applier) prepare(ctx context.Context, next *Table) error {
	return a.h.Prepare(ctx, a.applied, next)
}

// commit hands t to the handler if the lease is valid. Otherwise the handler stays
// paused on its old table; the next session resynchronizes it.
func (a *applier) commit(t *Table) {
	committed := a.lease.whileValid(func() { a.h.Commit(t) })
	if !committed {
		a.log.Debug("table not applied: lease lost", "table_version", t.Version())
		return
	}
	a.applied = t
}
