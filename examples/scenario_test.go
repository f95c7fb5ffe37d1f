package examples_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
)

// idleTimeout is the actorIdleTimeout the examples' hosts set. Calls of a scenario come
// well within it; waiting for a deactivation takes about this long.
const idleTimeout = 2 * time.Second

// counterClient calls one actor of the Counter type that the go-sdk and JavaScript
// examples both implement, through that example's own client.
type counterClient interface {
	greet(t testing.TB, name string) string
	increment(t testing.TB) api.Count
	startTicking(t testing.TB, every time.Duration)
	fired(t testing.TB) api.Fired
	stopTicking(t testing.TB) api.Fired
}

// counterScenario is what the SDK examples show: a call, state that outlives the actor's
// activation, and a timer and a reminder that fire until they are unregistered. The actor
// Counter/ada is hosted behind hostSidecar.
func counterScenario(t *testing.T, c *cluster, hostSidecar *sidecar, client counterClient) {
	assert.Equal(t, "hello Ada, from Counter/ada", client.greet(t, "Ada"))

	t.Run("state survives deactivation", func(t *testing.T) {
		for want := 1; want <= 2; want++ {
			assert.Equal(t, api.Count{Value: want, Activation: want}, client.increment(t))
		}
		assert.Equal(t, "2", c.storedState(hostSidecar.appID, "Counter", "ada", "count"))

		waitFor(t, "Counter/ada deactivated after its idle timeout", func() bool {
			return hostSidecar.active("Counter") == 0
		})
		assert.Equal(t, api.Count{Value: 3, Activation: 1}, client.increment(t),
			"a new activation reads the count the last one saved")
	})

	t.Run("timer and reminder fire", func(t *testing.T) {
		const period = time.Second
		client.startTicking(t, period)
		waitFor(t, "the timer and the reminder to fire twice", func() bool {
			fired := client.fired(t)
			return fired.Timer >= 2 && fired.Reminder >= 2
		})

		stopped := client.stopTicking(t)
		// A firing already waiting for the actor's turn may still run once; a timer or
		// reminder that was not unregistered would fire twice more in this time.
		time.Sleep(period * 5 / 2)
		fired := client.fired(t)
		assert.LessOrEqual(t, fired.Timer, stopped.Timer+1, "timer after stopTicking")
		assert.LessOrEqual(t, fired.Reminder, stopped.Reminder+1, "reminder after stopTicking")
	})
}
