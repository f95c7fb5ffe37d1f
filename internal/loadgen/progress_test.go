package loadgen

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressRedrawsOneLineOnATerminal(t *testing.T) {
	rec := newRecorder(time.Now(), time.Minute)
	rec.record(opSetRead, pair{}, 3*time.Millisecond, time.Now(), verdictOK, nil)
	rec.record(opIsRead, pair{}, 5*time.Millisecond, time.Now(),
		verdict{outcome: outcomeWrong, kind: "answer false"}, []byte(`{}`))

	var out bytes.Buffer
	p := &progress{w: &out, tty: true, interval: 5 * time.Millisecond, window: time.Minute,
		rec: rec, lastAt: rec.start}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		p.run(stop)
		close(done)
	}()

	require.Eventually(t, func() bool { return p.drawn.Load() >= 3 }, 5*time.Second,
		time.Millisecond)
	close(stop)
	<-done

	text := out.String()
	require.Equal(t, 1, strings.Count(text, "\n"), "one line, ended when the run ends")
	require.True(t, strings.HasSuffix(text, "\n"))
	draws := strings.Split(strings.TrimSuffix(text, "\n"), "\r\033[K")
	require.GreaterOrEqual(t, len(draws), 4, "drawn in place at least 3 times and at the end")
	require.Regexp(t, `^0s/1m0s  \d+ req/s  2 requests  0 errors  1 wrong  p99 5\.\d\dms$`,
		draws[len(draws)-1])
}

func TestFormatLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0.00ms",
		420 * time.Microsecond:   "0.42ms",
		12345 * time.Microsecond: "12.3ms",
		1500 * time.Millisecond:  "1.50s",
	} {
		require.Equal(t, want, formatLatency(d))
	}
}
