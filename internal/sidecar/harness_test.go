package sidecar_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/sidecar"
	"github.com/troupe-dev/troupe/internal/testapp"
	"github.com/troupe-dev/troupe/internal/testutil"
)

const testAppID = "testapp"

// defaultAppConfig hosts Counter (plain), Reentrant (reentrancy on) and Idle (a short
// idle timeout).
const defaultAppConfig = `{
  "entities": ["Counter", "Reentrant", "Idle"],
  "actorIdleTimeout": "",
  "drainOngoingCallTimeout": "",
  "entitiesConfig": [
    {"entities": ["Reentrant"], "reentrancy": {"enabled": true, "maxStackDepth": 4}},
    {"entities": ["Idle"], "actorIdleTimeout": "300ms"}
  ]
}`

// env is a sidecar running in-process against a real test app and a real store.
type env struct {
	t       *testing.T
	app     *testapp.App
	redis   *testutil.Redis
	url     string
	opts    sidecar.Options
	stopped chan error
	cancel  context.CancelFunc
}

type envOption func(*sidecar.Options)

func withToken(token string) envOption {
	return func(o *sidecar.Options) { o.APIToken = token }
}

func withMaxBody(n int64) envOption {
	return func(o *sidecar.Options) { o.MaxBodySize = n }
}

// startEnv starts a test app and a sidecar backed by a fresh redis-server.
func startEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	redis := testutil.StartRedis(t)
	dir := t.TempDir()
	testutil.WriteRedisComponent(t, dir, redis.Addr())

	e := startSidecar(t, dir, "", opts...)
	e.redis = redis
	return e
}

// startSidecar starts a test app and a sidecar with components from resourcesDir (empty:
// none) and the embedded store at storePath (empty: a temporary file).
func startSidecar(t *testing.T, resourcesDir, storePath string, opts ...envOption) *env {
	t.Helper()
	app, err := testapp.Start([]byte(defaultAppConfig))
	require.NoError(t, err)
	t.Cleanup(app.Close)

	o := sidecar.DefaultOptions()
	o.AppID = testAppID
	o.AppPort = app.Port()
	o.HTTPPort = testutil.FreePort(t)
	o.GRPCPort = testutil.FreePort(t)
	o.MetricsPort = testutil.FreePort(t)
	o.ShutdownTimeout = 10 * time.Second
	if resourcesDir != "" {
		o.ResourcesPaths = []string{resourcesDir}
	}
	o.EmbeddedStorePath = storePath
	if storePath == "" {
		o.EmbeddedStorePath = filepath.Join(t.TempDir(), "actors.db")
	}
	for _, opt := range opts {
		opt(&o)
	}

	e := &env{t: t, app: app, opts: o, url: fmt.Sprintf("http://127.0.0.1:%d", o.HTTPPort)}
	app.SidecarURL = e.url
	e.run()
	t.Cleanup(e.stop)
	return e
}

func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.stopped = make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { e.stopped <- sidecar.Run(ctx, e.opts, log) }()

	require.Eventually(e.t, func() bool {
		resp, err := http.Get(e.url + "/v1.0/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	}, 10*time.Second, 10*time.Millisecond, "sidecar did not become healthy")
}

// stop shuts the sidecar down gracefully and returns Run's error.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.stopped:
		require.NoError(e.t, err)
	case <-time.After(15 * time.Second):
		e.t.Error("sidecar did not stop")
	}
}

// reply is an HTTP answer read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(method, path, body string, headers ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url, strings.NewReader(body))
	require.NoError(e.t, err)
	// Opaque keeps the path exactly as given, even escapes Go would refuse to send.
	req.URL.Opaque = "//" + req.URL.Host + path
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (e *env) invoke(actorType, id, method, body string, headers ...string) reply {
	return e.do(http.MethodPost, "/v1.0/actors/"+actorType+"/"+id+"/method/"+method,
		body, headers...)
}

func (e *env) getState(actorType, id, key string) reply {
	return e.do(http.MethodGet, "/v1.0/actors/"+actorType+"/"+id+"/state/"+key, "")
}

func (e *env) transact(actorType, id, body string) reply {
	return e.do(http.MethodPost, "/v1.0/actors/"+actorType+"/"+id+"/state", body)
}

func upsert(key, jsonValue string) string {
	return `[{"operation":"upsert","request":{"key":"` + key + `","value":` + jsonValue + `}}]`
}

// requireAPIError checks an answer is the contract's error shape with the given code.
func requireAPIError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Contains(t, r.body, `"errorCode":"`+code+`"`)
	require.Contains(t, r.body, `"message":"`)
}
