package examples_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestPython runs examples/python, an actor host with nothing but Python's standard
// library, behind a single sidecar; the test calls the actor over the sidecar's HTTP API.
func TestPython(t *testing.T) {
	t.Parallel()
	c, hostSidecar := startPythonHost(t, "python")
	counterScenario(t, c, hostSidecar, httpCounter(hostSidecar.url))
}

// startPythonHost starts Redis, examples/python/host.py and its sidecar for appID.
func startPythonHost(t *testing.T, appID string) (*cluster, *sidecar) {
	t.Helper()

	python := testutil.RequireTool(t, "python3")
	dir, err := filepath.Abs("python")
	require.NoError(t, err)
	c := newCluster(t, false)

	appPort, s := testutil.FreePort(t), c.reserveSidecar(appID)
	start(t, dir, append(s.env(),
		"APP_PORT="+strconv.Itoa(appPort), "IDLE_TIMEOUT="+idleTimeout.String()),
		python, "host.py")
	return c, c.startSidecar(s, appPort)
}

// httpCounter returns a counterClient that calls the actor over the sidecar's HTTP API at
// url, with its arguments as a JSON array, as the JavaScript SDK sends them.
func httpCounter(url string) counterClient {
	return func(t testing.TB, v any, method string, args ...any) {
		t.Helper()

		body, err := json.Marshal(append([]any{}, args...))
		require.NoError(t, err)
		resp, err := httpClient.Post(url+"/v1.0/actors/Counter/ada/method/"+method,
			"application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()

		answer, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", method, answer)
		require.NoError(t, json.Unmarshal(answer, v), "%s answered %s", method, answer)
	}
}
