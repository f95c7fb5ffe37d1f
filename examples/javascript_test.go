package examples_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestJavaScript runs examples/javascript (@dapr/dapr from npm) over a two-sidecar
// cluster, as TestGoSDK does for go-sdk.
func TestJavaScript(t *testing.T) {
	t.Parallel()
	node := testutil.RequireTool(t, "node")
	dir, err := filepath.Abs("javascript")
	require.NoError(t, err)
	installNodeModules(t, dir)
	c := newCluster(t, true)

	hostPort, hostSidecar := testutil.FreePort(t), c.reserveSidecar("javascript")
	start(t, dir, append(hostSidecar.env(),
		"APP_PORT="+strconv.Itoa(hostPort), "IDLE_TIMEOUT="+idleTimeout.String()),
		node, "host.js")
	c.startSidecar(hostSidecar, hostPort)
	clientSidecar := c.startSidecar(c.reserveSidecar("javascript-client"), 0)
	c.waitConverged(hostSidecar, clientSidecar)

	client := startLineClient(t, dir, clientSidecar.env(), node, "client.js", "ada")
	counterScenario(t, c, hostSidecar, client.call)
}

// installNodeModules runs npm ci in dir unless node_modules already holds the @dapr/dapr
// version that package.json pins. .ci/run installs them beforehand.
func installNodeModules(t testing.TB, dir string) {
	t.Helper()

	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var installed struct {
		Version string `json:"version"`
	}
	readJSON(t, filepath.Join(dir, "package.json"), &pkg)
	_ = json.Unmarshal(readFile(filepath.Join(dir, "node_modules/@dapr/dapr/package.json")),
		&installed)
	if installed.Version == pkg.Dependencies["@dapr/dapr"] {
		return
	}

	npm := testutil.RequireTool(t, "npm")
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci in %s:\n%s", dir, out)
}

// lineClient is a client process that makes one call per line of input and answers each
// with a line of JSON, such as examples/javascript/client.js without a call on its
// command line.
type lineClient struct {
	stdin io.WriteCloser
	lines chan string
}

func startLineClient(t testing.TB, dir string, env []string, path string,
	args ...string) *lineClient {
	t.Helper()

	lc := &lineClient{lines: make(chan string, 64)}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = &lineWriter{lines: lc.lines}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	lc.stdin = stdin

	startCmd(t, cmd)
	return lc
}

// call is a counterClient: it sends the method and its arguments as one line and decodes
// the answer into v; an answer {"error": ...} fails t.
func (lc *lineClient) call(t testing.TB, v any, method string, args ...any) {
	t.Helper()

	line := method
	for _, a := range args {
		line += " " + fmt.Sprint(a)
	}

	_, err := io.WriteString(lc.stdin, line+"\n")
	require.NoError(t, err)

	var answer string
	select {
	case answer = <-lc.lines:
	case <-time.After(waitTimeout):
		t.Fatalf("no answer to %q after %v", line, waitTimeout)
	}

	var failed struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(answer), &failed) == nil && failed.Error != "" {
		t.Fatalf("%s: %s", line, failed.Error)
	}
	require.NoError(t, json.Unmarshal([]byte(answer), v), "answer to %q: %q", line, answer)
}

// lineWriter passes what a process writes on to lines, a line at a time.
type lineWriter struct {
	mu      sync.Mutex
	partial []byte
	lines   chan<- string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.partial[:i]):
		default: // nobody asked; drop it rather than block the process
		}
		w.partial = w.partial[i+1:]
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(readFile(path), v), "read %s", path)
}

// readFile returns the file's content, or nothing if it cannot be read.
func readFile(path string) []byte {
	data, _ := os.ReadFile(path)
	return data
}
