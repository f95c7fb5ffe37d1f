package artifact

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubSidecar answers every request with a fixed reply and records what it received.
type stubSidecar struct {
	server *httptest.Server
	status int
	reply  string
	// block, when set, makes the stub wait for the caller to give up.
	block bool

	mu    sync.Mutex // guards calls
	calls []*http.Request
}

func newStubSidecar(t *testing.T, status int, reply string) *stubSidecar {
	s := &stubSidecar{status: status, reply: reply}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Clone(r.Context()))
		s.mu.Unlock()

		if s.block {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.reply)
	}))
	t.Cleanup(s.server.Close)
	return s
}

func (s *stubSidecar) recorded() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.calls...)
}

// newTestAPI returns the public API handler calling the sidecar at sidecarURL.
func newTestAPI(t *testing.T, sidecarURL, token string, timeout time.Duration) http.Handler {
	t.Helper()

	u, err := url.Parse(sidecarURL)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)

	sidecar := newSidecarClient(u.Hostname(), port, token, 4, timeout)
	t.Cleanup(sidecar.close)
	return (&api{sidecar: sidecar, logger: slog.New(slog.DiscardHandler)}).handler()
}

func serveAPI(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAPICallsTheActorMethodOfTheSameName(t *testing.T) {
	const reply = `{"artifactId":42,"userId":"j smith","answer":true}`
	stub := newStubSidecar(t, http.StatusOK, reply)
	h := newTestAPI(t, stub.server.URL, "tok", time.Second)

	var requests int
	for _, method := range methodNames {
		targets := []struct{ verb, query, body string }{
			{http.MethodPost, "", `{"artifactId":42,"userId":"j smith"}`},
		}
		if !operations[method].isCommand() {
			targets = append(targets, struct{ verb, query, body string }{
				http.MethodGet, "?artifactId=42&userId=j%20smith", ""})
		}

		for _, tt := range targets {
			rec := serveAPI(h, tt.verb, "/artifactState/"+method+tt.query, tt.body)
			requests++

			require.Equal(t, http.StatusOK, rec.Code, "%s %s: %s", tt.verb, method, rec.Body)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Equal(t, reply, rec.Body.String(), "the actor's reply passes through")

			calls := stub.recorded()
			require.Len(t, calls, requests)
			call := calls[len(calls)-1]
			assert.Equal(t, http.MethodPut, call.Method)
			assert.Equal(t, "/v1.0/actors/ArtifactState/42_j~20smith/method/"+method,
				call.URL.Path)
			assert.Equal(t, "tok", call.Header.Get("dapr-api-token"))
		}
	}
}

func TestAPIRejectsBadRequests(t *testing.T) {
	stub := newStubSidecar(t, http.StatusOK, `{}`)
	h := newTestAPI(t, stub.server.URL, "", time.Second)
	const query = "/artifactState/" + MethodIsArtifactReadByUser
	const command = "/artifactState/" + MethodSetArtifactReadByUser

	tests := []struct {
		name, verb, target, body string
		wantMessage              string
	}{
		{"no query", "GET", query, "", "query parameter artifactId is required"},
		{"no user", "GET", query + "?artifactId=1", "", "query parameter userId is required"},
		{"empty user", "GET", query + "?artifactId=1&userId=", "", "userId must not be empty"},
		{"negative", "GET", query + "?artifactId=-1&userId=u", "",
			`artifactId must be a non-negative integer, got "-1"`},
		{"fraction", "GET", query + "?artifactId=1.5&userId=u", "", "non-negative integer"},
		{"word", "GET", query + "?artifactId=one&userId=u", "", "non-negative integer"},
		{"huge", "GET", query + "?artifactId=99999999999999999999&userId=u", "", "out of range"},
		{"twice", "GET", query + "?artifactId=1&artifactId=2&userId=u", "", "given 2 times"},
		{"bad escape", "GET", query + "?artifactId=1&userId=%zz", "", "query string"},
		{"long user", "GET", query + "?artifactId=1&userId=" + strings.Repeat("u", 1025), "",
			"userId is 1025 bytes long, the limit is 1024"},
		{"empty body", "POST", command, "", "request body is empty"},
		{"malformed", "POST", command, `{"artifactId":1,`, "request body is not valid JSON"},
		{"leading zero", "POST", command, `{"artifactId":007,"userId":"u"}`, "not valid JSON"},
		{"trailing", "POST", command, `{"artifactId":1,"userId":"u"} x`, "not valid JSON"},
		{"array", "POST", command, `[1]`, "request body must be a JSON object"},
		{"missing id", "POST", command, `{"userId":"u"}`, "artifactId is required"},
		{"null id", "POST", command, `{"artifactId":null,"userId":"u"}`,
			"artifactId is required"},
		{"string id", "POST", command, `{"artifactId":"1","userId":"u"}`,
			`artifactId must be a JSON number, got the string "1"`},
		{"negative id", "POST", command, `{"artifactId":-3,"userId":"u"}`,
			"non-negative integer"},
		{"float id", "POST", command, `{"artifactId":1.0,"userId":"u"}`, "non-negative integer"},
		{"exponent id", "POST", command, `{"artifactId":1e3,"userId":"u"}`,
			"non-negative integer"},
		{"missing user", "POST", command, `{"artifactId":1}`, "userId is required"},
		{"number user", "POST", command, `{"artifactId":1,"userId":5}`,
			"userId must be a JSON string, got 5"},
		{"empty user body", "POST", command, `{"artifactId":1,"userId":""}`,
			"userId must not be empty"},
		{"oversized", "POST", command,
			`{"artifactId":1,"userId":"u","pad":"` + strings.Repeat("x", MaxRequestBody) + `"}`,
			"request body is larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveAPI(h, tt.verb, tt.target, tt.body)

			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, "ERR_BAD_REQUEST", decodeError(t, rec).ErrorCode)
			assert.Contains(t, decodeError(t, rec).Message, tt.wantMessage)
		})
	}
	assert.Empty(t, stub.recorded(), "no bad request may reach the sidecar")
}

