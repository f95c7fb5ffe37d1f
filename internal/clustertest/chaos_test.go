package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testapp"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// chaosDuration is how long TestChaos runs its load. The suite uses a short run; set
// TROUPE_CHAOS_DURATION=60s for the full-length run:
//
//	TROUPE_CHAOS_DURATION=60s go test -race -run TestChaos -v ./internal/clustertest
func chaosDuration(t *testing.T) time.Duration {
	if s := os.Getenv("TROUPE_CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	return 8 * time.Second
}

// ack is an acknowledged increment: the value the counter answered for operation op.
type ack struct {
	id    string
	op    string
	value int
}

// TestChaos increments hot counters through random live sidecars while sidecars are
// killed, restarted and paused, then checks that no increment was lost or counted twice
// and that no two turns of one actor ever overlapped.
func TestChaos(t *testing.T) {
	c := startCluster(t, 3)
	duration := chaosDuration(t)
	const clients, hotIDs = 16, 20

	ctx, stopLoad := context.WithCancel(context.Background())
	var acks sync.Map // op -> ack
	var pending atomic.Int64
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := "hot" + strconv.Itoa(rand.IntN(hotIDs))
				op := fmt.Sprintf("w%d-%d", w, i)
				pending.Add(1)
				if a, ok := incrementUntilAcked(ctx, c, id, op); ok {
					acks.Store(op, a)
					pending.Add(-1)
				} else {
					// Not acknowledged before the load stopped: finish it below.
					acks.Store(op, ack{id: id, op: op, value: -1})
				}
			}
		})
	}

	events := runChaos(t, c, duration)
	stopLoad()
	wg.Wait()
	t.Logf("chaos: %s", events)

	// Finish the operations whose answer was lost, now that the cluster is calm.
	began := time.Now()
	c.waitConverged()
	t.Logf("chaos: cluster converged %s after the load stopped", time.Since(began))
	var all []ack
	acks.Range(func(_, v any) bool {
		a := v.(ack)
		if a.value < 0 {
			var ok bool
			a, ok = incrementUntilAcked(context.Background(), c, a.id, a.op)
			require.True(t, ok, "operation %s never acknowledged", a.op)
			pending.Add(-1)
		}
		all = append(all, a)
		return true
	})

	checkCounters(t, c, all, hotIDs)
	checkTurnsNeverOverlap(t, c)
}

// incrementUntilAcked sends the operation, retrying through random live sidecars until a
// sidecar acknowledges it or ctx ends.
func incrementUntilAcked(ctx context.Context, c *cluster, id, op string) (ack, bool) {
	for ctx.Err() == nil {
		live := c.live()
		if len(live) == 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		n := live[rand.IntN(len(live))]
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		status, body, err := n.invoke(callCtx, id, "incop", op)
		cancel()
		if err == nil && status == 200 {
			v, err := strconv.Atoi(body)
			if err == nil {
				return ack{id: id, op: op, value: v}, true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ack{}, false
}

// runChaos kills and restarts random sidecars and pauses one past its lease, for
// duration, keeping at least two sidecars alive; it returns what it did.
func runChaos(t *testing.T, c *cluster, duration time.Duration) string {
	start := time.Now()
	at := func(frac float64) { time.Sleep(time.Until(start.Add(time.Duration(frac * float64(duration))))) }
	var log []string

	kills := max(2, int(duration/(10*time.Second)))
	for k := range kills {
		at(float64(k+1) / float64(kills+2))
		victim := c.nodes[rand.IntN(len(c.nodes))]
		victim.proc().kill()
		log = append(log, "kill -9 "+victim.name)
		time.Sleep(time.Second)
		victim.restartSidecar(t)
	}

	at(float64(kills+1) / float64(kills+2))
	paused := c.nodes[rand.IntN(len(c.nodes))]
	paused.proc().cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(2 * time.Second) // longer than the 800 ms lease and the 1.2 s member timeout
	paused.proc().cmd.Process.Signal(syscall.SIGCONT)
	log = append(log, "SIGSTOP 2s "+paused.name)

	at(1)
	return fmt.Sprint(log)
}

// checkCounters verifies each counter equals its acknowledged increments and that no
// value was acknowledged twice.
func checkCounters(t *testing.T, c *cluster, all []ack, hotIDs int) {
	values := map[string][]int{}
	for _, a := range all {
		values[a.id] = append(values[a.id], a.value)
	}
	total := 0
	for i := range hotIDs {
		id := "hot" + strconv.Itoa(i)
		status, body, err := c.live()[0].invoke(context.Background(), id, "count", "")
		require.NoError(t, err)
		require.Equal(t, 200, status, body)
		counter, _ := strconv.Atoi(body)

		got := values[id]
		slices.Sort(got)
		require.Equal(t, len(got), len(slices.Compact(slices.Clone(got))),
			"a value of %s was acknowledged twice", id)
		require.Equal(t, len(got), counter, "counter %s differs from its acknowledged increments", id)
		total += counter
	}
	t.Logf("chaos: %d increments acknowledged, every counter matches, no value repeated", total)
}

// checkTurnsNeverOverlap merges the state-writing turns that every app saw and checks
// that no two turns of one actor overlapped in time, on one app or across apps.
func checkTurnsNeverOverlap(t *testing.T, c *cluster) {
	byActor := map[string][]testapp.Turn{}
	for _, n := range c.nodes {
		var turns []testapp.Turn
		require.NoError(t, testutil.GetJSON(n.appURL+"/debug/turns", &turns))
		for _, turn := range turns {
			byActor[turn.Actor] = append(byActor[turn.Actor], turn)
		}
	}
	count := 0
	for actor, turns := range byActor {
		slices.SortFunc(turns, func(a, b testapp.Turn) int { return a.Start.Compare(b.Start) })
		for i := 1; i < len(turns); i++ {
			require.False(t, turns[i].Start.Before(turns[i-1].End),
				"%s: turn %d (value %d) started before turn %d (value %d) ended",
				actor, i, turns[i].Value, i-1, turns[i-1].Value)
		}
		count += len(turns)
	}
	t.Logf("chaos: %d turns over %d actors, none overlapping", count, len(byActor))
}
