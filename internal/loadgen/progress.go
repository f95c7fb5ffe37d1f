package loadgen

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// ttyRedrawInterval is how often the progress line is redrawn on a terminal.
const ttyRedrawInterval = time.Second

// progress prints how a run is going: on a terminal one line redrawn in place, elsewhere a
// plain line every interval, so that logs are not flooded.
type progress struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	window   time.Duration
	rec      *recorder

	// drawn counts the lines printed, for tests.
	drawn atomic.Int64

	// Owned by the goroutine of run.
	dist      Distribution
	lastCount uint64
	lastAt    time.Time
}

// newProgress returns a progress printer for a run of rec whose users start during window.
func newProgress(w io.Writer, rec *recorder, interval, window time.Duration) *progress {
	p := &progress{w: w, tty: isTerminal(w), interval: interval, window: window, rec: rec}
	if p.tty {
		p.interval = ttyRedrawInterval
	}
	p.lastAt = rec.start
	return p
}

// run prints until stop is closed, then finishes the terminal line.
func (p *progress) run(stop <-chan struct{}) {
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()

	for {
		select {
		case <-stop:
			if p.tty {
				fmt.Fprintf(p.w, "\r\033[K%s\n", p.line(time.Now()))
			}
			return
		case now := <-ticker.C:
			if p.tty {
				fmt.Fprintf(p.w, "\r\033[K%s", p.line(now))
			} else {
				fmt.Fprintln(p.w, p.line(now))
			}
			p.drawn.Add(1)
		}
	}
}

// line describes the run at now: elapsed and planned time, the request rate since the last
// line, and the totals so far.
func (p *progress) line(now time.Time) string {
	errs, wrong := p.rec.totals(&p.dist)
	count := p.dist.Total

	rate := 0.0
	if dt := now.Sub(p.lastAt).Seconds(); dt > 0 {
		rate = float64(count-p.lastCount) / dt
	}
	p.lastCount, p.lastAt = count, now

	elapsed := now.Sub(p.rec.start).Truncate(time.Second)
	return fmt.Sprintf("%v/%v  %.0f req/s  %d requests  %d errors  %d wrong  p99 %s",
		elapsed, p.window, rate, count, errs, wrong, formatLatency(p.dist.Percentile(0.99)))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// formatLatency prints a latency with about three significant digits, in ms or s.
func formatLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}
