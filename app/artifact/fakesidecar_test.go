package artifact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
)

// fakeSidecar implements the three sidecar endpoints the app uses, the way daprd does:
// method calls run one at a time per actor and are forwarded to the app as PUT, non-200
// app replies become 500 ERR_ACTOR_INVOKE_METHOD, and state may only be touched while the
// actor is active here. It stands in for the sidecar only in this package's tests.
type fakeSidecar struct {
	t      *testing.T
	server *httptest.Server
	client *http.Client
	// apiToken, when set, must arrive as dapr-api-token from the app.
	apiToken string
	// appToken, when set, is sent as dapr-api-token on every call to the app.
	appToken string

	mu sync.Mutex // guards the fields below
	// appURL is the app's callback base URL, set once the app is listening.
	appURL string
	// turns serialises calls per actor key, as the sidecar's turn-based locking does.
	turns  map[string]*sync.Mutex
	active map[string]bool
	state  map[string][]byte
	writes int
	// stateStatus, when non-zero, is what the state endpoints answer instead of working.
	stateStatus int
}

func newFakeSidecar(t *testing.T) *fakeSidecar {
	f := &fakeSidecar{
		t:      t,
		client: &http.Client{},
		turns:  make(map[string]*sync.Mutex),
		active: make(map[string]bool),
		state:  make(map[string][]byte),
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1.0/actors/{type}/{id}/method/{method}", f.invoke)
	mux.HandleFunc("GET /v1.0/actors/{type}/{id}/state/{key}", f.getState)
	mux.HandleFunc("POST /v1.0/actors/{type}/{id}/state", f.saveState)
	mux.HandleFunc("PUT /v1.0/actors/{type}/{id}/state", f.saveState)
	f.server = httptest.NewServer(f.requireToken(mux))

	t.Cleanup(func() {
		f.server.Close()
		f.client.CloseIdleConnections()
	})
	return f
}

// port is the fake's HTTP API port, for Options.DaprHTTPPort.
func (f *fakeSidecar) port() int {
	u, err := url.Parse(f.server.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		f.t.Fatal(err)
	}
	return port
}

func (f *fakeSidecar) setApp(appAddr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appURL = "http://" + appAddr
}

func (f *fakeSidecar) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.apiToken != "" && r.Header.Get("dapr-api-token") != f.apiToken {
			http.Error(w, "invalid api token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *fakeSidecar) invoke(w http.ResponseWriter, r *http.Request) {
	key := actorKey(r)
	unlock := f.takeTurn(key)
	defer unlock()

	f.mu.Lock()
	f.active[key] = true
	target := fmt.Sprintf("%s/actors/%s/%s/method/%s", f.appURL,
		r.PathValue("type"), r.PathValue("id"), r.PathValue("method"))
	f.mu.Unlock()

	status, body, err := f.callApp(http.MethodPut, target, r.Body)
	if err != nil {
		writeFakeError(w, http.StatusInternalServerError, "ERR_ACTOR_INVOKE_METHOD", err.Error())
		return
	}
	if status != http.StatusOK {
		writeFakeError(w, http.StatusInternalServerError, "ERR_ACTOR_INVOKE_METHOD",
			"error invoke actor method: error from actor service: "+string(body))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// deactivate sends the app the DELETE the sidecar sends when an actor goes idle.
func (f *fakeSidecar) deactivate(actorType, actorID string) {
	key := actorType + "||" + actorID
	unlock := f.takeTurn(key)
	defer unlock()

	f.mu.Lock()
	target := fmt.Sprintf("%s/actors/%s/%s", f.appURL, actorType, actorID)
	f.active[key] = false
	f.mu.Unlock()

	status, body, err := f.callApp(http.MethodDelete, target, http.NoBody)
	if err != nil || status != http.StatusOK {
		f.t.Errorf("deactivate %s: status %d, body %q, error %v", key, status, body, err)
	}
}

func (f *fakeSidecar) callApp(method, target string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if f.appToken != "" {
		req.Header.Set("dapr-api-token", f.appToken)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()

	reply, err := io.ReadAll(resp.Body)
	return resp.StatusCode, reply, err
}

func (f *fakeSidecar) getState(w http.ResponseWriter, r *http.Request) {
	key := actorKey(r)
	if !f.checkStateAccess(w, key) {
		return
	}

	f.mu.Lock()
	value, found := f.state[key+"||"+r.PathValue("key")]
	f.mu.Unlock()

	if !found {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(value)
}

func (f *fakeSidecar) saveState(w http.ResponseWriter, r *http.Request) {
	key := actorKey(r)
	if !f.checkStateAccess(w, key) {
		return
	}

	var ops []struct {
		Operation string `json:"operation"`
		Request   struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
		writeFakeError(w, http.StatusBadRequest, "ERR_MALFORMED_REQUEST", err.Error())
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range ops {
		stateKey := key + "||" + op.Request.Key
		switch op.Operation {
		case "upsert":
			f.state[stateKey] = bytes.Clone(op.Request.Value)
		case "delete":
			delete(f.state, stateKey)
		default:
			writeFakeError(w, http.StatusInternalServerError, "ERR_ACTOR_STATE_TRANSACTION_SAVE",
				"operation type "+op.Operation+" not supported")
			return
		}
	}
	f.writes++
	w.WriteHeader(http.StatusNoContent)
}

// checkStateAccess answers the request and returns false when state may not be used.
func (f *fakeSidecar) checkStateAccess(w http.ResponseWriter, key string) bool {
	f.mu.Lock()
	active, status := f.active[key], f.stateStatus
	f.mu.Unlock()

	switch {
	case status != 0:
		writeFakeError(w, status, "ERR_ACTOR_STATE_GET", "injected state failure")
		return false
	case !active:
		writeFakeError(w, http.StatusBadRequest, "ERR_ACTOR_INSTANCE_MISSING",
			"actor instance is missing")
		return false
	}
	return true
}

func (f *fakeSidecar) takeTurn(key string) (unlock func()) {
	f.mu.Lock()
	turn, ok := f.turns[key]
	if !ok {
		turn = new(sync.Mutex)
		f.turns[key] = turn
	}
	f.mu.Unlock()

	turn.Lock()
	return turn.Unlock
}

func (f *fakeSidecar) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func (f *fakeSidecar) setStateStatus(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stateStatus = status
}

func actorKey(r *http.Request) string {
	return r.PathValue("type") + "||" + r.PathValue("id")
}

func writeFakeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{ErrorCode: code, Message: message})
}