// Extra fields are ignored, as the original service did, and ids are canonicalised.
func TestAPIIgnoresExtraFields(t *testing.T) {
	stub := newStubSidecar(t, http.StatusOK, `{"success":true}`)
	h := newTestAPI(t, stub.server.URL, "", time.Second)

	rec := serveAPI(h, http.MethodPost, "/artifactState/"+MethodSetArtifactReadByUser,
		` {"userId":"u","artifactId":7,"comment":"ignored"} `)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	rec = serveAPI(h, http.MethodGet, "/artifactState/"+MethodGetAllStates+
		"?artifactId=007&userId=u&extra=1", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	calls := stub.recorded()
	require.Len(t, calls, 2)
	assert.Equal(t, "/v1.0/actors/ArtifactState/7_u/method/setArtifactReadByUser",
		calls[0].URL.Path)
	assert.Equal(t, "/v1.0/actors/ArtifactState/7_u/method/getAllStates", calls[1].URL.Path)
}

func TestAPIRejectsWrongVerbsAndUnknownPaths(t *testing.T) {
	stub := newStubSidecar(t, http.StatusOK, `{}`)
	h := newTestAPI(t, stub.server.URL, "", time.Second)

	tests := []struct {
		verb, path string
		status     int
		code       string
		allow      string
	}{
		{"GET", "/artifactState/setArtifactReadByUser", 405, "ERR_METHOD_NOT_ALLOWED", "POST"},
		{"PUT", "/artifactState/getAllStates", 405, "ERR_METHOD_NOT_ALLOWED", "GET, POST"},
		{"DELETE", "/artifactState/setArtifactRemovedFromUserFeed", 405,
			"ERR_METHOD_NOT_ALLOWED", "POST"},
		{"GET", "/artifactState/deleteEverything", 404, "ERR_NOT_FOUND", ""},
		{"GET", "/", 404, "ERR_NOT_FOUND", ""},
	}
	for _, tt := range tests {
		rec := serveAPI(h, tt.verb, tt.path, "")

		assert.Equal(t, tt.status, rec.Code, "%s %s", tt.verb, tt.path)
		assert.Equal(t, tt.code, decodeError(t, rec).ErrorCode, "%s %s", tt.verb, tt.path)
		assert.Equal(t, tt.allow, rec.Header().Get("Allow"), "%s %s", tt.verb, tt.path)
	}
	assert.Empty(t, stub.recorded())
}

func TestAPIReportsSidecarErrorsAsBadGateway(t *testing.T) {
	stub := newStubSidecar(t, http.StatusInternalServerError,
		`{"errorCode":"ERR_ACTOR_INVOKE_METHOD","message":"error invoke actor method: boom"}`)
	h := newTestAPI(t, stub.server.URL, "", time.Second)

	rec := serveAPI(h, http.MethodGet, "/artifactState/getAllStates?artifactId=1&userId=u", "")

	assert.Equal(t, http.StatusBadGateway, rec.Code)
	body := decodeError(t, rec)
	assert.Equal(t, "ERR_SIDECAR", body.ErrorCode)
	assert.Equal(t, "actor 1_u method getAllStates: sidecar answered 500 "+
		"ERR_ACTOR_INVOKE_METHOD: error invoke actor method: boom", body.Message)
}

func TestAPIReportsAnUnreachableSidecarAsBadGateway(t *testing.T) {
	stub := newStubSidecar(t, http.StatusOK, `{}`)
	sidecarURL := stub.server.URL
	stub.server.Close()
	h := newTestAPI(t, sidecarURL, "", time.Second)

	rec := serveAPI(h, http.MethodGet, "/artifactState/getAllStates?artifactId=1&userId=u", "")

	assert.Equal(t, http.StatusBadGateway, rec.Code)
	body := decodeError(t, rec)
	assert.Equal(t, "ERR_SIDECAR", body.ErrorCode)
	assert.Contains(t, body.Message, "connection refused")
}

func TestAPIReportsASlowSidecarAsGatewayTimeout(t *testing.T) {
	stub := newStubSidecar(t, http.StatusOK, `{}`)
	stub.block = true
	h := newTestAPI(t, stub.server.URL, "", 50*time.Millisecond)

	rec := serveAPI(h, http.MethodGet, "/artifactState/getAllStates?artifactId=1&userId=u", "")

	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.Equal(t, "ERR_SIDECAR_TIMEOUT", decodeError(t, rec).ErrorCode)
}

// FuzzEntityFromJSON checks that no body crashes the parser and that every accepted body
// names a valid entity.
func FuzzEntityFromJSON(f *testing.F) {
	f.Add([]byte(`{"artifactId":1,"userId":"u"}`))
	f.Add([]byte(`{"artifactId":-1,"userId":""}`))
	f.Add([]byte(`{"artifactId":"1","userId":1}`))
	f.Add([]byte(`[{"artifactId":1}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := entityFromJSON(body)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted %q as invalid entity %+v: %v", body, e, err)
		}
		if _, err := ParseActorID(e.ActorID()); err != nil {
			t.Fatalf("accepted %q but its actor id does not parse: %v", body, err)
		}
	})
}
