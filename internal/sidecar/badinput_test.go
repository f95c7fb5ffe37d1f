package sidecar_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadInputGetsContractErrorsAndChangesNothing(t *testing.T) {
	e := startEnv(t, withMaxBody(1024))
	require.Equal(t, 200, e.invoke("Counter", "victim", "echo", "").status)
	require.Equal(t, 204, e.transact("Counter", "victim", upsert("k", `"safe"`)).status)

	cases := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"malformed json", "POST", "/v1.0/actors/Counter/victim/state", `[{"operation":`,
			400, "ERR_MALFORMED_REQUEST"},
		{"empty body", "POST", "/v1.0/actors/Counter/victim/state", ``,
			400, "ERR_MALFORMED_REQUEST"},
		{"object body", "PUT", "/v1.0/actors/Counter/victim/state", `{"key":"k"}`,
			400, "ERR_MALFORMED_REQUEST"},
		{"unknown operation", "POST", "/v1.0/actors/Counter/victim/state",
			`[{"operation":"merge","request":{"key":"k","value":1}}]`,
			500, "ERR_ACTOR_STATE_TRANSACTION_SAVE"},
		{"oversized state body", "POST", "/v1.0/actors/Counter/victim/state",
			upsert("k", `"`+strings.Repeat("x", 2048)+`"`), 413, "ERR_BODY_TOO_LARGE"},
		{"oversized invoke body", "POST", "/v1.0/actors/Counter/victim/method/echo",
			strings.Repeat("x", 2048), 413, "ERR_BODY_TOO_LARGE"},
		{"unknown actor type", "POST", "/v1.0/actors/Ghost/victim/method/echo", "",
			500, "ERR_ACTOR_INVOKE_METHOD"},
		{"state of unknown type", "GET", "/v1.0/actors/Ghost/victim/state/k", "",
			400, "ERR_ACTOR_INSTANCE_MISSING"},
		{"empty id", "POST", "/v1.0/actors/Counter//method/echo", "", 404, "ERR_NOT_FOUND"},
		{"very long id", "POST", "/v1.0/actors/Counter/" + strings.Repeat("a", 5000) +
			"/method/echo", "", 400, "ERR_BAD_REQUEST"},
		{"wrong verb on method", "PATCH", "/v1.0/actors/Counter/victim/method/echo", "",
			405, "ERR_METHOD_NOT_ALLOWED"},
		{"wrong verb on state", "DELETE", "/v1.0/actors/Counter/victim/state", "",
			405, "ERR_METHOD_NOT_ALLOWED"},
		{"unknown path", "GET", "/v1.0/nothing", "", 404, "ERR_NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireAPIError(t, e.do(tc.method, tc.path, tc.body), tc.status, tc.code)
		})
	}

	// Go's HTTP server refuses a malformed escape before any handler runs: a plain 400.
	require.Equal(t, 400, e.do("POST", "/v1.0/actors/Counter/a%zz/method/echo", "").status)

	require.Equal(t, `"safe"`, e.getState("Counter", "victim", "k").body)
	require.Equal(t, 200, e.invoke("Counter", "victim", "echo", "").status, "still serving")
}

func TestUnusualIDsAreOpaque(t *testing.T) {
	e := startEnv(t)
	for _, id := range []string{"a/b", "ünïcödé-✓", "with space", "x%y"} {
		r := e.invoke("Counter", url.PathEscape(id), "inc", "")
		require.Equal(t, 200, r.status, "%s: %s", id, r.body)
		require.Equal(t, "1", r.body, id)
		require.Equal(t, "1", e.getState("Counter", url.PathEscape(id), "count").body)
		require.Equal(t, 1, countKeys(t, e, "testapp||Counter||"+id+"||count"), id)
	}
}

func TestAPIToken(t *testing.T) {
	e := startEnv(t, withToken("s3cret"))

	for _, token := range []string{"", "wrong"} {
		r := e.invoke("Counter", "t", "echo", "", "dapr-api-token", token)
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, "invalid api token\n", r.body)
	}
	require.Zero(t, e.app.Calls(), "no call reached the app without the token")

	r := e.invoke("Counter", "t", "echo", "", "dapr-api-token", "s3cret")
	require.Equal(t, 200, r.status)
	require.Empty(t, r.header.Get("X-Echo-Dapr-Api-Token"), "the token is not passed to the app")

	require.Equal(t, 204, e.do("GET", "/v1.0/healthz", "").status, "health needs no token")
	require.Equal(t, 204, e.do("GET", "/v1.0/healthz/outbound", "").status)
}
