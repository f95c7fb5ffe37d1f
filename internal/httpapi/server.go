// Package httpapi is the sidecar's HTTP front end: Dapr's actor API (/v1.0/actors/...),
// health and metadata, routed with gorilla/mux. It only translates HTTP to calls on the
// actor runtime and errors to the contract's {"errorCode","message"} shape.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// maxIDLength bounds actor types, ids, method names and state keys.
const maxIDLength = 4096

// readinessWait is how long an actor call waits for the runtime to finish starting.
const readinessWait = 10 * time.Second

// Options configures the HTTP API.
type Options struct {
	// AppID is this sidecar's app id.
	AppID string

	// Token, when not empty, must come with every request as dapr-api-token
	// (DAPR_API_TOKEN); health endpoints are exempt.
	Token string

	// MaxBodySize bounds request bodies.
	MaxBodySize int64

	// Runtime returns the actor runtime, waiting until it is ready or ctx ends.
	Runtime func(ctx context.Context) (*actors.Runtime, error)

	// Ready reports whether the sidecar has finished starting (app reachable, config read).
	Ready func() bool

	// Metadata returns the actor part of GET /v1.0/metadata.
	Metadata func() ActorRuntimeStatus

	// Middleware, when set, wraps every routed request (telemetry's tracing); it sees the
	// matched route and its variables.
	Middleware mux.MiddlewareFunc
}

// ActorRuntimeStatus is the actorRuntime object of the metadata answer.
type ActorRuntimeStatus struct {
	RuntimeStatus string        `json:"runtimeStatus"`
	ActiveActors  []ActiveCount `json:"activeActors"`
	HostReady     bool          `json:"hostReady"`
	Placement     string        `json:"placement"`

	// TableVersion is the committed placement table's version (0 in single-node mode);
	// it is reported under extended.placementTableVersion.
	TableVersion uint64 `json:"-"`
}

// ActiveCount is the number of active actors of one type; count is left out when zero, as
// daprd does.
type ActiveCount struct {
	Type  string `json:"type"`
	Count int    `json:"count,omitempty"`
}

type server struct {
	opts Options
}

// New returns the HTTP handler of the sidecar API.
func New(opts Options) http.Handler {
	s := &server{opts: opts}
	r := mux.NewRouter()
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	if opts.Middleware != nil {
		r.Use(opts.Middleware)
	}

	// Full paths rather than a subrouter: gorilla/mux answers a wrong verb on a subrouter
	// route with 404 instead of 405.
	const actor = "/v1.0/actors/{actorType}/{actorId}"
	r.HandleFunc(actor+"/method/{method}", s.actorRoute("method", invoke)).
		Methods(http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete)
	r.HandleFunc(actor+"/state/{key}", s.actorRoute("key", getState)).Methods(http.MethodGet)
	r.HandleFunc(actor+"/state", s.actorRoute("", transactState)).
		Methods(http.MethodPost, http.MethodPut)
	s.routeSchedules(r, actor)

	// The actor routes come first: mux tries routes in order, and they carry the load.
	r.HandleFunc("/v1.0/healthz", s.healthz).Methods(http.MethodGet)
	r.HandleFunc("/v1.0/healthz/outbound", s.healthzOutbound).Methods(http.MethodGet)
	r.HandleFunc("/v1.0/metadata", s.metadata).Methods(http.MethodGet)

	return s.authenticate(s.limitBody(r))
}

// authenticate enforces dapr-api-token and strips it, so it never reaches the app.
func (s *server) authenticate(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	token := []byte(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/healthz" || r.URL.Path == "/v1.0/healthz/outbound" {
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get("dapr-api-token")
		if subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			// daprd answers this one in plain text, not the JSON error shape.
			http.Error(w, "invalid api token", http.StatusUnauthorized)
			return
		}
		r.Header.Del("dapr-api-token")
		next.ServeHTTP(w, r)
	})
}

func (s *server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.MaxBodySize > 0 && r.ContentLength > s.opts.MaxBodySize {
			apierr.WriteHTTP(w, bodyTooLarge(s.opts.MaxBodySize))
			return
		}
		if s.opts.MaxBodySize > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodySize)
		}
		next.ServeHTTP(w, r)
	})
}

func bodyTooLarge(limit int64) error {
	return apierr.New(apierr.BodyTooLarge, "request body is larger than %d bytes", limit)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	apierr.WriteHTTP(w, apierr.New(apierr.NotFound, "no route for %s %s",
		r.Method, r.URL.EscapedPath()))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	apierr.WriteHTTP(w, apierr.New(apierr.MethodNotAllowed, "method %s is not allowed on %s",
		r.Method, r.URL.EscapedPath()))
}

// readBody reads the request body whole.
func readBody(r *http.Request) ([]byte, error) {
	var buf []byte
	if r.ContentLength > 0 {
		// One spare byte lets the final read see EOF without growing the buffer.
		buf = make([]byte, 0, r.ContentLength+1)
	}
	body, err := readAllInto(buf, r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, bodyTooLarge(tooLarge.Limit)
	}
	if err != nil {
		return nil, apierr.New(apierr.BadRequest, "reading request body: %v", err)
	}
	return body, nil
}

func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// actorPath is the actor and name addressed by a request, unescaped.
type actorPath struct {
	actorType string
	actorID   string
	name      string
}

