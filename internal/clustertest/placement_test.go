package clustertest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestPlacementRestartUnderLoad kills the placement service while clients call placed
// actors, restarts it on the same address, and checks that no call failed and that the
// cluster converges on a newer table.
func TestPlacementRestartUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	require.Zero(t, callAll(t, c.nodes, 100))
	versionBefore := tableVersion(t, c)

	ctx, stop := context.WithCancel(context.Background())
	var calls, failures atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				began := time.Now()
				id := "id" + strconv.Itoa((w*13+i)%100)
				status, _, err := c.nodes[i%3].invoke(context.Background(), id, "echo", "p")
				calls.Add(1)
				if err != nil || status != 200 {
					t.Logf("call %s: %d %v", id, status, err)
					failures.Add(1)
				}
				took := int64(time.Since(began))
				for old := slowest.Load(); took > old && !slowest.CompareAndSwap(old, took); old = slowest.Load() {
				}
			}
		})
	}

	awaitMoreCalls(t, &calls, 100) // load before the outage
	c.placement.kill()
	time.Sleep(time.Second) // the outage
	c.placement = startProc(t, "placement", c.placementArgs...)
	c.waitConverged()
	awaitMoreCalls(t, &calls, 200) // load after convergence
	stop()
	wg.Wait()

	t.Logf("%d calls across a 1 s placement outage, %d failed, slowest %s",
		calls.Load(), failures.Load(), time.Duration(slowest.Load()))
	require.Zero(t, failures.Load())
	require.Greater(t, tableVersion(t, c), versionBefore, "table versions keep growing")
	activeByNode(t, c.nodes)
}

func tableVersion(t *testing.T, c *cluster) uint64 {
	var st struct {
		TableVersion uint64 `json:"table_version"`
	}
	require.NoError(t, testutil.GetJSON(c.placementHTTP+"/placement/state", &st))
	return st.TableVersion
}
