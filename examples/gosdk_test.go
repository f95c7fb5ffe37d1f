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

	hostPort, hostSidecar := testutil.FreePort(t), c.reserveSidecar("gosdk")
	start(t, "", hostSidecar.env(), bin(t, "host"),
		"--port", strconv.Itoa(hostPort), "--idle-timeout", idleTimeout.String())
	c.startSidecar(hostSidecar, hostPort)
	clientSidecar := c.startSidecar(c.reserveSidecar("gosdk-client"), 0)
	c.waitConverged(hostSidecar, clientSidecar)

	counterScenario(t, c, hostSidecar, goClient{sidecar: clientSidecar, id: "ada"})
}

// goClient runs the go-sdk example's client against one sidecar, once per call.
type goClient struct {
	sidecar *sidecar
	id      string
}

func (g goClient) greet(t testing.TB, name string) (s string) {
	g.call(t, &s, "greet", name)
	return s
}

func (g goClient) increment(t testing.TB) (n api.Count) {
	g.call(t, &n, "increment")
	return n
}

func (g goClient) startTicking(t testing.TB, every time.Duration) {
	g.call(t, &api.Schedule{}, "start-ticking", every.String(), every.String())
}

func (g goClient) fired(t testing.TB) (f api.Fired) {
	g.call(t, &f, "fired")
	return f
}

func (g goClient) stopTicking(t testing.TB) (f api.Fired) {
	g.call(t, &f, "stop-ticking")
	return f
}

// call runs the client with args and decodes the JSON result it prints into v.
func (g goClient) call(t testing.TB, v any, args ...string) {
	t.Helper()

	cmd := exec.Command(bin(t, "client"), append([]string{"-id", g.id}, args...)...)
	cmd.Env = append(os.Environ(), append(g.sidecar.env(), quickRaceExit)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "client %s: %s", args, stderr.String())
	require.NotContains(t, stderr.String(), "WARNING: DATA RACE")

	// go-sdk prints a line of its own when it connects; the result is the last line.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	require.NoError(t, json.Unmarshal([]byte(last), v), "client %s printed %q", args, last)
}
