package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestShell runs examples/shell/tour.sh, curl against the sidecar of examples/python's
// actor host, and checks the answers it printed.
func TestShell(t *testing.T) {
	t.Parallel()
	bash := testutil.RequireTool(t, "bash")
	testutil.RequireTool(t, "curl")
	script, err := filepath.Abs("shell/tour.sh")
	require.NoError(t, err)
	c, s := startPythonHost(t, "shell")

	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(), append(s.env(), "ACTOR_ID=tour")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "tour.sh:\n%s", out)

	const actor = "/actors/Counter/tour"
	lines := strings.Split(string(out), "\n")
	for _, want := range []string{
		"GET /healthz -> 204",
		`POST ` + actor + `/method/greet ["curl"] -> 200 "hello curl, from Counter/tour"`,
		`PUT ` + actor + `/method/increment [] -> 200 {"value": 2, "activation": 2}`,
		`GET ` + actor + `/state/count -> 200 2`,
		`POST ` + actor + `/method/increment [] -> 200 {"value": 11, "activation": 3}`,
		`GET ` + actor + `/reminders/wake-up -> 200 ` +
			`{"period":"24h","data":{"say":"hi"},"dueTime":"1h"}`,
		`GET ` + actor + `/reminders/wake-up -> 200 null`,
	} {
		assert.Contains(t, lines, want)
	}
	assert.Contains(t, string(out), `-> 500 {"errorCode":"ERR_ACTOR_INVOKE_METHOD"`)
	assert.Contains(t, string(out), `"activeActors":[{"type":"Counter","count":1}]`)
	assert.Equal(t, "11", c.storedState("shell", "Counter", "tour", "count"))
}