// parseActorPath unescapes the path variables and checks their bounds. name is the
// variable after the actor (method or state key), if any.
func parseActorPath(r *http.Request, nameVar string) (actorPath, error) {
	vars := mux.Vars(r)
	var p actorPath
	var err error
	if p.actorType, err = pathVar(vars, "actorType"); err != nil {
		return p, err
	}
	if p.actorID, err = pathVar(vars, "actorId"); err != nil {
		return p, err
	}
	if nameVar != "" {
		p.name, err = pathVar(vars, nameVar)
	}
	return p, err
}

func pathVar(vars map[string]string, name string) (string, error) {
	v, err := url.PathUnescape(vars[name])
	switch {
	case err != nil:
		return "", apierr.New(apierr.BadRequest, "invalid %s: %v", name, err)
	case v == "":
		return "", apierr.New(apierr.BadRequest, "%s is empty", name)
	case len(v) > maxIDLength:
		return "", apierr.New(apierr.BadRequest, "%s is longer than %d bytes", name, maxIDLength)
	}
	return v, nil
}

// runtime waits for the actor runtime as daprd's readiness gate does.
func (s *server) runtime(r *http.Request) (*actors.Runtime, error) {
	if s.opts.Ready() {
		// The usual case: no readiness timer on the hot path.
		return s.opts.Runtime(r.Context())
	}
	ctx, cancel := context.WithTimeout(r.Context(), readinessWait)
	defer cancel()
	rt, err := s.opts.Runtime(ctx)
	if err != nil {
		return nil, apierr.New(apierr.ActorRuntimeNotFound,
			"the actor runtime is not ready: %v", err)
	}
	return rt, nil
}

// actorHandler reads and checks an actor request whose path is parsed, and returns the
// step that serves it once the runtime is ready. Bad input is thus refused at once, even
// while the runtime is still starting.
type actorHandler func(http.ResponseWriter, *http.Request, actorPath) (serve, error)

// serve answers a checked request with the runtime.
type serve func(*actors.Runtime) error

// actorRoute adapts h: it parses the path (nameVar names the variable after the actor, if
// any), runs h, waits for the runtime, serves, and writes any error in the contract's
// shape.
func (s *server) actorRoute(nameVar string, h actorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.serveActor(w, r, nameVar, h); err != nil {
			apierr.WriteHTTP(w, err)
		}
	}
}

func (s *server) serveActor(w http.ResponseWriter, r *http.Request, nameVar string, h actorHandler) error {
	p, err := parseActorPath(r, nameVar)
	if err != nil {
		return err
	}
	run, err := h(w, r, p)
	if err != nil {
		return err
	}
	rt, err := s.runtime(r)
	if err != nil {
		return err
	}
	return run(rt)
}

func invoke(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return func(rt *actors.Runtime) error {
		resp, err := rt.Invoke(r.Context(), &appchannel.Request{
			ActorType:   p.actorType,
			ActorID:     p.actorID,
			Path:        url.PathEscape(p.name),
			Body:        body,
			ContentType: r.Header.Get("Content-Type"),
			Query:       r.URL.RawQuery,
			Header:      r.Header,
		})
		if err != nil {
			return err
		}
		writeAppResponse(w, resp)
		return nil
	}, nil
}

// writeAppResponse passes the app's answer to the caller: headers, status and body.
func writeAppResponse(w http.ResponseWriter, resp *appchannel.Response) {
	h := w.Header()
	for name, values := range resp.Header {
		if !appchannel.SkipResponseHeader(name) {
			h[name] = values
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

func getState(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	return func(rt *actors.Runtime) error {
		value, found, err := rt.GetState(r.Context(), p.actorType, p.actorID, p.name)
		if err != nil {
			return err
		}
		if !found {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(value)
		return nil
	}, nil
}

func transactState(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	ops, err := ParseTransaction(body)
	if err != nil {
		return nil, err
	}
	return func(rt *actors.Runtime) error {
		return noContent(w, rt.TransactState(r.Context(), p.actorType, p.actorID, ops))
	}, nil
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	if appID := r.URL.Query().Get("appid"); appID != "" && appID != s.opts.AppID {
		apierr.WriteHTTP(w, apierr.New(apierr.HealthAppIDNotMatch,
			"dapr app-id does not match"))
		return
	}
	if !s.opts.Ready() {
		apierr.WriteHTTP(w, apierr.New(apierr.HealthNotReady, "dapr is not ready"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// healthzOutbound answers as soon as the API serves, before the app is reachable.
func (s *server) healthzOutbound(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

// metadataBody keeps daprd's field order.
type metadataBody struct {
	ID             string             `json:"id"`
	RuntimeVersion string             `json:"runtimeVersion"`
	Actors         []ActiveCount      `json:"actors"`
	Extended       map[string]string  `json:"extended"`
	ActorRuntime   ActorRuntimeStatus `json:"actorRuntime"`
}

// RuntimeVersion is the Dapr runtime version whose API troupe serves.
const RuntimeVersion = "1.14.0"

func (s *server) metadata(w http.ResponseWriter, _ *http.Request) {
	status := s.opts.Metadata()
	extended := map[string]string{"daprRuntimeVersion": RuntimeVersion, "runtime": "troupe"}
	if status.TableVersion > 0 {
		extended["placementTableVersion"] = strconv.FormatUint(status.TableVersion, 10)
	}
	body, err := json.Marshal(metadataBody{
		ID:             s.opts.AppID,
		RuntimeVersion: RuntimeVersion,
		Actors:         status.ActiveActors,
		Extended:       extended,
		ActorRuntime:   status,
	})
	if err != nil {
		apierr.WriteHTTP(w, fmt.Errorf("encoding metadata: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
