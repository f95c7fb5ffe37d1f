package clustertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testapp"
	"github.com/troupe-dev/troupe/internal/testutil"
)

const appConfig = `{"entities":["Counter"],"drainOngoingCallTimeout":"5s","drainRebalancedActors":true}`

// binaries are the placement, sidecar and test app commands, built once.
var binaries = testutil.NewBinaries(false,
	"github.com/troupe-dev/troupe/placement",
	"github.com/troupe-dev/troupe/sidecar",
	"github.com/troupe-dev/troupe/internal/testapp/cmd/testapp")

func TestMain(m *testing.M) {
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// proc is a process the test started; it is killed when the test ends.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	require.NoError(t, err)
	cmd := exec.Command(binaries.Path(t, name), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())

	p := &proc{cmd: cmd, done: make(chan struct{}), log: logFile}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(); logFile.Close() })
	return p
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// terminate sends SIGTERM and waits for the process to exit.
func (p *proc) terminate(t testing.TB) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM", p.cmd.Path)
	}
}

func (p *proc) logText() string {
	data, _ := os.ReadFile(p.log.Name())
	return string(data)
}

// cluster is a placement service, a Redis, and sidecar + app pairs.
type cluster struct {
	t             testing.TB
	resources     string
	placement     *proc
	placementArgs []string
	placementAddr string
	placementHTTP string
	nodes         []*node
}

// node is one sidecar and its app.
type node struct {
	name string
	app  *proc

	// mu guards sidecar, which a restart replaces while clients read it.
	mu      sync.Mutex
	sidecar *proc

	url    string // the sidecar's HTTP API
	appURL string

	// sidecarArgs start the sidecar again on the same ports after a kill.
	sidecarArgs []string
}

func startCluster(t testing.TB, n int) *cluster {
	redis := testutil.StartRedis(t)
	c := &cluster{t: t, resources: t.TempDir()}
	testutil.WriteRedisComponent(t, c.resources, redis.Addr())

	port, httpPort := testutil.FreePort(t), testutil.FreePort(t)
	c.placementAddr = "127.0.0.1:" + strconv.Itoa(port)
	c.placementHTTP = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	c.placementArgs = []string{"--port", strconv.Itoa(port),
		"--healthz-port", strconv.Itoa(httpPort), "--log-level", "warn"}
	c.placement = startProc(t, "placement", c.placementArgs...)
	waitFor(t, "placement healthy", func() bool { return testutil.GetStatus(c.placementHTTP+"/healthz") == 200 })

	for range n {
		c.addNode()
	}
	c.waitConverged()
	return c
}

// addNode starts another sidecar + app pair.
func (c *cluster) addNode() *node {
	t := c.t
	appPort, httpPort := testutil.FreePort(t), testutil.FreePort(t)
	n := &node{
		name:   fmt.Sprintf("node%d", len(c.nodes)),
		url:    "http://127.0.0.1:" + strconv.Itoa(httpPort),
		appURL: "http://127.0.0.1:" + strconv.Itoa(appPort),
	}
	n.app = startProc(t, "testapp", "--port", strconv.Itoa(appPort), "--sidecar", n.url,
		"--config", appConfig)
	n.sidecarArgs = []string{"--app-id", "clustertest",
		"--app-port", strconv.Itoa(appPort),
		"--dapr-http-port", strconv.Itoa(httpPort),
		"--dapr-grpc-port", strconv.Itoa(testutil.FreePort(t)),
		"--dapr-internal-grpc-port", strconv.Itoa(testutil.FreePort(t)),
		"--placement-host-address", c.placementAddr,
		"--resources-path", c.resources,
		"--metrics-port", strconv.Itoa(testutil.FreePort(t)),
		"--dapr-graceful-shutdown-seconds", "15",
		"--log-level", "warn"}
	n.setSidecar(startProc(t, "sidecar", n.sidecarArgs...))
	c.nodes = append(c.nodes, n)
	return n
}

// restartSidecar starts the node's sidecar again, on the same ports, after it died.
func (n *node) restartSidecar(t testing.TB) {
	n.setSidecar(startProc(t, "sidecar", n.sidecarArgs...))
}

func (n *node) setSidecar(p *proc) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sidecar = p
}

// proc returns the node's current sidecar process.
func (n *node) proc() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sidecar
}

// live returns the nodes whose sidecar is running.
func (c *cluster) live() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.proc().running() {
			out = append(out, n)
		}
	}
	return out
}

// waitConverged waits until placement has exactly the live sidecars as members and each
// of them has committed placement's table.
func (c *cluster) waitConverged() {
	c.t.Helper()
	live := c.live()
	defer func() {
		if c.t.Failed() {
			c.dumpState()
		}
	}()
	waitFor(c.t, "cluster converged", func() bool {
		var st struct {
			TableVersion uint64 `json:"table_version"`
			Phase        string `json:"phase"`
			Members      []struct {
				Name string `json:"name"`
			} `json:"members"`
		}
		if testutil.GetJSON(c.placementHTTP+"/placement/state", &st) != nil ||
			st.Phase != "stable" || len(st.Members) != len(live) {
			return false
		}
		want := strconv.FormatUint(st.TableVersion, 10)
		for _, n := range live {
			var md struct {
				Extended map[string]string `json:"extended"`
			}
			if testutil.GetJSON(n.url+"/v1.0/metadata", &md) != nil ||
				md.Extended["placementTableVersion"] != want {
				return false
			}
		}
		return true
	})
}

// dumpState logs placement's state and each sidecar's metadata and log, to explain a
// cluster that did not converge.
func (c *cluster) dumpState() {
	var st any
	testutil.GetJSON(c.placementHTTP+"/placement/state", &st)
	c.t.Logf("placement state: %v\nplacement log:\n%s", st, c.placement.logText())
	for _, n := range c.nodes {
		var md any
		testutil.GetJSON(n.url+"/v1.0/metadata", &md)
		c.t.Logf("%s (running %v) metadata: %v\nlog:\n%s", n.name, n.proc().running(), md,
			n.proc().logText())
	}
}

// status reads a node's app status.
func (n *node) status(t testing.TB) testapp.Status {
	var st testapp.Status
	require.NoError(t, testutil.GetJSON(n.appURL+"/debug/status", &st))
	return st
}

// invoke calls an actor method through a node's sidecar.
func (n *node) invoke(ctx context.Context, id, method, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		n.url+"/v1.0/actors/Counter/"+id+"/method/"+method, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

var client = &http.Client{
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	Timeout:   30 * time.Second,
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
