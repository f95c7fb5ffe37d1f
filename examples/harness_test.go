package examples_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// waitTimeout bounds every wait for a condition; the examples' events come within seconds.
const waitTimeout = 30 * time.Second

// goBinaries are the programs the examples run, built once per test run.
var goBinaries = []string{
	"github.com/troupe-dev/troupe/sidecar",
	"github.com/troupe-dev/troupe/placement",
	"github.com/troupe-dev/troupe/examples/go-sdk/host",
	"github.com/troupe-dev/troupe/examples/go-sdk/client",
}

// quickRaceExit stops a race-enabled program from waiting a second before it exits, which
// it does by default to let other goroutines report races.
const quickRaceExit = "GORACE=atexit_sleep_ms=0"

// binaries are built once, with the race detector when the tests run with it.
var binaries = testutil.NewBinaries(raceEnabled, goBinaries...)

func TestMain(m *testing.M) {
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// bin returns the path of a built binary (the last element of its package path).
func bin(t testing.TB, name string) string { return binaries.Path(t, name) }

// proc is a process a test started. It is killed when the test ends, and its output is
// shown if the test failed.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // the file that holds its output
	done chan struct{}
}

// start runs path with args in dir (empty: the current one) and env added to the test's
// environment.
func start(t testing.TB, dir string, env []string, path string, args ...string) *proc {
	t.Helper()

	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return startCmd(t, cmd)
}

// startCmd starts cmd, with its output (or only its stderr, if it has a stdout) going to a
// log file.
func startCmd(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()

	p := &proc{
		name: filepath.Base(cmd.Path) + " " + strings.Join(cmd.Args[1:], " "),
		cmd:  cmd,
		log:  filepath.Join(t.TempDir(), filepath.Base(cmd.Path)+".log"),
		done: make(chan struct{}),
	}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the process has its own copy

	if cmd.Stdout == nil {
		cmd.Stdout = logFile
	}
	cmd.Stderr = logFile
	// Do not outlive a test binary that dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}

	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		out := p.output()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race", p.name)
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, out)
		}
	})
	return p
}

