package examples_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestGoSDK runs examples/go-sdk over a two-sidecar cluster: the host's sidecar hosts the
// Counter actor, and the client talks only to a second sidecar that hosts nothing and
// forwards every call.
func TestGoSDK(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)

	hostPort, hostSidecarPorts := testutil.FreePort(t), c.reserveSidecar("gosdk")
	start(t, "", hostSidecarPorts.env(), bin(t, "host"),
		"--port", strconv.Itoa(hostPort), "--idle-timeout", "2s")
	hostSidecar := c.startSidecar(hostSidecarPorts, hostPort)
	clientSidecar := c.startSidecar(c.reserveSidecar("gosdk-client"), 0)
	c.waitConverged(hostSidecar, clientSidecar)
	client := goClient{t: t, sidecar: clientSidecar, id: "ada"}

	var greeting string
	client.call(&greeting, "greet", "Ada")
	assert.Equal(t, "hello Ada, from Counter/ada", greeting)

	t.Run("state survives deactivation", func(t *testing.T) {
		var count api.Count
		for want := 1; want <= 2; want++ {
			client.call(&count, "increment")
			assert.Equal(t, api.Count{Value: want, Activation: want}, count)
		}
		assert.Equal(t, "2", c.storedState("gosdk", api.ActorType, "ada", "count"))

		waitFor(t, "Counter/ada deactivated after its 2s idle timeout", func() bool {
			return hostSidecar.active(api.ActorType) == 0
		})
		client.call(&count, "increment")
		assert.Equal(t, api.Count{Value: 3, Activation: 1}, count,
			"a new activation reads the count the last one saved")
	})

	t.Run("timer and reminder fire", func(t *testing.T) {
		var schedule api.Schedule
		client.call(&schedule, "start-ticking", "1s", "1s")

		var fired api.Fired
		waitFor(t, "the timer and the reminder to fire twice", func() bool {
			client.call(&fired, "fired")
			return fired.Timer >= 2 && fired.Reminder >= 2
		})

		var stopped api.Fired
		client.call(&stopped, "stop-ticking")

		// A firing already waiting for the actor's turn may still run once; a timer or
		// reminder that was not unregistered would fire twice more in this time.
		time.Sleep(2500 * time.Millisecond)
		client.call(&fired, "fired")
		assert.LessOrEqual(t, fired.Timer, stopped.Timer+1, "timer after stop-ticking")
		assert.LessOrEqual(t, fired.Reminder, stopped.Reminder+1, "reminder after stop-ticking")
	})
}

// goClient runs the go-sdk example's client against one sidecar.
type goClient struct {
	t       *testing.T
	sidecar *sidecar
	id      string
}

// call runs the client with args and decodes the JSON result it prints into v.
func (g goClient) call(v any, args ...string) {
	g.t.Helper()

	cmd := exec.Command(bin(g.t, "client"), append([]string{"-id", g.id}, args...)...)
	cmd.Env = append(os.Environ(), append(g.sidecar.env(), quickRaceExit)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(g.t, err, "client %s: %s", args, stderr.String())

	// go-sdk prints a line of its own when it connects; the result is the last line.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	require.NoError(g.t, json.Unmarshal([]byte(last), v), "client %s printed %q", args, last)
}
