package loadgen

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Result holds the figures of a run.
type Result struct {
	Scenario Scenario
	Target   string
	Model    string // the load model in words
	Start    time.Time
	Elapsed  time.Duration // from the start until the last user finished

	// Requests has the figures of each request name, in the order users send them; Total
	// those of all requests together.
	Requests []RequestStats
	Total    RequestStats

	// Seconds has the figures of each second of the run, by completion time.
	Seconds []SecondStats

	// Errors and Wrong list the kinds of errors and of wrong answers, most frequent first.
	Errors []Problem
	Wrong  []Problem

	// DroppedUsers is how many users of an open model found every pair taken and did not run.
	DroppedUsers int64

	// Thresholds are the limits the run was held to, and Violations the ones it broke.
	Thresholds Thresholds
	Violations []string
}

// Passed reports whether the run met its thresholds.
func (r *Result) Passed() bool { return len(r.Violations) == 0 }

// RequestStats are the figures of one request name, or of all.
type RequestStats struct {
	Name    string
	Count   uint64 // requests that completed, whatever their outcome
	Errors  uint64
	Wrong   uint64
	Mean    time.Duration
	P50     time.Duration
	P75     time.Duration
	P95     time.Duration
	P99     time.Duration
	Max     time.Duration
	RPS     float64
	Latency Distribution
}

// SecondStats are the figures of the requests that completed in one second of the run.
type SecondStats struct {
	Second    int
	Count     uint64
	Errors    uint64
	Wrong     uint64
	P50       time.Duration
	P75       time.Duration
	P95       time.Duration
	P99       time.Duration
	Max       time.Duration
	ByRequest [numOps]uint64
}

// FailureRate returns the fraction of requests that failed or answered wrong.
func (s *RequestStats) FailureRate() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Errors+s.Wrong) / float64(s.Count)
}

// result gathers the figures of the finished run.
func (r *runner) result(start time.Time, elapsed time.Duration) *Result {
	res := &Result{
		Scenario:     r.cfg.Scenario,
		Target:       r.cfg.Target,
		Model:        r.cfg.describeModel(),
		Start:        start,
		Elapsed:      elapsed,
		Total:        RequestStats{Name: "all"},
		DroppedUsers: r.dropped.Load(),
		Thresholds:   r.cfg.Thresholds,
	}

	for o := range numOps {
		st := &r.rec.ops[o]
		rs := RequestStats{Name: o.String(), Errors: st.errors.Load(), Wrong: st.wrong.Load()}
		st.hist.Snapshot(&rs.Latency)
		st.hist.Snapshot(&res.Total.Latency)
		res.Total.Errors += rs.Errors
		res.Total.Wrong += rs.Wrong
		rs.fill(elapsed)
		res.Requests = append(res.Requests, rs)
	}
	res.Total.fill(elapsed)

	res.Seconds = r.rec.secondList()
	res.Errors, res.Wrong = r.rec.problemLists()
	res.Violations = r.cfg.Thresholds.check(&res.Total)
	return res
}

// fill computes the figures of s from its latency distribution.
func (s *RequestStats) fill(elapsed time.Duration) {
	d := &s.Latency
	s.Count = d.Total
	s.Mean = d.Mean()
	s.P50 = d.Percentile(0.50)
	s.P75 = d.Percentile(0.75)
	s.P95 = d.Percentile(0.95)
	s.P99 = d.Percentile(0.99)
	s.Max = d.Max()
	if elapsed > 0 {
		s.RPS = float64(s.Count) / elapsed.Seconds()
	}
}

// secondList returns the figures of every second up to the last one with a request.
func (r *recorder) secondList() []SecondStats {
	last := -1
	for i := range r.seconds {
		if r.seconds[i].Load() != nil {
			last = i
		}
	}

	out := make([]SecondStats, last+1)
	var d Distribution
	for i := range out {
		out[i].Second = i
		if s := r.seconds[i].Load(); s != nil {
			d.reset()
			s.hist.Snapshot(&d)
			out[i].fill(s, &d)
		}
	}
	return out
}

