// Package testapp is an actor app for tests and benchmarks: it speaks the Dapr app
// callback contract, hosts configurable actor types, and records what the sidecar asked of
// it (calls in flight per actor, deactivations) so tests can check the sidecar's promises.
//
// Methods, for any hosted type:
//
//	echo        answers the body, with the request's headers echoed as X-Echo-<name>
//	noop        answers 200 with an empty body (the benchmark's no-state call)
//	slow        holds the call for the number of milliseconds in the body
//	inc         reads state key "count" through the sidecar, adds one and writes it back
//	readwrite   reads state key "value" and writes the body to it (the benchmark's state call)
//	reenter     calls its own actor's echo through the sidecar, passing the reentrancy id on
//	fail        answers 500 with the body
//	actorerror  answers 200 with X-DaprErrorResponseHeader
//	created     answers 201
//	incop       an idempotent increment: the body is an operation id; an id seen before
//	            answers the value it got then (see IncrementOnce)
//	count       answers the counter that incop maintains
package testapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// App is a running test app.
type App struct {
	// Config is the /dapr/config answer.
	Config []byte

	// SidecarURL is the sidecar's HTTP API, for methods that call back (e.g.
	// "http://127.0.0.1:3500"). Set it before the first such call.
	SidecarURL string

	client *http.Client
	server *http.Server
	ln     net.Listener

	// mu guards the fields below.
	mu            sync.Mutex
	inFlight      map[string]int
	maxInFlight   map[string]int
	deactivations []string
	active        map[string]bool
	calls         int
	total         int
	maxTotal      int
	turns         []Turn
	callbacks     []Callback
}

// Start serves a test app on a free loopback port, hosting types with the given config.
func Start(config []byte) (*App, error) { return StartOn("127.0.0.1:0", config) }

// StartOn serves a test app on addr.
func StartOn(addr string, config []byte) (*App, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	a := &App{
		Config:      config,
		client:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		ln:          ln,
		inFlight:    make(map[string]int),
		active:      make(map[string]bool),
		maxInFlight: make(map[string]int),
	}
	a.server = &http.Server{Handler: a.routes()}
	go a.server.Serve(ln)
	return a, nil
}

// Port returns the app's port.
func (a *App) Port() int { return a.ln.Addr().(*net.TCPAddr).Port }

// Close stops the app.
func (a *App) Close() { a.server.Close() }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(a.Config)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("PUT /actors/{type}/{id}/method/{method...}", a.method)
	mux.HandleFunc("DELETE /actors/{type}/{id}", a.deactivate)
	mux.HandleFunc("GET /debug/status", a.status)
	mux.HandleFunc("GET /debug/callbacks", a.serveCallbacks)
	mux.HandleFunc("GET /debug/turns", a.listTurns)
	return mux
}

func actorName(r *http.Request) string {
	return r.PathValue("type") + "/" + r.PathValue("id")
}

func (a *App) method(w http.ResponseWriter, r *http.Request) {
	name := actorName(r)
	a.enter(name)
	defer a.leave(name)

	body, _ := io.ReadAll(r.Body)
	if a.scheduled(w, r, body) {
		return
	}
	switch r.PathValue("method") {
	case "noop":
	case "echo":
		for k, v := range r.Header {
			w.Header()["X-Echo-"+k] = v
		}
		w.Write(body)
	case "slow":
		ms, _ := strconv.Atoi(string(body))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case "inc":
		a.inc(w, r)
	case "readwrite":
		a.readWrite(w, r, body)
	case "reenter":
		a.reenter(w, r)
	case "fail":
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(body)
	case "actorerror":
		w.Header().Set("X-DaprErrorResponseHeader", "true")
		w.Write([]byte(`{"error":"boom"}`))
	case "created":
		w.WriteHeader(http.StatusCreated)
	case "incop":
		a.incrementOnce(w, r, string(body))
	case "count":
		a.count(w, r)
	default:
		http.Error(w, "unknown method", http.StatusNotFound)
	}
}

func (a *App) enter(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.active[name] = true
	a.total++
	a.maxTotal = max(a.maxTotal, a.total)
	a.inFlight[name]++
	a.maxInFlight[name] = max(a.maxInFlight[name], a.inFlight[name])
}

func (a *App) leave(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	a.inFlight[name]--
}

// MaxInFlightTotal returns the most calls that were in flight at once over all actors.
func (a *App) MaxInFlightTotal() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxTotal
}

func (a *App) deactivate(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deactivations = append(a.deactivations, actorName(r))
	delete(a.active, actorName(r))
}

// Active returns the actors that received a call and no deactivation since, as
// "type/id".
func (a *App) Active() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.active))
	for name := range a.active {
		names = append(names, name)
	}
	return names
}

// Status is the test app's report at GET /debug/status.
type Status struct {
	Active        []string `json:"active"`
	Deactivations int      `json:"deactivations"`
	Calls         int      `json:"calls"`
	MaxInFlight   int      `json:"maxInFlight"`
}

func (a *App) status(w http.ResponseWriter, _ *http.Request) {
	st := Status{Active: a.Active()}
	a.mu.Lock()
	st.Deactivations, st.Calls = len(a.deactivations), a.calls
	for _, n := range a.maxInFlight {
		st.MaxInFlight = max(st.MaxInFlight, n)
	}
	a.mu.Unlock()
	json.NewEncoder(w).Encode(st)
}

// MaxInFlight returns the most calls that were in flight at once for actor "type/id".
func (a *App) MaxInFlight(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxInFlight[name]
}

// Deactivations returns the actors the sidecar deactivated, as "type/id", in order.
func (a *App) Deactivations() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.deactivations...)
}

// Calls returns the number of method calls received.
func (a *App) Calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// actorURL is the sidecar's URL of the actor a request addresses.
func (a *App) actorURL(r *http.Request) string {
	return a.SidecarURL + "/v1.0/actors/" + url.PathEscape(r.PathValue("type")) + "/" +
		url.PathEscape(r.PathValue("id"))
}

func (a *App) stateURL(r *http.Request) string { return a.actorURL(r) + "/state" }

func (a *App) inc(w http.ResponseWriter, r *http.Request) {
	current, err := a.getState(r.Context(), a.stateURL(r)+"/count")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n := 0
	if len(current) > 0 {
		n, _ = strconv.Atoi(string(current))
	}
	n++

	if err := a.setState(r.Context(), a.stateURL(r), "count", strconv.Itoa(n)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write([]byte(strconv.Itoa(n)))
}

func (a *App) readWrite(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, err := a.getState(r.Context(), a.stateURL(r)+"/value"); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if len(body) == 0 {
		body = []byte(`0`)
	}
	if err := a.setState(r.Context(), a.stateURL(r), "value", string(body)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (a *App) getState(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getting state: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return nil, fmt.Errorf("getting state: %d %s", resp.StatusCode, body)
	}
	return body, nil
}

func (a *App) setState(ctx context.Context, url, key, jsonValue string) error {
	keyJSON, _ := json.Marshal(key)
	body := `[{"operation":"upsert","request":{"key":` + string(keyJSON) + `,"value":` +
		jsonValue + `}}]`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("saving state: %d %s", resp.StatusCode, msg)
	}
	return nil
}

// reenter calls the same actor's echo method through the sidecar, carrying the
// reentrancy id, and answers with what that call answered.
func (a *App) reenter(w http.ResponseWriter, r *http.Request) {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, a.actorURL(r)+"/method/echo",
		strings.NewReader("nested"))
	if rid := r.Header.Get("Dapr-Reentrancy-Id"); rid != "" {
		req.Header.Set("Dapr-Reentrancy-Id", rid)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}
