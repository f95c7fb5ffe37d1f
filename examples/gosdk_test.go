package examples_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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

	counterScenario(t, c, hostSidecar, goCounter(clientSidecar))
}

// goCounter returns a counterClient that runs the go-sdk example's client against s, once
// per call.
func goCounter(s *sidecar) counterClient {
	return func(t testing.TB, v any, method string, args ...any) {
		t.Helper()

		cmdline := []string{"-id", "ada", goCommands[method]}
		for _, a := range args {
			arg := fmt.Sprint(a)
			if method == "startTicking" {
				arg += "s" // seconds, as the Go client takes Dapr durations
			}
			cmdline = append(cmdline, arg)
		}

		cmd := exec.Command(bin(t, "client"), cmdline...)
		cmd.Env = append(os.Environ(), append(s.env(), quickRaceExit)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		require.NoError(t, err, "client %s: %s", cmdline, stderr.String())
		require.NotContains(t, stderr.String(), "WARNING: DATA RACE")

		// go-sdk prints a line of its own when it connects; the result is the last line.
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		last := lines[len(lines)-1]
		require.NoError(t, json.Unmarshal([]byte(last), v), "client %s printed %q", cmdline, last)
	}
}

// goCommands are the go-sdk example client's commands for the Counter's methods.
var goCommands = map[string]string{
	"greet":        "greet",
	"increment":    "increment",
	"startTicking": "start-ticking",
	"stopTicking":  "stop-ticking",
	"fired":        "fired",
}
