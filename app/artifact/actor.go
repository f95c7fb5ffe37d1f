package artifact

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// Settings reported to the sidecar in GET /dapr/config besides the idle timeout.
const (
	drainOngoingCallTimeout = 30 * time.Second
	drainRebalancedActors   = true
)

// actorHost serves the app callback contract: the sidecar calls it to run actor methods
// and deactivate actors. The actors keep no state in memory; each call reads the state
// through the sidecar, which caches it, and writes it back only when it changed.
// Turn-based concurrency is the sidecar's job, so the host takes no per-actor locks.
type actorHost struct {
	sidecar     *sidecarClient
	activations *activationLog
	idleTimeout time.Duration
	// appToken, when set, must arrive as dapr-api-token on every sidecar callback.
	appToken string
	logger   *slog.Logger
}

// actorConfig is the body of GET /dapr/config.
type actorConfig struct {
	Entities                []string `json:"entities"`
	ActorIdleTimeout        string   `json:"actorIdleTimeout"`
	DrainOngoingCallTimeout string   `json:"drainOngoingCallTimeout"`
	DrainRebalancedActors   bool     `json:"drainRebalancedActors"`
}

// handler routes the callback port. /healthz and /debug/activations need no token: the
// sidecar's health probe never sends one, and the debug log is read-only.
func (h *actorHost) handler() http.Handler {
	r := mux.NewRouter()
	// Keep escapes as sent, like daprd does, so an id is the same string on both sides.
	r.UseEncodedPath()

	r.HandleFunc("/healthz", h.healthz).Methods(http.MethodGet)
	r.HandleFunc("/debug/activations", h.listActivations).Methods(http.MethodGet)

	callbacks := r.NewRoute().Subrouter()
	callbacks.Use(h.requireToken)
	callbacks.HandleFunc("/dapr/config", h.config).Methods(http.MethodGet)
	callbacks.HandleFunc("/actors/{type}/{id}/method/{method}", h.invoke).
		Methods(http.MethodPut)
	callbacks.HandleFunc("/actors/{type}/{id}", h.deactivate).Methods(http.MethodDelete)

	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	return r
}

func (h *actorHost) requireToken(next http.Handler) http.Handler {
	if h.appToken == "" {
		return next
	}
	want := []byte(h.appToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("dapr-api-token"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			errUnauthorized.write(w, "missing or wrong dapr-api-token header")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *actorHost) healthz(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
}

func (h *actorHost) config(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, actorConfig{
		Entities:                []string{ActorType},
		ActorIdleTimeout:        h.idleTimeout.String(),
		DrainOngoingCallTimeout: drainOngoingCallTimeout.String(),
		DrainRebalancedActors:   drainRebalancedActors,
	})
}

func (h *actorHost) listActivations(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, h.activations.report(r.URL.Query().Get("actorId")))
}

// invoke runs one actor method: read the state, apply the operation, write the state if
// it changed, reply.
func (h *actorHost) invoke(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	actorType, actorID, method := vars["type"], vars["id"], vars["method"]
	if actorType != ActorType {
		errUnknownActorType.write(w, "actor type %q is not hosted here; hosted: %s",
			actorType, ActorType)
		return
	}
	entity, err := ParseActorID(actorID)
	if err != nil {
		errInvalidActorID.write(w, "%v", err)
		return
	}

	// The sidecar has activated the actor whatever the method turns out to be.
	if h.activations.activate(actorID) {
		h.logger.Debug("actor activated", "actor_type", actorType, "actor_id", actorID)
	}

	op, known := operations[method]
	if !known {
		errUnknownMethod.write(w, "actor type %s has no method %q; methods: %s",
			ActorType, method, strings.Join(methodNames, ", "))
		return
	}

	state, err := h.sidecar.getState(r.Context(), actorID)
	if err != nil {
		errActorState.write(w, "read state of actor %s: %v", actorID, err)
		return
	}

	if !op.isCommand() {
		writeJSON(w, op.reply(entity, state))
		return
	}
	if updated := op.update(state); updated != state {
		if err := h.sidecar.saveState(r.Context(), actorID, updated); err != nil {
			errActorState.write(w, "save state of actor %s: %v", actorID, err)
			return
		}
	}
	writeJSONBytes(w, successBody)
}

// successBody is SuccessReply{Success: true}, encoded once.
var successBody = []byte(`{"success":true}`)

// deactivate handles the sidecar's DELETE. No state lives in memory, so there is nothing
// to drop but the activation record.
func (h *actorHost) deactivate(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	actorID := vars["id"]
	if vars["type"] == ActorType && h.activations.deactivate(actorID) {
		h.logger.Debug("actor deactivated", "actor_type", ActorType, "actor_id", actorID)
	}
	w.WriteHeader(http.StatusOK)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	errNotFound.write(w, "no route for %s %s", r.Method, r.URL.Path)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	errMethodNotAllowed.write(w, "%s is not allowed on %s", r.Method, r.URL.Path)
}
