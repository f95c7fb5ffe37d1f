package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/actors"
)

// noRuntime is an API whose runtime never becomes ready: the requests below must be
// answered from their input alone.
func noRuntime() http.Handler {
	return New(Options{
		Runtime: func(context.Context) (*actors.Runtime, error) {
			return nil, errors.New("not ready")
		},
		Ready:    func() bool { return false },
		Metadata: func() ActorRuntimeStatus { return ActorRuntimeStatus{} },
	})
}

func TestScheduleRequestsRejectedBeforeTheRuntime(t *testing.T) {
	h := noRuntime()
	const actor = "/v1.0/actors/T/a/"
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodPut, actor + "reminders/r", "", 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodPost, actor + "reminders/r", "[1]", 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodPut, actor + "reminders/r", `{"period":1}`, 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodPut, actor + "reminders/r", `{} {}`, 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodPut, actor + "timers/t", " ", 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodDelete, actor + "reminders/r", "{", 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodDelete, actor + "timers/t", "nope", 400, "ERR_MALFORMED_REQUEST"},
		{http.MethodPut, actor + "reminders/" + strings.Repeat("n", maxIDLength+1), "{}", 400,
			"ERR_BAD_REQUEST"},
		{http.MethodPatch, actor + "reminders/r", "{}", 405, "ERR_METHOD_NOT_ALLOWED"},
		{http.MethodGet, actor + "timers/t", "", 405, "ERR_METHOD_NOT_ALLOWED"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "%s %s %q: %s", tc.method, tc.path, tc.body,
			rec.Body)
		require.Contains(t, rec.Body.String(), `"errorCode":"`+tc.code+`"`)
	}
}

func TestScheduleRequestsWaitForTheRuntime(t *testing.T) {
	rec := httptest.NewRecorder()
	noRuntime().ServeHTTP(rec, httptest.NewRequest(http.MethodPut,
		"/v1.0/actors/T/a/reminders/r", strings.NewReader(`{"period":"1s"}`)))
	require.Equal(t, 500, rec.Code)
	require.Contains(t, rec.Body.String(), "ERR_ACTOR_RUNTIME_NOT_FOUND")
}
