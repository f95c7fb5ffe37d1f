package loadgen

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// maxProblemKinds bounds how many kinds of errors and wrong answers are told apart; further
// kinds count as "other".
const maxProblemKinds = 64

// recorder collects the figures of a run from many goroutines at once. Recording takes no
// lock except for the first request of each kind of failure.
type recorder struct {
	start time.Time
	ops   [numOps]opStats

	// seconds[i] holds the requests that completed in second i of the run, created on first
	// use; requests after the last second count in it.
	seconds []atomic.Pointer[secondStats]

	// mu guards problems.
	mu       sync.Mutex
	problems map[problemKey]*problemCount
}

// opStats are the totals of one request name.
type opStats struct {
	hist   Histogram
	errors atomic.Uint64
	wrong  atomic.Uint64
}

// secondStats are the figures of one second of the run.
type secondStats struct {
	hist   Histogram // all request names together
	count  [numOps]atomic.Uint64
	errors [numOps]atomic.Uint64
	wrong  [numOps]atomic.Uint64
}

// problemKey groups errors and wrong answers.
type problemKey struct {
	op      op
	outcome outcome
	kind    string
}

// problemCount counts one group of problems and keeps the first one as a sample.
type problemCount struct {
	count  uint64
	sample string
}

// newRecorder returns a recorder for a run that starts at start and lasts at most span.
func newRecorder(start time.Time, span time.Duration) *recorder {
	n := int(span/time.Second) + 2
	return &recorder{
		start:    start,
		seconds:  make([]atomic.Pointer[secondStats], n),
		problems: make(map[problemKey]*problemCount),
	}
}

// record counts request o for pair p that completed at end after latency, judged v; answer
// is the body it got, for the sample of a wrong answer.
func (r *recorder) record(o op, p pair, latency time.Duration, end time.Time, v verdict,
	answer []byte) {
	st := &r.ops[o]
	sec := r.second(end)

	st.hist.Record(latency)
	sec.hist.Record(latency)
	sec.count[o].Add(1)

	switch v.outcome {
	case outcomeError:
		st.errors.Add(1)
		sec.errors[o].Add(1)
		r.noteProblem(o, p, v, answer)
	case outcomeWrong:
		st.wrong.Add(1)
		sec.wrong[o].Add(1)
		r.noteProblem(o, p, v, answer)
	}
}

// second returns the stats of the second that t falls in.
func (r *recorder) second(t time.Time) *secondStats {
	i := int(t.Sub(r.start) / time.Second)
	i = max(0, min(i, len(r.seconds)-1))

	if s := r.seconds[i].Load(); s != nil {
		return s
	}
	r.seconds[i].CompareAndSwap(nil, new(secondStats))
	return r.seconds[i].Load()
}

// noteProblem counts a failure by kind, keeping the first of each kind as a sample.
func (r *recorder) noteProblem(o op, p pair, v verdict, answer []byte) {
	key := problemKey{op: o, outcome: v.outcome, kind: v.kind}

	r.mu.Lock()
	defer r.mu.Unlock()

	pc := r.problems[key]
	if pc == nil && len(r.problems) >= maxProblemKinds {
		key.kind = "other"
		pc = r.problems[key]
	}
	if pc == nil {
		pc = &problemCount{sample: describeProblem(p, v, answer)}
		r.problems[key] = pc
	}
	pc.count++
}

// describeProblem says what went wrong with one request.
func describeProblem(p pair, v verdict, answer []byte) string {
	what := "answered " + snippet(answer)
	if v.err != nil {
		what = v.err.Error()
	}
	return fmt.Sprintf("artifact %d, user %s: %s", p.artifact, surnames()[p.user], what)
}

// totals returns the distribution of all requests so far and the numbers of errors and wrong
// answers; d is reset and reused.
func (r *recorder) totals(d *Distribution) (errors, wrong uint64) {
	d.reset()
	for o := range r.ops {
		r.ops[o].hist.Snapshot(d)
		errors += r.ops[o].errors.Load()
		wrong += r.ops[o].wrong.Load()
	}
	return errors, wrong
}

// Problem is a kind of failure and how often it happened.
type Problem struct {
	Request string `json:"request"`
	Kind    string `json:"kind"`
	Count   uint64 `json:"count"`
	Sample  string `json:"sample"`
}

// problemLists returns the errors and the wrong answers, most frequent first.
func (r *recorder) problemLists() (errs, wrong []Problem) {
	r.mu.Lock()
	defer r.mu.Unlock()

	for key, pc := range r.problems {
		p := Problem{Request: key.op.String(), Kind: key.kind, Count: pc.count, Sample: pc.sample}
		if key.outcome == outcomeWrong {
			wrong = append(wrong, p)
		} else {
			errs = append(errs, p)
		}
	}
	sortProblems(errs)
	sortProblems(wrong)
	return errs, wrong
}

// sortProblems orders problems by count, then by request and kind.
func sortProblems(ps []Problem) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Count != ps[j].Count {
			return ps[i].Count > ps[j].Count
		}
		if ps[i].Request != ps[j].Request {
			return ps[i].Request < ps[j].Request
		}
		return ps[i].Kind < ps[j].Kind
	})
}
