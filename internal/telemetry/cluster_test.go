package telemetry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/telemetry"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// tracedType is the actor type the traced app hosts.
const tracedType = "Traced"

// cluster is placement, a client-only sidecar A and a sidecar B whose app hosts
// tracedType, all in this process, with a real Redis as the actor store. Every call
// made through A is forwarded to B.
type cluster struct {
	a, b *node
	app  *tracedApp

	// placementMetrics is placement's GET /metrics.
	placementMetrics string
}

// node is one running sidecar.
type node struct {
	url        string // the Dapr HTTP API
	grpcAddr   string // the Dapr gRPC API
	metricsURL string
	logs       *testutil.SyncBuffer // its log lines at info level and above, JSON
	stopped    chan error
	cancel     context.CancelFunc
}

// startCluster starts the cluster; tracingYAML is the tracing section of the sidecars'
// Configuration ("" for none).
func startCluster(t *testing.T, tracingYAML string) *cluster {
	t.Helper()
	redis := testutil.StartRedis(t)
	dir := t.TempDir()
	testutil.WriteRedisComponent(t, dir, redis.Addr())
	configPath := writeConfiguration(t, tracingYAML)
	placementAddr, placementHTTP := startPlacement(t)

	app := startTracedApp(t)
	c := &cluster{app: app, placementMetrics: "http://" + placementHTTP + "/metrics"}
	c.b = startNode(t, "traced", app.port(), dir, configPath, placementAddr)
	app.sidecarURL = c.b.url
	c.a = startNode(t, "client", 0, dir, configPath, placementAddr)
	c.awaitSameTable(t)
	return c
}

func writeConfiguration(t *testing.T, tracingYAML string) string {
	path := filepath.Join(t.TempDir(), "config.yaml")
	doc := "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: telemetry\n" +
		"spec:\n" + tracingYAML
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
	return path
}

// startPlacement returns placement's gRPC and HTTP addresses.
func startPlacement(t *testing.T) (string, string) {
	opts := placement.DefaultOptions()
	opts.ListenAddress = "127.0.0.1"
	opts.Port, opts.HealthzPort = 0, 0
	opts.SettleWindow = time.Millisecond
	opts.BatchWindow = 0
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := placement.New(opts)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr(), srv.HealthzAddr()
}

func startNode(t *testing.T, appID string, appPort int, resources, configPath,
	placementAddr string) *node {
	t.Helper()
	o := sidecar.DefaultOptions()
	o.AppID = appID
	o.AppPort = appPort
	o.HTTPPort = testutil.FreePort(t)
	o.GRPCPort = testutil.FreePort(t)
	o.InternalGRPCPort = testutil.FreePort(t)
	o.MetricsPort = testutil.FreePort(t)
	o.MetricsListenAddress = "127.0.0.1"
	o.ResourcesPaths = []string{resources}
	o.ConfigPath = configPath
	o.PlacementAddresses = []string{placementAddr}
	o.ShutdownTimeout = 10 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	n := &node{
		url:        "http://127.0.0.1:" + strconv.Itoa(o.HTTPPort),
		grpcAddr:   "127.0.0.1:" + strconv.Itoa(o.GRPCPort),
		metricsURL: "http://127.0.0.1:" + strconv.Itoa(o.MetricsPort) + "/metrics",
		logs:       &testutil.SyncBuffer{},
		stopped:    make(chan error, 1),
		cancel:     cancel,
	}
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(n.logs, nil)))
	go func() { n.stopped <- sidecar.Run(ctx, o, log) }()
	t.Cleanup(func() { n.stop(t) })

	require.Eventually(t, func() bool {
		resp, err := http.Get(n.url + "/v1.0/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	}, 10*time.Second, 10*time.Millisecond, "sidecar %s did not become healthy", appID)
	return n
}

// stop shuts the sidecar down gracefully, which also flushes its spans.
func (n *node) stop(t *testing.T) {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.stopped:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Error("sidecar did not stop")
	}
}

// awaitSameTable waits until both sidecars hold their leases on the same table, which
// then places tracedType on B.
func (c *cluster) awaitSameTable(t *testing.T) {
	require.Eventually(t, func() bool {
		va, okA := placementVersion(c.a.url)
		vb, okB := placementVersion(c.b.url)
		return okA && okB && va == vb && va != ""
	}, 10*time.Second, 10*time.Millisecond, "sidecars did not agree on a placement table")
}

func placementVersion(url string) (string, bool) {
	resp, err := http.Get(url + "/v1.0/metadata")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var md struct {
		Extended     map[string]string `json:"extended"`
		ActorRuntime struct {
			Placement string `json:"placement"`
		} `json:"actorRuntime"`
	}
	if json.NewDecoder(resp.Body).Decode(&md) != nil {
		return "", false
	}
	return md.Extended["placementTableVersion"],
		md.ActorRuntime.Placement == "placement: connected"
}

// invoke calls method write of actor id through sidecar n with the given headers.
func (n *node) invoke(t *testing.T, id, body string, headers ...string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost,
		n.url+"/v1.0/actors/"+tracedType+"/"+id+"/method/write", strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
}

// scrape reads n's metrics as series -> value ("name{labels}" as Prometheus prints them).
func (n *node) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	return scrape(t, n.metricsURL)
}

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	series := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		series[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return series
}

// tracedApp hosts tracedType. Its one method, write, saves the body as state key "v"
// through the sidecar and passes the traceparent it received on to that call, as an app
// instrumented with OTel does, so the state call joins the actor call's trace.
type tracedApp struct {
	ln         net.Listener
	srv        *http.Server
	sidecarURL string

	mu           sync.Mutex
	traceparents []string // of the write calls received
}

func (a *tracedApp) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.traceparents...)
}

func startTracedApp(t *testing.T) *tracedApp {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := &tracedApp{ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"entities":[%q]}`, tracedType)
	})
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("DELETE /actors/{type}/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("PUT /actors/{type}/{id}/method/write", a.write)
	mux.HandleFunc("PUT /actors/{type}/{id}/method/remind/{name}",
		func(http.ResponseWriter, *http.Request) {})
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	t.Cleanup(func() { a.srv.Close() })
	return a
}

func (a *tracedApp) port() int { return a.ln.Addr().(*net.TCPAddr).Port }

func (a *tracedApp) write(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.traceparents = append(a.traceparents, r.Header.Get("traceparent"))
	a.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	ops := `[{"operation":"upsert","request":{"key":"v","value":` + strconv.Quote(string(body)) +
		`}}]`
	url := a.sidecarURL + "/v1.0/actors/" + r.PathValue("type") + "/" + r.PathValue("id") +
		"/state"
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, url,
		strings.NewReader(ops))
	req.Header.Set("traceparent", r.Header.Get("traceparent"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		http.Error(w, "state write answered "+resp.Status, http.StatusBadGateway)
	}
}
