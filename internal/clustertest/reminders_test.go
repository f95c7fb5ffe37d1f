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
	require.NoError(t, getJSON(n.appURL+"/debug/callbacks", &calls))
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

	// Register through every node: each reminder's owner finds it in the due index.
	var wg sync.WaitGroup
	for i := range reminders {
		wg.Go(func() {
			n := c.nodes[i%len(c.nodes)]
			status, err := n.registerReminder("r"+strconv.Itoa(i), "tick", `{"period":"1s"}`)
			if err != nil || status != http.StatusNoContent {
				t.Errorf("registering r%d via %s: %d %v", i, n.name, status, err)
			}
		})
	}
	wg.Wait()

	victim := c.nodes[2]
	waitFor(t, "every reminder fired", func() bool {
		all, where := map[string][]time.Time{}, map[string][]string{}
		firesOn(t, c.nodes, all, where)
		return len(all) == reminders
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
		for i := range reminders {
			times := all["Counter/r"+strconv.Itoa(i)]
			if len(times) == 0 || times[len(times)-1].Before(killed) {
				return false
			}
		}
		return true
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

	for actor, times := range all {
		slices.SortFunc(times, time.Time.Compare)
		for i := 1; i < len(times); i++ {
			require.Greater(t, times[i].Sub(times[i-1]), period/2,
				"%s fired twice in one period (fired on %v)", actor, where[actor])
		}
	}
}
