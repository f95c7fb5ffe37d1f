package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// MaxRequestBody is the largest POST body the public API reads, in bytes.
const MaxRequestBody = 64 << 10

// bodyShape is how a request body must look, for error messages.
const bodyShape = `{"artifactId":<non-negative integer>,"userId":"<non-empty string>"}`

// api serves the demo's public endpoints under /artifactState/. Each request names one
// entity; the handler calls the entity's actor through the sidecar and passes the
// actor's JSON reply through unchanged.
type api struct {
	sidecar *sidecarClient
	logger  *slog.Logger
}

// handler routes the public port. Queries accept GET (query parameters artifactId and
// userId) and POST (a JSON body); commands accept POST only.
func (a *api) handler() http.Handler {
	r := mux.NewRouter()

	for _, method := range methodNames {
		allowed := []string{http.MethodGet, http.MethodPost}
		if operations[method].isCommand() {
			allowed = []string{http.MethodPost}
		}

		path := "/artifactState/" + method
		r.Handle(path, a.endpoint(method)).Methods(allowed...)
		r.Handle(path, verbNotAllowed(allowed))
	}

	r.NotFoundHandler = http.HandlerFunc(notFound)
	return r
}

// endpoint returns the handler that calls the actor method of the same name.
func (a *api) endpoint(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		entity, err := readEntity(w, r)
		if err != nil {
			errBadRequest.write(w, "%v", err)
			return
		}

		actorID := entity.ActorID()
		reply, err := a.sidecar.invoke(r.Context(), actorID, method)
		if err != nil {
			a.writeCallError(w, actorID, method, err)
			return
		}
		writeJSONBytes(w, reply)
	}
}

func (a *api) writeCallError(w http.ResponseWriter, actorID, method string, err error) {
	a.logger.Debug("actor call failed",
		"actor_type", ActorType,
		"actor_id", actorID,
		"method", method,
		"error", err)

	if isTimeout(err) {
		errSidecarTimeout.write(w, "actor %s method %s: %v", actorID, method, err)
		return
	}
	errSidecar.write(w, "actor %s method %s: %v", actorID, method, err)
}

// verbNotAllowed answers requests whose path matched but whose verb did not.
func verbNotAllowed(allowed []string) http.HandlerFunc {
	allow := strings.Join(allowed, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		errMethodNotAllowed.write(w, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)
	}
}

// readEntity reads the entity a request names: from the query string for GET, from the
// JSON body for POST.
func readEntity(w http.ResponseWriter, r *http.Request) (Entity, error) {
	if r.Method == http.MethodGet {
		return entityFromQuery(r.URL.RawQuery)
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return Entity{}, fmt.Errorf("request body is larger than %d bytes", MaxRequestBody)
	}
	if err != nil {
		return Entity{}, fmt.Errorf("read request body: %w", err)
	}
	return entityFromJSON(body)
}

// entityFromQuery parses "artifactId=<int>&userId=<str>".
func entityFromQuery(rawQuery string) (Entity, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Entity{}, fmt.Errorf("query string: %w", err)
	}

	artifactText, err := singleValue(values, "artifactId")
	if err != nil {
		return Entity{}, err
	}
	artifactID, err := parseRequestArtifactID(artifactText)
	if err != nil {
		return Entity{}, err
	}

	userID, err := singleValue(values, "userId")
	if err != nil {
		return Entity{}, err
	}

	e := Entity{ArtifactID: artifactID, UserID: userID}
	return e, e.Validate()
}

func singleValue(values url.Values, name string) (string, error) {
	switch v := values[name]; len(v) {
	case 0:
		return "", fmt.Errorf("query parameter %s is required", name)
	case 1:
		return v[0], nil
	default:
		return "", fmt.Errorf("query parameter %s is given %d times, once is allowed", name, len(v))
	}
}

// entityFromJSON parses a body of the form bodyShape. Fields other than the two are
// ignored, as the original service did.
func entityFromJSON(body []byte) (Entity, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Entity{}, fmt.Errorf("request body is empty; send %s", bodyShape)
	}

	var fields struct {
		ArtifactID json.RawMessage `json:"artifactId"`
		UserID     json.RawMessage `json:"userId"`
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Entity{}, fmt.Errorf("request body must be a JSON object %s", bodyShape)
		}
		return Entity{}, fmt.Errorf("request body is not valid JSON: %w", err)
	}

	artifactID, err := artifactIDFromJSON(fields.ArtifactID)
	if err != nil {
		return Entity{}, err
	}
	userID, err := userIDFromJSON(fields.UserID)
	if err != nil {
		return Entity{}, err
	}

	e := Entity{ArtifactID: artifactID, UserID: userID}
	return e, e.Validate()
}

func artifactIDFromJSON(raw json.RawMessage) (int64, error) {
	switch {
	case isJSONAbsent(raw):
		return 0, errors.New("artifactId is required")
	case raw[0] == '"':
		return 0, fmt.Errorf("artifactId must be a JSON number, got the string %.40s", raw)
	}
	return parseRequestArtifactID(string(raw))
}

func userIDFromJSON(raw json.RawMessage) (string, error) {
	if isJSONAbsent(raw) {
		return "", errors.New("userId is required")
	}
	if raw[0] != '"' {
		return "", fmt.Errorf("userId must be a JSON string, got %.40s", raw)
	}

	var userID string
	if err := json.Unmarshal(raw, &userID); err != nil {
		return "", fmt.Errorf("userId: %w", err)
	}
	return userID, nil
}

func isJSONAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// parseRequestArtifactID accepts decimal digits only: no sign, fraction or exponent.
func parseRequestArtifactID(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("artifactId must be a non-negative integer, got %.40q", s)
	}

	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("artifactId %.40s is out of range", s)
	}
	return n, nil
}
