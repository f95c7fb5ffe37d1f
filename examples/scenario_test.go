package examples_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
)

// idleTimeout is the actorIdleTimeout the examples' hosts set. Calls of a scenario come
// well within it; waiting for a deactivation takes about this long.
const idleTimeout = 3 * time.Second

// tickSeconds is when the scenario's timer and reminder are first due, and their period.
const tickSeconds = 1

// counterClient makes one call to the actor Counter/ada, which the go-sdk, JavaScript and
// Python examples all implement, through one example's client. method is the actor
// method's name (greet, increment, startTicking, stopTicking, fired) and args are its
// arguments; the answer is decoded into v, and a failed call fails t.
type counterClient func(t testing.TB, v any, method string, args ...any)

// counterScenario is what the SDK examples show: a call, state that outlives the actor's
// activation, and a timer and a reminder that fire until they are unregistered. The actor
// is hosted behind hostSidecar.
func counterScenario(t *testing.T, c *cluster, hostSidecar *sidecar, call counterClient) {
	var greeting string
	call(t, &greeting, "greet", "Ada")
	assert.Equal(t, "hello Ada, from Counter/ada", greeting)

	t.Run("state survives deactivation", func(t *testing.T) {
		var count api.Count
		for want := 1; want <= 2; want++ {
			call(t, &count, "increment")
			assert.Equal(t, api.Count{Value: want, Activation: want}, count)
		}
		assert.Equal(t, "2", c.storedState(hostSidecar.appID, "Counter", "ada", "count"))

		waitFor(t, "Counter/ada deactivated after its idle timeout", func() bool {
			return hostSidecar.active("Counter") == 0
		})
		call(t, &count, "increment")
		assert.Equal(t, api.Count{Value: 3, Activation: 1}, count,
			"a new activation reads the count the last one saved")
	})

	t.Run("timer and reminder fire", func(t *testing.T) {
		call(t, &struct{}{}, "startTicking", tickSeconds, tickSeconds)
		var fired api.Fired
		waitFor(t, "the timer and the reminder to fire twice", func() bool {
			call(t, &fired, "fired")
			return fired.Timer >= 2 && fired.Reminder >= 2
		})

		var stopped api.Fired
		call(t, &stopped, "stopTicking")
		// A firing already waiting for the actor's turn may still run once; a timer or
		// reminder that was not unregistered would fire twice more in this time.
		time.Sleep(tickSeconds * time.Second * 5 / 2)
		call(t, &fired, "fired")
		assert.LessOrEqual(t, fired.Timer, stopped.Timer+1, "timer after stopTicking")
		assert.LessOrEqual(t, fired.Reminder, stopped.Reminder+1, "reminder after stopTicking")
	})
}
