package clustertest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testapp"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// registerReminder registers a reminder of a Counter through a node's sidecar.
func (n *node) registerReminder(id, name, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPut,
		n.url+"/v1.0/actors/Counter/"+id+"/reminders/"+name, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// fires returns the reminder fires a node's app received, by actor.
func (n *node) fires(t *testing.T) map[string][]time.Time {
	var calls []testapp.Callback
	require.NoError(t, testutil.GetJSON(n.appURL+"/debug/callbacks", &calls))
	out := map[string][]time.Time{}
	for _, c := range calls {
		if c.Kind == "remind" && c.Status == http.StatusOK {
			out[c.Actor] = append(out[c.Actor], c.At)
		}
	}
	return out
}

// firesOn merges the fires of nodes and records, per actor, the nodes that fired it.
func firesOn(t *testing.T, nodes []*node, into map[string][]time.Time,
	where map[string][]string) {
	for _, n := range nodes {
		for actor, times := range n.fires(t) {
			into[actor] = append(into[actor], times...)
			where[actor] = append(where[actor], n.name)
		}
	}
}

func TestRemindersFailOverToSurvivingSidecars(t *testing.T) {
	c := startCluster(t, 3)
	const reminders = 200
	const period = time.Second

	registerTicks(t, c, reminders)

	victim := c.nodes[2]
	waitFor(t, "every reminder fired", func() bool {
		all, where := map[string][]time.Time{}, map[string][]string{}
		firesOn(t, c.nodes, all, where)
		return allFiredSince(all, reminders, time.Time{})
	})
	owned := victim.fires(t)
	require.NotEmpty(t, owned)

	victim.proc().kill()
	killed := time.Now()
	beforeKill := victim.fires(t) // the app outlives its sidecar; it gets no more calls
	victim.app.kill()
	survivors := c.nodes[:2]

	waitFor(t, "every reminder fired again after the kill", func() bool {
		all, where := map[string][]time.Time{}, map[string][]string{}
		firesOn(t, survivors, all, where)
		return allFiredSince(all, reminders, killed)
	})
	resumed := time.Since(killed)

	all, where := map[string][]time.Time{}, map[string][]string{}
	firesOn(t, survivors, all, where)
	var slowest time.Duration
	for actor, times := range beforeKill {
		all[actor] = append(all[actor], times...)
		where[actor] = append(where[actor], victim.name)
		var after []time.Time
		for _, at := range all[actor] {
			if at.After(killed) {
				after = append(after, at)
			}
		}
		slowest = max(slowest, slices.MinFunc(after, time.Time.Compare).Sub(killed))
	}
	t.Logf("%d reminders of the killed sidecar; the slowest fired again %v after the kill "+
		"(all %d resumed within %v)", len(owned), slowest, reminders, resumed)

	requireOneFirePerPeriod(t, all, where, period)
}

// registerTicks registers reminder "tick" (period 1 s) of Counters r0..r(n-1), through
// every node in turn: each reminder's owner finds it in the due index.
func registerTicks(t *testing.T, c *cluster, n int) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			node := c.nodes[i%len(c.nodes)]
			status, err := node.registerReminder("r"+strconv.Itoa(i), "tick", `{"period":"1s"}`)
			if err != nil || status != http.StatusNoContent {
				t.Errorf("registering r%d via %s: %d %v", i, node.name, status, err)
			}
		})
	}
	wg.Wait()
}

// requireOneFirePerPeriod fails when two fires of a reminder are closer than half a
// period: it fired twice in one period, on one sidecar or on two.
func requireOneFirePerPeriod(t *testing.T, all map[string][]time.Time,
	where map[string][]string, period time.Duration) {
	for actor, times := range all {
		slices.SortFunc(times, time.Time.Compare)
		for i := 1; i < len(times); i++ {
			require.Greater(t, times[i].Sub(times[i-1]), period/2,
				"%s fired twice in one period (fired on %v)", actor, where[actor])
		}
	}
}

// allFiredSince reports whether each of the n reminders fired after since.
func allFiredSince(all map[string][]time.Time, n int, since time.Time) bool {
	for i := range n {
		times := all["Counter/r"+strconv.Itoa(i)]
		if len(times) == 0 || slices.MaxFunc(times, time.Time.Compare).Before(since) {
			return false
		}
	}
	return true
}

func TestRemindersMoveOnJoinAndSIGTERM(t *testing.T) {
	c := startCluster(t, 3)
	const reminders = 200
	registerTicks(t, c, reminders)
	fired := func(nodes []*node) (map[string][]time.Time, map[string][]string) {
		all, where := map[string][]time.Time{}, map[string][]string{}
		firesOn(t, nodes, all, where)
		return all, where
	}
	waitFor(t, "every reminder fired", func() bool {
		all, _ := fired(c.nodes)
		return allFiredSince(all, reminders, time.Time{})
	})

	joined := c.addNode()
	c.waitConverged()
	changed := time.Now()
	waitFor(t, "every reminder fired after the join", func() bool {
		all, _ := fired(c.nodes)
		return allFiredSince(all, reminders, changed)
	})
	require.NotEmpty(t, joined.fires(t), "the new sidecar took over some reminders")

	leaving := c.nodes[0]
	leaving.proc().terminate(t)
	c.waitConverged()
	changed = time.Now()
	waitFor(t, "every reminder fired after the SIGTERM", func() bool {
		all, _ := fired(c.nodes[1:])
		return allFiredSince(all, reminders, changed)
	})

	all, where := fired(c.nodes)
	requireOneFirePerPeriod(t, all, where, time.Second)
}
