package clustertest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// callAll calls the echo method of ids 0..n-1 through random nodes, 16 at a time, and
// returns the number of failed calls.
func callAll(t testing.TB, nodes []*node, n int) int {
	var failed atomic.Int64
	ids := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range ids {
				target := nodes[rand.IntN(len(nodes))]
				status, body, err := target.invoke(context.Background(), "id"+strconv.Itoa(id), "echo", "x")
				if err != nil || status != 200 || body != "x" {
					t.Logf("call id%d via %s: %d %q %v", id, target.name, status, body, err)
					failed.Add(1)
				}
			}
		})
	}
	for id := range n {
		ids <- id
	}
	close(ids)
	wg.Wait()
	return int(failed.Load())
}

// awaitMoreCalls waits until the load loop has made n more calls.
func awaitMoreCalls(t testing.TB, calls *atomic.Int64, n int64) {
	t.Helper()
	target := calls.Load() + n
	waitFor(t, "calls", func() bool { return calls.Load() >= target })
}

// activeByNode returns, per node, the actors its app has active, and fails the test if
// any actor is active on two nodes.
func activeByNode(t *testing.T, nodes []*node) map[string][]string {
	owners := map[string]string{}
	byNode := map[string][]string{}
	for _, n := range nodes {
		for _, actor := range n.status(t).Active {
			if other, dup := owners[actor]; dup {
				t.Fatalf("%s is active on %s and %s", actor, other, n.name)
			}
			owners[actor] = n.name
			byNode[n.name] = append(byNode[n.name], actor)
		}
	}
	return byNode
}

func TestEachActorLivesOnOneSidecar(t *testing.T) {
	c := startCluster(t, 3)
	const ids = 1000

	require.Zero(t, callAll(t, c.nodes, ids))
	byNode := activeByNode(t, c.nodes)
	total := 0
	for _, n := range c.nodes {
		count := len(byNode[n.name])
		total += count
		t.Logf("%s hosts %d actors", n.name, count)
		require.Less(t, count, ids/3*5/4, "%s hosts far more than its share", n.name)
	}
	require.Equal(t, ids, total, "every actor is active somewhere")

	// A fourth sidecar joins and takes its share; nothing is active twice.
	joined := c.addNode()
	c.waitConverged()
	require.Zero(t, callAll(t, c.nodes, ids))
	byNode = activeByNode(t, c.nodes)
	t.Logf("after the join %s hosts %d actors", joined.name, len(byNode[joined.name]))
	require.Greater(t, len(byNode[joined.name]), ids/4*3/5, "the new sidecar took too few")
}

func TestSIGTERMHandsOverWithoutFailedCalls(t *testing.T) {
	c := startCluster(t, 3)
	leaving := c.nodes[2]
	callers := c.nodes[:2]
	require.Zero(t, callAll(t, c.nodes, 200))
	require.NotEmpty(t, leaving.status(t).Active)

	ctx, stop := context.WithCancel(context.Background())
	var calls, failures atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := "id" + strconv.Itoa((w*37+i)%200)
				status, body, err := callers[i%2].invoke(context.Background(), id, "echo", "y")
				calls.Add(1)
				if err != nil || status != 200 || body != "y" {
					t.Logf("call %s: %d %q %v", id, status, body, err)
					failures.Add(1)
				}
			}
		})
	}

	awaitMoreCalls(t, &calls, 100) // load before the stop
	began := time.Now()
	leaving.proc().terminate(t)
	t.Logf("the sidecar exited %s after SIGTERM", time.Since(began))
	c.waitConverged()
	awaitMoreCalls(t, &calls, 200) // and under the new table
	stop()
	wg.Wait()

	t.Logf("%d calls during the hand-over, %d failed", calls.Load(), failures.Load())
	require.Zero(t, failures.Load())
	require.Empty(t, leaving.status(t).Active, "the leaving sidecar deactivated its actors")
	activeByNode(t, c.nodes)
}

func TestKilledSidecarsActorsMoveQuickly(t *testing.T) {
	c := startCluster(t, 3)
	require.Zero(t, callAll(t, c.nodes, 100))
	victim := c.nodes[2]
	owned := victim.status(t).Active
	require.NotEmpty(t, owned)
	id := strings.TrimPrefix(owned[0], "Counter/")

	victim.proc().kill()
	victim.app.kill()
	killed := time.Now()
	for {
		status, _, err := c.nodes[0].invoke(context.Background(), id, "echo", "z")
		if err == nil && status == 200 {
			break
		}
		require.Less(t, time.Since(killed), 10*time.Second, "the actor never moved")
	}
	failover := time.Since(killed)
	t.Logf("actor %s callable again %s after its sidecar was killed", id, failover)
	require.Less(t, failover, 5*time.Second)
}
