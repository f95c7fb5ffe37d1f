package artifact

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServiceEndToEnd drives the public API of a running service whose actors are called
// back through a fake sidecar, with API tokens required in both directions.
func TestServiceEndToEnd(t *testing.T) {
	fake := newFakeSidecar(t)
	fake.apiToken, fake.appToken = "to-sidecar", "to-app"
	svc := startService(t, fake, nil)

	allStates := func(artifactID int, userID string) map[string]any {
		status, reply := svc.call(t, "GET", "/artifactState/getAllStates?artifactId="+
			strconv.Itoa(artifactID)+"&userId="+userID, "")
		require.Equal(t, http.StatusOK, status, "%v", reply)
		return reply
	}
	post := func(method string, artifactID int, userID string) {
		body, err := json.Marshal(map[string]any{"artifactId": artifactID, "userId": userID})
		require.NoError(t, err)
		status, reply := svc.call(t, "POST", "/artifactState/"+method, string(body))
		require.Equal(t, http.StatusOK, status, "%v", reply)
		require.Equal(t, map[string]any{"success": true}, reply)
	}

	assert.Equal(t, map[string]any{"artifactId": 1.0, "userId": "23",
		"artifactRead": false, "artifactInUserFeed": false}, allStates(1, "23"))

	post(MethodSetArtifactReadByUser, 1, "23")
	post(MethodSetArtifactAddedToUserFeed, 1, "23")

	assert.Equal(t, map[string]any{"artifactId": 1.0, "userId": "23",
		"artifactRead": true, "artifactInUserFeed": true}, allStates(1, "23"))
	// The original service concatenated the ids, so (12,"3") saw (1,"23")'s state.
	assert.Equal(t, map[string]any{"artifactId": 12.0, "userId": "3",
		"artifactRead": false, "artifactInUserFeed": false}, allStates(12, "3"))

	status, reply := svc.call(t, "POST", "/artifactState/isArtifactInUserFeed",
		`{"artifactId":1,"userId":"23"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"artifactId": 1.0, "userId": "23", "answer": true}, reply)

	post(MethodSetArtifactRemovedFromUserFeed, 1, "23")
	status, reply = svc.call(t, "GET",
		"/artifactState/isArtifactInUserFeed?artifactId=1&userId=23", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, false, reply["answer"])
}

func TestServiceKeepsStateAcrossDeactivation(t *testing.T) {
	fake := newFakeSidecar(t)
	svc := startService(t, fake, nil)

	status, _ := svc.call(t, "POST", "/artifactState/setArtifactReadByUser",
		`{"artifactId":5,"userId":"kim"}`)
	require.Equal(t, http.StatusOK, status)
	fake.deactivate(ActorType, "5_kim")

	status, reply := svc.call(t, "GET",
		"/artifactState/isArtifactReadByUser?artifactId=5&userId=kim", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, reply["answer"], "state lives in the sidecar, not the activation")

	report := svc.activations(t, "5_kim")
	require.Len(t, report.Activations, 2)
	first, second := report.Activations[0], report.Activations[1]
	require.NotNil(t, first.DeactivatedAt, "the DELETE ended the first activation")
	assert.False(t, first.DeactivatedAt.Before(first.ActivatedAt))
	assert.False(t, second.ActivatedAt.Before(*first.DeactivatedAt))
	assert.Nil(t, second.DeactivatedAt, "the second activation is still open")
}

func TestServiceCallbacksRequireTheAppToken(t *testing.T) {
	fake := newFakeSidecar(t)
	fake.appToken = "to-app"
	svc := startService(t, fake, nil)
	appURL := "http://" + svc.addrs.App

	status, _ := doJSON(t, svc.client, "PUT",
		appURL+"/actors/ArtifactState/1_a/method/getAllStates", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)

	status, reply := doJSON(t, svc.client, "GET", appURL+"/dapr/config", "",
		http.Header{"Dapr-Api-Token": {"to-app"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []any{ActorType}, reply["entities"])
	assert.Equal(t, "10m0s", reply["actorIdleTimeout"])

	status, _ = doJSON(t, svc.client, "GET", appURL+"/healthz", "", nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, svc.activations(t, "").Activations, "a refused call activates nothing")
}

func TestServiceReportsSidecarFailures(t *testing.T) {
	fake := newFakeSidecar(t)
	svc := startService(t, fake, nil)
	fake.setStateStatus(http.StatusInternalServerError)

	status, reply := svc.call(t, "GET", "/artifactState/getAllStates?artifactId=1&userId=a", "")

	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, "ERR_SIDECAR", reply["errorCode"])
	assert.Contains(t, reply["message"], "ERR_ACTOR_INVOKE_METHOD")
	assert.Contains(t, reply["message"], "injected state failure")
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	fake := newFakeSidecar(t)
	opts := DefaultOptions()
	opts.HTTPPort, opts.AppPort, opts.ListenHost = 0, 0, "127.0.0.1"
	opts.DaprHTTPPort = fake.port()
	opts.Logger = slog.New(slog.DiscardHandler)
	ready := make(chan Addrs) // unbuffered: Run must wait for the receive
	opts.Ready = ready

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	addrs := <-ready

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
	for _, addr := range []string{addrs.HTTP, addrs.App} {
		_, err := net.DialTimeout("tcp", addr, time.Second)
		assert.Error(t, err, "%s still accepts connections", addr)
	}
}

func TestRunFailsWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	opts := DefaultOptions()
	opts.HTTPPort, opts.ListenHost = 0, "127.0.0.1"
	opts.AppPort = taken.Addr().(*net.TCPAddr).Port
	opts.Logger = slog.New(slog.DiscardHandler)
	ready := make(chan Addrs, 1)
	opts.Ready = ready

	err = Run(context.Background(), opts)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen for actor callbacks")
	assert.Empty(t, ready, "nothing is reported ready when Run fails")
}

func TestRunRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.HTTPPort = 70000 }, "HTTPPort 70000 is out of range"},
		{func(o *Options) { o.AppPort = o.HTTPPort }, "must differ"},
		{func(o *Options) { o.DaprHost = "" }, "DaprHost is empty"},
		{func(o *Options) { o.DaprHTTPPort = 0 }, "DaprHTTPPort 0 is out of range"},
		{func(o *Options) { o.ActorIdleTimeout = time.Millisecond }, "ActorIdleTimeout"},
		{func(o *Options) { o.CallTimeout = 0 }, "CallTimeout"},
		{func(o *Options) { o.ShutdownTimeout = -1 }, "ShutdownTimeout"},
		{func(o *Options) { o.SidecarConns = 0 }, "SidecarConns"},
		{func(o *Options) { o.ActivationLogSize = -1 }, "ActivationLogSize"},
	}
	for _, tt := range tests {
		opts := DefaultOptions()
		tt.change(&opts)

		err := Run(context.Background(), opts)

		require.Error(t, err, tt.want)
		assert.Contains(t, err.Error(), tt.want)
	}
	require.NoError(t, DefaultOptions().Validate())
}

// service is an artifact service started by startService.
type service struct {
	addrs  Addrs
	client *http.Client
}

// startService runs the service against fake on loopback ports chosen by the kernel and
// stops it, checking Run returned nil, when the test ends. configure may adjust options.
func startService(t *testing.T, fake *fakeSidecar, configure func(*Options)) *service {
	t.Helper()

	opts := DefaultOptions()
	opts.HTTPPort, opts.AppPort, opts.ListenHost = 0, 0, "127.0.0.1"
	opts.DaprHTTPPort = fake.port()
	opts.DaprAPIToken, opts.AppAPIToken = fake.apiToken, fake.appToken
	opts.Logger = slog.New(slog.DiscardHandler)
	ready := make(chan Addrs, 1)
	opts.Ready = ready
	if configure != nil {
		configure(&opts)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()

	svc := &service{client: &http.Client{}}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		svc.client.CloseIdleConnections()
	})

	select {
	case svc.addrs = <-ready:
	case err := <-done:
		t.Fatalf("Run returned before it was ready: %v", err)
	}
	fake.setApp(svc.addrs.App)
	return svc
}

// call sends a request to the public API and returns the status and decoded JSON body.
func (s *service) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return doJSON(t, s.client, method, "http://"+s.addrs.HTTP+path, body, nil)
}

// activations reads the service's activation log, of one actor or of all when actorID is
// empty.
func (s *service) activations(t *testing.T, actorID string) ActivationReport {
	t.Helper()

	resp, err := s.client.Get("http://" + s.addrs.App + "/debug/activations?actorId=" + actorID)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var report ActivationReport
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&report))
	return report
}
