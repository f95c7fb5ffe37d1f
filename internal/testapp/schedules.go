package testapp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Callback is a reminder or timer call the app received.
type Callback struct {
	// Actor is "type/id"; Kind is "remind" or "timer"; Name is the reminder or timer.
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	Name  string    `json:"name"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`

	// ContentType is the call's content type.
	ContentType string `json:"contentType"`

	// Status is what the app answered.
	Status int `json:"status"`
}

// The app answers reminder and timer calls by the name's prefix, so tests in other
// processes can steer it:
//
//	fail-N-...    answers 500 to the first N calls of that actor's reminder or timer
//	cancel-...    answers 200 with X-DaprReminderCancel: true
//	slow-MS-...   holds the call for MS milliseconds
//
// Any other name answers 200.
func (a *App) scheduled(w http.ResponseWriter, r *http.Request, body []byte) bool {
	kind, name, ok := strings.Cut(r.PathValue("method"), "/")
	if !ok || (kind != "remind" && kind != "timer") {
		return false
	}
	cb := Callback{Actor: actorName(r), Kind: kind, Name: name, Body: string(body),
		At: time.Now(), Status: http.StatusOK, ContentType: r.Header.Get("Content-Type")}

	switch {
	case strings.HasPrefix(name, "fail-"):
		if a.countCall(cb) <= prefixNumber(name) {
			cb.Status = http.StatusInternalServerError
		}
	case strings.HasPrefix(name, "cancel-"):
		w.Header().Set("X-DaprReminderCancel", "true")
	case strings.HasPrefix(name, "slow-"):
		time.Sleep(time.Duration(prefixNumber(name)) * time.Millisecond)
	}

	a.mu.Lock()
	a.callbacks = append(a.callbacks, cb)
	a.mu.Unlock()
	w.WriteHeader(cb.Status)
	return true
}

// prefixNumber reads N from "word-N-rest"; 0 when there is none.
func prefixNumber(name string) int {
	parts := strings.SplitN(name, "-", 3)
	if len(parts) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}

// countCall returns how many calls of cb's actor, kind and name came before, plus one.
func (a *App) countCall(cb Callback) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 1
	for _, c := range a.callbacks {
		if c.Actor == cb.Actor && c.Kind == cb.Kind && c.Name == cb.Name {
			n++
		}
	}
	return n
}

// Callbacks returns the reminder and timer calls received, in order.
func (a *App) Callbacks() []Callback {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Callback(nil), a.callbacks...)
}

func (a *App) serveCallbacks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a.Callbacks())
}