// fill computes the figures of one second from its stats and latency distribution.
func (ss *SecondStats) fill(s *secondStats, d *Distribution) {
	for o := range numOps {
		ss.ByRequest[o] = s.count[o].Load()
		ss.Errors += s.errors[o].Load()
		ss.Wrong += s.wrong[o].Load()
	}
	ss.Count = d.Total
	ss.P50 = d.Percentile(0.50)
	ss.P75 = d.Percentile(0.75)
	ss.P95 = d.Percentile(0.95)
	ss.P99 = d.Percentile(0.99)
	ss.Max = d.Max()
}

// check returns how total breaks the thresholds, in words; none when it meets them.
func (t *Thresholds) check(total *RequestStats) []string {
	var out []string
	if rate := total.FailureRate(); t.MaxErrorRate != NoLimit && rate > t.MaxErrorRate {
		out = append(out, fmt.Sprintf("error rate %.4f > %g (%d errors, %d wrong of %d)",
			rate, t.MaxErrorRate, total.Errors, total.Wrong, total.Count))
	}
	if t.MaxP95 > 0 && total.P95 > t.MaxP95 {
		out = append(out, fmt.Sprintf("p95 %s > %v", formatLatency(total.P95), t.MaxP95))
	}
	if t.MaxP99 > 0 && total.P99 > t.MaxP99 {
		out = append(out, fmt.Sprintf("p99 %s > %v", formatLatency(total.P99), t.MaxP99))
	}
	if t.MinRPS > 0 && total.RPS < t.MinRPS {
		out = append(out, fmt.Sprintf("%.1f req/s < %g", total.RPS, t.MinRPS))
	}
	if total.Count == 0 && t.set() {
		out = append(out, "no request completed")
	}
	return out
}

// print writes the summary table, the problems and the verdict on the thresholds.
func (r *Result) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d requests in %v (%s)\n\n", r.Total.Count,
		r.Elapsed.Round(time.Millisecond), r.Model)
	r.printTable(w)
	printProblems(w, "errors", r.Errors)
	printProblems(w, "wrong answers", r.Wrong)

	if r.DroppedUsers > 0 {
		fmt.Fprintf(w, "\n%d users did not start: every (artifact, user) pair was taken\n",
			r.DroppedUsers)
	}

	switch {
	case !r.Thresholds.set():
	case r.Passed():
		fmt.Fprintln(w, "\nthresholds: met")
	default:
		fmt.Fprintln(w, "\nthresholds: NOT met")
		for _, v := range r.Violations {
			fmt.Fprintf(w, "  %s\n", v)
		}
	}
}

// nameWidth is the width of the longest request name, so that names line up on the left
// in a table whose other columns line up on the right.
const nameWidth = len("setArtifactRemovedFromUserFeed")

// printTable writes one line per request name and one for all, like Gatling's summary.
func (r *Result) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tcount\terrors\twrong\tmean\tp50\tp75\tp95\tp99\tmax\treq/s\t\n",
		nameWidth, "request")
	for i := range r.Requests {
		r.Requests[i].printRow(tw)
	}
	r.Total.printRow(tw)
	tw.Flush()
}

// printRow writes the table row of s.
func (s *RequestStats) printRow(w io.Writer) {
	fmt.Fprintf(w, "%-*s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t\n",
		nameWidth, s.Name, s.Count, s.Errors, s.Wrong,
		formatLatency(s.Mean), formatLatency(s.P50), formatLatency(s.P75),
		formatLatency(s.P95), formatLatency(s.P99), formatLatency(s.Max), s.RPS)
}

// printProblems lists problems under a title, if there are any.
func printProblems(w io.Writer, title string, ps []Problem) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, p := range ps {
		fmt.Fprintf(w, "  %7d  %s: %s\n           e.g. %s\n", p.Count, p.Request, p.Kind, p.Sample)
	}
}

// set reports whether any threshold is on.
func (t *Thresholds) set() bool {
	return t.MaxErrorRate != NoLimit || t.MaxP95 > 0 || t.MaxP99 > 0 || t.MinRPS > 0
}
