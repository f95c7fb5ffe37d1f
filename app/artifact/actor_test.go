package artifact

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestHost returns an actor host whose state calls go to fake, served on a test
// server that fake forwards method calls to.
func newTestHost(t *testing.T, fake *fakeSidecar, appToken string) *actorHost {
	t.Helper()

	sidecar := newSidecarClient("127.0.0.1", fake.port(), fake.apiToken, 4, 5*time.Second)
	host := &actorHost{
		sidecar:     sidecar,
		activations: newActivationLog(100, time.Now),
		idleTimeout: 90 * time.Second,
		appToken:    appToken,
		logger:      slog.New(slog.DiscardHandler),
	}

	server := httptest.NewServer(host.handler())
	t.Cleanup(func() {
		server.Close()
		sidecar.close()
	})
	fake.setApp(strings.TrimPrefix(server.URL, "http://"))
	return host
}

// serve runs one request through h and returns the recorded response.
func serveRecorded(h http.Handler, method, target string, header http.Header,
) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestConfigAnnouncesTheActorType(t *testing.T) {
	host := newTestHost(t, newFakeSidecar(t), "")

	rec := serveRecorded(host.handler(), http.MethodGet, "/dapr/config", nil)

	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{
		"entities": ["ArtifactState"],
		"actorIdleTimeout": "1m30s",
		"drainOngoingCallTimeout": "30s",
		"drainRebalancedActors": true
	}`, rec.Body.String())
}

func TestCallbacksRequireTheAppToken(t *testing.T) {
	host := newTestHost(t, newFakeSidecar(t), "s3cret")
	h := host.handler()
	good := http.Header{"Dapr-Api-Token": {"s3cret"}}
	bad := http.Header{"Dapr-Api-Token": {"s3cre"}}

	tests := []struct {
		method, path string
		header       http.Header
		want         int
	}{
		{http.MethodGet, "/dapr/config", nil, http.StatusUnauthorized},
		{http.MethodGet, "/dapr/config", bad, http.StatusUnauthorized},
		{http.MethodGet, "/dapr/config", good, http.StatusOK},
		{http.MethodPut, "/actors/ArtifactState/1_a/method/nope", nil, http.StatusUnauthorized},
		{http.MethodPut, "/actors/ArtifactState/1_a/method/nope", good, http.StatusNotFound},
		{http.MethodDelete, "/actors/ArtifactState/1_a", bad, http.StatusUnauthorized},
		{http.MethodDelete, "/actors/ArtifactState/1_a", good, http.StatusOK},
		// The sidecar's health probe carries no token; the debug log needs none.
		{http.MethodGet, "/healthz", nil, http.StatusOK},
		{http.MethodGet, "/debug/activations", nil, http.StatusOK},
	}
	for _, tt := range tests {
		rec := serveRecorded(h, tt.method, tt.path, tt.header)
		assert.Equal(t, tt.want, rec.Code, "%s %s with %v", tt.method, tt.path, tt.header)
		if tt.want == http.StatusUnauthorized {
			assert.Contains(t, rec.Body.String(), "ERR_UNAUTHORIZED")
		}
	}
}

func TestCallbackErrors(t *testing.T) {
	host := newTestHost(t, newFakeSidecar(t), "")
	h := host.handler()

	tests := []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{http.MethodPut, "/actors/Other/1_a/method/getAllStates",
			http.StatusNotFound, "ERR_UNKNOWN_ACTOR_TYPE", `actor type "Other" is not hosted`},
		{http.MethodPut, "/actors/ArtifactState/1_a/method/explode",
			http.StatusNotFound, "ERR_UNKNOWN_METHOD", `no method "explode"; methods: isArtifactReadByUser`},
		{http.MethodPut, "/actors/ArtifactState/01_a/method/getAllStates",
			http.StatusBadRequest, "ERR_INVALID_ACTOR_ID", `actor id "01_a"`},
		{http.MethodPut, "/actors/ArtifactState/1_a%2Fb/method/getAllStates",
			http.StatusBadRequest, "ERR_INVALID_ACTOR_ID", "must be escaped"},
		{http.MethodGet, "/actors/ArtifactState/1_a/method/getAllStates",
			http.StatusMethodNotAllowed, "ERR_METHOD_NOT_ALLOWED", "GET is not allowed"},
		{http.MethodPut, "/actors/ArtifactState/1_a/method/remind/r1",
			http.StatusNotFound, "ERR_NOT_FOUND", "no route"},
	}
	for _, tt := range tests {
		rec := serveRecorded(h, tt.method, tt.path, nil)
		assert.Equal(t, tt.status, rec.Code, "%s %s", tt.method, tt.path)

		body := decodeError(t, rec)
		assert.Equal(t, tt.code, body.ErrorCode, tt.path)
		assert.Contains(t, body.Message, tt.msg, tt.path)
	}
}

func TestActorMethodsReadAndWriteStateThroughTheSidecar(t *testing.T) {
	fake := newFakeSidecar(t)
	newTestHost(t, fake, "")
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)

	invoke := func(method string) map[string]any {
		url := fake.server.URL + "/v1.0/actors/ArtifactState/7_ann~20lee/method/" + method
		status, reply := doJSON(t, client, http.MethodPut, url, "", nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", method, reply)
		return reply
	}
	states := func() map[string]any { return invoke(MethodGetAllStates) }
	want := func(read, inFeed bool) map[string]any {
		return map[string]any{"artifactId": 7.0, "userId": "ann lee",
			"artifactRead": read, "artifactInUserFeed": inFeed}
	}
	answer := func(v bool) map[string]any {
		return map[string]any{"artifactId": 7.0, "userId": "ann lee", "answer": v}
	}
	success := map[string]any{"success": true}

	assert.Equal(t, want(false, false), states())
	assert.Equal(t, answer(false), invoke(MethodIsArtifactReadByUser))
	assert.Equal(t, answer(false), invoke(MethodIsArtifactInUserFeed))

	assert.Equal(t, success, invoke(MethodSetArtifactReadByUser))
	assert.Equal(t, want(true, false), states())
	assert.Equal(t, answer(true), invoke(MethodIsArtifactReadByUser))

	assert.Equal(t, success, invoke(MethodSetArtifactAddedToUserFeed))
	assert.Equal(t, want(true, true), states())
	assert.Equal(t, answer(true), invoke(MethodIsArtifactInUserFeed))

	assert.Equal(t, success, invoke(MethodSetArtifactRemovedFromUserFeed))
	assert.Equal(t, want(true, false), states())
	assert.Equal(t, answer(false), invoke(MethodIsArtifactInUserFeed))
}

func TestActorWritesStateOnlyWhenItChanges(t *testing.T) {
	fake := newFakeSidecar(t)
	newTestHost(t, fake, "")
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)

	steps := []struct {
		method     string
		wantWrites int
	}{
		{MethodSetArtifactRemovedFromUserFeed, 0}, // already false
		{MethodGetAllStates, 0},
		{MethodSetArtifactReadByUser, 1},
		{MethodSetArtifactReadByUser, 1},
		{MethodSetArtifactAddedToUserFeed, 2},
		{MethodSetArtifactAddedToUserFeed, 2},
		{MethodSetArtifactRemovedFromUserFeed, 3},
	}
	for _, step := range steps {
		url := fake.server.URL + "/v1.0/actors/ArtifactState/1_a/method/" + step.method
		status, reply := doJSON(t, client, http.MethodPut, url, "", nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", step.method, reply)
		assert.Equal(t, step.wantWrites, fake.writeCount(), "after %s", step.method)
	}
}

func TestActorReportsStateFailures(t *testing.T) {
	fake := newFakeSidecar(t)
	newTestHost(t, fake, "")
	fake.setStateStatus(http.StatusInternalServerError)
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)

	url := fake.server.URL + "/v1.0/actors/ArtifactState/1_a/method/getAllStates"
	status, reply := doJSON(t, client, http.MethodPut, url, "", nil)

	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "ERR_ACTOR_INVOKE_METHOD", reply["errorCode"])
	assert.Contains(t, reply["message"], "ERR_ACTOR_STATE")
	assert.Contains(t, reply["message"], "read state of actor 1_a")
	assert.Contains(t, reply["message"], "injected state failure")
}
