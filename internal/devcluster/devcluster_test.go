package devcluster_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/devcluster"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// freeBase returns the first of n consecutive free loopback ports.
func freeBase(t *testing.T, n int) int {
	for range 100 {
		base := 20000 + rand.IntN(30000)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}

// start runs the README's main job with nodes nodes on free ports and the embedded store
// at storePath.
func start(t *testing.T, nodes int, storePath string) (devcluster.Cluster, func()) {
	opts := devcluster.DefaultOptions()
	opts.Nodes = nodes
	opts.HTTPPort = freeBase(t, nodes)
	opts.SidecarHTTPPort = freeBase(t, nodes)
	opts.SidecarGRPCPort = freeBase(t, nodes)
	opts.InternalPort = freeBase(t, nodes)
	opts.AppPort = freeBase(t, nodes)
	opts.MetricsPort = freeBase(t, nodes)
	opts.PlacementPort = testutil.FreePort(t)
	opts.PlacementHTTPPort = testutil.FreePort(t)
	opts.StorePath = storePath
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := make(chan devcluster.Cluster, 1)
	opts.OnReady = func(c devcluster.Cluster) { ready <- c }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- devcluster.Run(ctx, opts) }()

	select {
	case c := <-ready:
		stop := func() {
			cancel()
			require.NoError(t, <-done)
		}
		return c, stop
	case err := <-done:
		t.Fatalf("cluster stopped before it was ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("cluster did not become ready")
	}
	return devcluster.Cluster{}, nil
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

func TestArtifactStateEndToEnd(t *testing.T) {
	store := filepath.Join(t.TempDir(), "actors.db")
	c, stop := start(t, 1, store)
	api := c.AppURLs[0] + "/artifactState/"
	pair := `{"artifactId":7,"userId":"o'brien smith"}`

	steps := []struct {
		method, path, body, want string
	}{
		{"POST", "isArtifactReadByUser", pair,
			`{"artifactId":7,"userId":"o'brien smith","answer":false}`},
		{"POST", "setArtifactReadByUser", pair, `{"success":true}`},
		{"POST", "isArtifactReadByUser", pair,
			`{"artifactId":7,"userId":"o'brien smith","answer":true}`},
		{"POST", "setArtifactAddedToUserFeed", pair, `{"success":true}`},
		{"GET", "isArtifactInUserFeed?artifactId=7&userId=o%27brien%20smith", "",
			`{"artifactId":7,"userId":"o'brien smith","answer":true}`},
		{"POST", "setArtifactRemovedFromUserFeed", pair, `{"success":true}`},
		{"POST", "getAllStates", pair, `{"artifactId":7,"userId":"o'brien smith",
			"artifactRead":true,"artifactInUserFeed":false}`},
		// Another pair that the original's concatenated ids would have confused.
		{"POST", "getAllStates", `{"artifactId":71,"userId":"brien smith"}`,
			`{"artifactId":71,"userId":"brien smith","artifactRead":false,"artifactInUserFeed":false}`},
	}
	for _, s := range steps {
		status, body := call(t, s.method, api+s.path, s.body)
		require.Equal(t, 200, status, "%s: %s", s.path, body)
		require.JSONEq(t, s.want, body, s.path)
	}

	status, body := call(t, "POST", api+"setArtifactReadByUser", `{"artifactId":"x"}`)
	require.Equal(t, 400, status)
	require.Contains(t, body, "ERR_BAD_REQUEST")

	// The embedded store keeps the state across a restart of the whole job.
	stop()
	c, stop = start(t, 1, store)
	defer stop()
	status, body = call(t, "GET",
		c.AppURLs[0]+"/artifactState/getAllStates?artifactId=7&userId=o%27brien%20smith", "")
	require.Equal(t, 200, status)
	require.JSONEq(t, `{"artifactId":7,"userId":"o'brien smith","artifactRead":true,
		"artifactInUserFeed":false}`, body)
}

func TestThreeNodeClusterServesAnyActorFromAnyNode(t *testing.T) {
	c, stop := start(t, 3, filepath.Join(t.TempDir(), "actors.db"))
	defer stop()
	require.Len(t, c.AppURLs, 3)

	for artifact := range 30 {
		pair := `{"artifactId":` + strconv.Itoa(artifact) + `,"userId":"grace"}`
		writer, reader := c.AppURLs[artifact%3], c.AppURLs[(artifact+1)%3]
		status, body := call(t, "POST", writer+"/artifactState/setArtifactAddedToUserFeed", pair)
		require.Equal(t, 200, status, body)
		status, body = call(t, "POST", reader+"/artifactState/isArtifactInUserFeed", pair)
		require.Equal(t, 200, status, body)
		require.Contains(t, body, `"answer":true`)
	}
}
