package examples_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestPython runs examples/python, an actor host with nothing but Python's standard
// library, behind a single sidecar; the test calls the actor over the sidecar's HTTP API.
func TestPython(t *testing.T) {
	t.Parallel()
	c, hostSidecar := startPythonHost(t, "python")
	counterScenario(t, c, hostSidecar, httpCounter{url: hostSidecar.url, id: "ada"})
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

// httpCounter calls a Counter actor over a sidecar's HTTP API, with its arguments as a
// JSON array, as the JavaScript SDK does.
type httpCounter struct {
	url string
	id  string
}

func (h httpCounter) greet(t testing.TB, name string) (s string) {
	h.call(t, &s, "greet", name)
	return s
}

func (h httpCounter) increment(t testing.TB) (n api.Count) {
	h.call(t, &n, "increment")
	return n
}

func (h httpCounter) startTicking(t testing.TB, every time.Duration) {
	seconds := int(every / time.Second)
	h.call(t, &struct{}{}, "startTicking", seconds, seconds)
}

func (h httpCounter) fired(t testing.TB) (f api.Fired) {
	h.call(t, &f, "fired")
	return f
}

func (h httpCounter) stopTicking(t testing.TB) (f api.Fired) {
	h.call(t, &f, "stopTicking")
	return f
}

// call invokes method with args and decodes the answer into v.
func (h httpCounter) call(t testing.TB, v any, method string, args ...any) {
	t.Helper()

	body, err := json.Marshal(append([]any{}, args...))
	require.NoError(t, err)
	url := h.url + "/v1.0/actors/Counter/" + h.id + "/method/" + method
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()

	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", method, answer)
	require.NoError(t, json.Unmarshal(answer, v), "%s answered %s", method, answer)
}
