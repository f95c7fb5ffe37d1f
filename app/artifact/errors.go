package artifact

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// errorKind is one client-facing error: a stable code and the HTTP status it travels
// with. Every error either server writes comes from this table.
type errorKind struct {
	status int
	code   string
}

var (
	// Public API.
	errBadRequest       = errorKind{http.StatusBadRequest, "ERR_BAD_REQUEST"}
	errMethodNotAllowed = errorKind{http.StatusMethodNotAllowed, "ERR_METHOD_NOT_ALLOWED"}
	errNotFound         = errorKind{http.StatusNotFound, "ERR_NOT_FOUND"}
	errSidecar          = errorKind{http.StatusBadGateway, "ERR_SIDECAR"}
	errSidecarTimeout   = errorKind{http.StatusGatewayTimeout, "ERR_SIDECAR_TIMEOUT"}

	// Actor callbacks.
	errUnauthorized     = errorKind{http.StatusUnauthorized, "ERR_UNAUTHORIZED"}
	errUnknownActorType = errorKind{http.StatusNotFound, "ERR_UNKNOWN_ACTOR_TYPE"}
	errUnknownMethod    = errorKind{http.StatusNotFound, "ERR_UNKNOWN_METHOD"}
	errInvalidActorID   = errorKind{http.StatusBadRequest, "ERR_INVALID_ACTOR_ID"}
	errActorState       = errorKind{http.StatusInternalServerError, "ERR_ACTOR_STATE"}
)

// ErrorBody is the JSON shape of every error response, the same as Dapr's.
type ErrorBody struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// write sends the error with a message built from format and args.
func (k errorKind) write(w http.ResponseWriter, format string, args ...any) {
	body, _ := json.Marshal(ErrorBody{ErrorCode: k.code, Message: fmt.Sprintf(format, args...)})

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(k.status)
	_, _ = w.Write(body)
}

// writeJSON sends v as a 200 JSON response.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the package's own reply types reach here, and they always marshal.
		panic(fmt.Sprintf("artifact: marshal %T: %v", v, err))
	}
	writeJSONBytes(w, body)
}

// writeJSONBytes sends body, already JSON, as a 200 response.
func writeJSONBytes(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
