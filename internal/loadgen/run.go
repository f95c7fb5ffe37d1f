package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTarget reports a target that cannot be load-tested: it is not reachable, or it does not
// answer like the ArtifactState app. troupe-load exits with status 2.
var ErrTarget = errors.New("loadgen: target unusable")

// sequence is what every virtual user sends, in order and without pauses, as the original
// demo's Gatling simulation does.
var sequence = [...]op{
	opSetRead,
	opIsRead,
	opAddToFeed,
	opIsInFeed,
	opRemoveFromFeed,
	opGetAllStates,
}

// Run sends the load that cfg describes, redraws a progress line on progress, prints the
// summary to out, writes the reports and returns the figures. Whether the thresholds were
// met is Result.Passed.
//
// It returns an error wrapping ErrUsage for an invalid cfg and ErrTarget for a target that
// is down or answers garbage, both before any load is sent; and an error for reports it
// could not write, with the result.
func Run(ctx context.Context, cfg Config, out, progress io.Writer) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	if err := checkReportDir(cfg.ReportPrefix); err != nil {
		return nil, err
	}

	c := newClient(cfg.Target, cfg.Timeout)
	defer c.close()

	if err := probe(ctx, c, cfg.Target); err != nil {
		return nil, err
	}

	fmt.Fprintf(out, "troupe-load %s: %s against %s\n", cfg.Scenario, cfg.describeModel(),
		cfg.Target)
	res := newRunner(cfg, c).run(ctx, progress)
	res.print(out)

	if cfg.ReportPrefix == "" {
		return res, nil
	}
	if err := writeReports(cfg.ReportPrefix, res); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "reports: %s.html %s.json\n", cfg.ReportPrefix, cfg.ReportPrefix)
	return res, nil
}

// probe sends one getAllStates, which changes nothing, to check that the target is up and
// answers like the ArtifactState app before any load is sent.
func probe(ctx context.Context, c *client, target string) error {
	p := pair{}
	x := &exchange{body: appendBody(nil, p)}
	err := c.call(ctx, opGetAllStates, x)
	v := judge(opGetAllStates, p, &x.answer, err, &expectation{})

	var ce *callError
	switch {
	case errors.As(err, &ce) && ce.kind == kindNotJSON:
		return fmt.Errorf("%w: %s does not answer like the ArtifactState app: %v",
			ErrTarget, target, err)
	case err != nil:
		return fmt.Errorf("%w: %s: %v", ErrTarget, target, err)
	case v.outcome != outcomeOK:
		return fmt.Errorf("%w: %s does not answer like the ArtifactState app: %s: %s",
			ErrTarget, target, v.kind, snippet(x.raw.Bytes()))
	}
	return nil
}

// runner sends one run's load.
type runner struct {
	cfg    Config
	client *client
	pairs  *pairSpace
	rec    *recorder

	// stopLoad stops new users from starting.
	stopLoad context.CancelFunc

	sent    atomic.Int64 // requests sent, while MaxRequests is set
	dropped atomic.Int64 // users that found no free pair
}

// newRunner returns a runner of cfg, a validated configuration with defaults.
func newRunner(cfg Config, c *client) *runner {
	keys := cfg.Artifacts * len(surnames())
	if cfg.Scenario == ScenarioStress {
		keys = cfg.HotKeys
	}
	return &runner{
		cfg:    cfg,
		client: c,
		pairs:  newPairSpace(keys, cfg.Artifacts, len(surnames()), cfg.Seed),
	}
}

// run sends the load and returns its figures once every user has finished.
func (r *runner) run(ctx context.Context, progressOut io.Writer) *Result {
	start := time.Now()
	window := r.cfg.window()
	r.rec = newRecorder(start, window+r.cfg.Drain+r.cfg.Timeout)

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	r.stopLoad = stopLoad

	// Requests still running after the drain are cancelled and not counted.
	userCtx, cancelUsers := context.WithDeadline(ctx, start.Add(window+r.cfg.Drain))
	defer cancelUsers()

	prog := newProgress(progressOut, r.rec, r.cfg.ProgressInterval, window)
	var background sync.WaitGroup
	progressDone := make(chan struct{})
	background.Go(func() { prog.run(progressDone) })

	var users sync.WaitGroup
	if r.cfg.model() == modelClosed {
		r.closedLoop(loadCtx, userCtx, start, &users)
	} else {
		r.openLoop(loadCtx, userCtx, start, &users)
	}
	users.Wait()
	elapsed := time.Since(start)

	close(progressDone)
	background.Wait()
	return r.result(start, elapsed)
}

// openLoop starts users at their arrival times, without waiting for earlier users to finish.
func (r *runner) openLoop(loadCtx, userCtx context.Context, start time.Time,
	users *sync.WaitGroup) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	for i := 0; ; i++ {
		at, more := r.arrival(i)
		if !more {
			return
		}

		if wait := time.Until(start.Add(at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-loadCtx.Done():
				return
			case <-timer.C:
			}
		} else if loadCtx.Err() != nil {
			return
		}

		users.Go(func() { r.runUser(userCtx) })
	}
}

// arrival returns when user i of an open model arrives, after the start; more is false when
// there is no user i.
func (r *runner) arrival(i int) (at time.Duration, more bool) {
	window := r.cfg.window()
	if r.cfg.model() == modelRate {
		at = time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate)
		return at, at < window
	}

	at = time.Duration(float64(i) * float64(r.cfg.Ramp) / float64(r.cfg.Users))
	return at, i < r.cfg.Users && at <= window
}

// closedLoop starts Concurrency users that start again as soon as they finish, until the
// window ends.
func (r *runner) closedLoop(loadCtx, userCtx context.Context, start time.Time,
	users *sync.WaitGroup) {
	end := start.Add(r.cfg.window())
	for range r.cfg.Concurrency {
		users.Go(func() {
			for loadCtx.Err() == nil && time.Now().Before(end) {
				r.runUser(userCtx)
			}
		})
	}
}

// exchangePool keeps the buffers of finished users for the next ones.
var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

// runUser is one virtual user: it takes a pair of its own and sends the sequence, stopping
// at the first error, since the answers after it could not be judged.
func (r *runner) runUser(ctx context.Context) {
	p, ok := r.pairs.acquire()
	if !ok {
		r.dropped.Add(1)
		return
	}
	defer r.pairs.release(p)

	x := exchangePool.Get().(*exchange)
	defer exchangePool.Put(x)
	x.body = appendBody(x.body[:0], p)

	var exp expectation
	for _, o := range sequence {
		if !r.takeRequest() || !r.send(ctx, o, p, x, &exp) {
			return
		}
	}
}

// takeRequest counts a request against MaxRequests and reports whether it may be sent.
func (r *runner) takeRequest() bool {
	if r.cfg.MaxRequests == 0 {
		return true
	}

	n := r.sent.Add(1)
	if n >= r.cfg.MaxRequests {
		r.stopLoad()
	}
	return n <= r.cfg.MaxRequests
}

// send sends request o for pair p, judges and records the answer, and reports whether the
// user may go on.
func (r *runner) send(ctx context.Context, o op, p pair, x *exchange, exp *expectation) bool {
	start := time.Now()
	err := r.client.call(ctx, o, x)
	end := time.Now()

	if err != nil && ctx.Err() != nil {
		return false // cut off by the end of the run, not by the target
	}

	v := judge(o, p, &x.answer, err, exp)
	r.rec.record(o, p, end.Sub(start), end, v, x.raw.Bytes())
	return v.outcome != outcomeError
}