// output returns what the process has written so far.
func (p *proc) output() string {
	data, _ := os.ReadFile(p.log)
	return string(data)
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// cluster is a real Redis, optionally a placement service, and the sidecars of one
// example, all on loopback.
type cluster struct {
	t         testing.TB
	redis     *testutil.Redis
	resources string // folder with the Redis component

	// placement is the placement service's address and statusURL its HTTP status API;
	// both are empty in single-node mode.
	placement string
	statusURL string
}

// newCluster starts Redis and, when withPlacement, a placement service.
func newCluster(t testing.TB, withPlacement bool) *cluster {
	t.Helper()

	c := &cluster{t: t, redis: testutil.StartRedis(t), resources: t.TempDir()}
	testutil.WriteRedisComponent(t, c.resources, c.redis.Addr())
	if !withPlacement {
		return c
	}

	port, statusPort := testutil.FreePort(t), testutil.FreePort(t)
	c.placement = loopback(port)
	c.statusURL = "http://" + loopback(statusPort)
	start(t, "", nil, bin(t, "placement"), "--port", strconv.Itoa(port),
		"--healthz-port", strconv.Itoa(statusPort), "--log-level", "warn")
	return c
}

// sidecar is a troupe sidecar process.
type sidecar struct {
	*proc
	appID    string
	url      string // the Dapr HTTP API
	httpPort int
	grpcPort int
}

// reserveSidecar picks the ports of a sidecar for appID, so that its app can be started
// first, knowing where its sidecar will be.
func (c *cluster) reserveSidecar(appID string) *sidecar {
	s := &sidecar{appID: appID, httpPort: testutil.FreePort(c.t), grpcPort: testutil.FreePort(c.t)}
	s.url = "http://" + loopback(s.httpPort)
	return s
}

// startSidecar starts the reserved sidecar s for an app that listens on appPort (0: no
// app, so the sidecar hosts nothing and forwards every actor call) and waits until it is
// healthy, which includes reaching the app.
func (c *cluster) startSidecar(s *sidecar, appPort int) *sidecar {
	t := c.t
	t.Helper()

	args := []string{"--app-id", s.appID,
		"--dapr-http-port", strconv.Itoa(s.httpPort),
		"--dapr-grpc-port", strconv.Itoa(s.grpcPort),
		"--dapr-internal-grpc-port", strconv.Itoa(testutil.FreePort(t)),
		"--resources-path", c.resources,
		"--enable-metrics=false",
		"--log-level", "warn"}
	if appPort != 0 {
		args = append(args, "--app-port", strconv.Itoa(appPort))
	}
	if c.placement != "" {
		args = append(args, "--placement-host-address", c.placement)
	}
	s.proc = start(t, "", nil, bin(t, "sidecar"), args...)

	waitFor(t, s.appID+"'s sidecar healthy", func() bool {
		return !s.exited() && testutil.GetStatus(s.url+"/v1.0/healthz") == http.StatusNoContent
	})
	return s
}

// env returns the variables that point an SDK at the sidecar.
func (s *sidecar) env() []string {
	return []string{
		"DAPR_HTTP_PORT=" + strconv.Itoa(s.httpPort),
		"DAPR_GRPC_PORT=" + strconv.Itoa(s.grpcPort),
	}
}

// waitConverged waits until placement counts exactly the given sidecars as members in a
// stable table, and each of them has that table.
func (c *cluster) waitConverged(sidecars ...*sidecar) {
	c.t.Helper()

	waitFor(c.t, "placement table on every sidecar", func() bool {
		var st struct {
			TableVersion uint64            `json:"table_version"`
			Phase        string            `json:"phase"`
			Members      []json.RawMessage `json:"members"`
		}
		if testutil.GetJSON(c.statusURL+"/placement/state", &st) != nil ||
			st.Phase != "stable" || len(st.Members) != len(sidecars) {
			return false
		}

		want := strconv.FormatUint(st.TableVersion, 10)
		for _, s := range sidecars {
			if s.metadata().Extended["placementTableVersion"] != want {
				return false
			}
		}
		return true
	})
}

// metadata is the part of GET /v1.0/metadata the tests read.
type metadata struct {
	Extended     map[string]string `json:"extended"`
	ActorRuntime struct {
		ActiveActors []struct {
			Type  string `json:"type"`
			Count int    `json:"count"`
		} `json:"activeActors"`
	} `json:"actorRuntime"`
}

// metadata reads the sidecar's metadata; a failed read gives the zero value.
func (s *sidecar) metadata() metadata {
	var md metadata
	_ = testutil.GetJSON(s.url+"/v1.0/metadata", &md)
	return md
}

// active returns how many actors of actorType are active on the sidecar, or -1 if the
// sidecar does not say.
func (s *sidecar) active(actorType string) int {
	for _, a := range s.metadata().ActorRuntime.ActiveActors {
		if a.Type == actorType {
			return a.Count
		}
	}
	return -1
}

// stateKey returns the Redis key of an actor's state key, in Dapr's layout.
func stateKey(appID, actorType, actorID, key string) string {
	return strings.Join([]string{appID, actorType, actorID, key}, "||")
}

// storedState returns the bytes Redis holds for an actor's state key ("" when none).
func (c *cluster) storedState(appID, actorType, actorID, key string) string {
	return c.redis.Client().HGet(context.Background(),
		stateKey(appID, actorType, actorID, key), "data").Val()
}

// httpClient sends the examples' own requests; its timeout keeps a hung sidecar from
// hanging a test.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 50*time.Millisecond, "waiting for %s", what)
}

func loopback(port int) string {
	return "127.0.0.1:" + strconv.Itoa(port)
}
