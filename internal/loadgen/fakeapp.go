package loadgen

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// fakeRequestLimit bounds the request bodies the fake app reads.
const fakeRequestLimit = 4 << 10

// opsByName finds an endpoint by its name.
var opsByName = func() map[string]op {
	m := make(map[string]op, numOps)
	for o := range numOps {
		m[o.String()] = o
	}
	return m
}()

// NewFakeApp returns an in-memory ArtifactState app: the demo app's HTTP API on a map, for
// the self test and for tests of the tool. It is not the demo app and has no actors.
func NewFakeApp() http.Handler {
	return &fakeApp{states: make(map[fakeKey]fakeState)}
}

// fakeApp implements NewFakeApp.
type fakeApp struct {
	// mu guards states.
	mu     sync.Mutex
	states map[fakeKey]fakeState
}

// fakeKey names an entity of the fake app.
type fakeKey struct {
	artifact int64
	user     string
}

// fakeState is the state of an entity of the fake app.
type fakeState struct {
	read   bool
	inFeed bool
}

// ServeHTTP answers one API request.
func (f *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, found := strings.CutPrefix(r.URL.Path, apiPrefix)
	o, known := opsByName[name]
	switch {
	case !found || !known:
		writeFakeError(w, http.StatusNotFound, "ERR_NOT_FOUND", "no such endpoint")
		return
	case r.Method != http.MethodPost:
		writeFakeError(w, http.StatusMethodNotAllowed, "ERR_METHOD", "want POST")
		return
	}

	var req struct {
		ArtifactID *int64  `json:"artifactId"`
		UserID     *string `json:"userId"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, fakeRequestLimit))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || req.ArtifactID == nil || req.UserID == nil {
		writeFakeError(w, http.StatusBadRequest, "ERR_MALFORMED_REQUEST",
			"want {\"artifactId\":<int>,\"userId\":\"<string>\"}")
		return
	}

	key := fakeKey{artifact: *req.ArtifactID, user: *req.UserID}
	st := f.apply(o, key)

	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(appendFakeAnswer(make([]byte, 0, 96), o, key, st))
}

// apply performs request o on key and returns the state after it.
func (f *fakeApp) apply(o op, key fakeKey) fakeState {
	f.mu.Lock()
	defer f.mu.Unlock()

	st := f.states[key]
	switch o {
	case opSetRead:
		st.read = true
	case opAddToFeed:
		st.inFeed = true
	case opRemoveFromFeed:
		st.inFeed = false
	default:
		return st
	}
	f.states[key] = st
	return st
}

// appendFakeAnswer appends the answer to request o about key in state st.
func appendFakeAnswer(b []byte, o op, key fakeKey, st fakeState) []byte {
	switch o {
	case opSetRead, opAddToFeed, opRemoveFromFeed:
		return append(b, `{"success":true}`...)
	}

	b = append(b, `{"artifactId":`...)
	b = strconv.AppendInt(b, key.artifact, 10)
	b = append(b, `,"userId":`...)
	user, _ := json.Marshal(key.user)
	b = append(b, user...)

	switch o {
	case opIsRead:
		b = strconv.AppendBool(append(b, `,"answer":`...), st.read)
	case opIsInFeed:
		b = strconv.AppendBool(append(b, `,"answer":`...), st.inFeed)
	default:
		b = strconv.AppendBool(append(b, `,"artifactRead":`...), st.read)
		b = strconv.AppendBool(append(b, `,"artifactInUserFeed":`...), st.inFeed)
	}
	return append(b, '}')
}

// writeFakeError answers with an error in the contract's shape.
func writeFakeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "message": msg})
}
