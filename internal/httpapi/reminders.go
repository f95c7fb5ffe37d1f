package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// routeSchedules adds the reminder and timer routes of contract §1.4-1.5.
func (s *server) routeSchedules(r *mux.Router, actor string) {
	const reminder, timer = "/reminders/{name}", "/timers/{name}"
	r.HandleFunc(actor+reminder, s.actorRoute("name", registerReminder)).
		Methods(http.MethodPost, http.MethodPut)
	r.HandleFunc(actor+reminder, s.actorRoute("name", getReminder)).Methods(http.MethodGet)
	r.HandleFunc(actor+reminder, s.actorRoute("name", deleteReminder)).
		Methods(http.MethodDelete)
	r.HandleFunc(actor+timer, s.actorRoute("name", registerTimer)).
		Methods(http.MethodPost, http.MethodPut)
	r.HandleFunc(actor+timer, s.actorRoute("name", deleteTimer)).Methods(http.MethodDelete)
}

// scheduleBody is the body of a reminder or timer registration. Unknown fields are
// ignored, as in daprd.
type scheduleBody struct {
	DueTime  string          `json:"dueTime"`
	Period   string          `json:"period"`
	TTL      string          `json:"ttl"`
	Callback string          `json:"callback"`
	Data     json.RawMessage `json:"data"`
}

// reminderAnswer is the body of GET .../reminders/{name}, in daprd's key order.
type reminderAnswer struct {
	Period  string          `json:"period,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	DueTime string          `json:"dueTime,omitempty"`
}

// parseSchedule reads a registration body for the addressed actor and name; it must be
// a JSON object ({} is enough).
func parseSchedule(r *http.Request, p actorPath) (reminders.Request, string, error) {
	body, err := readBody(r)
	if err != nil {
		return reminders.Request{}, "", err
	}
	var b scheduleBody
	if err := decodeStrict(body, &b); err != nil {
		return reminders.Request{}, "", apierr.New(apierr.MalformedRequest,
			"failed deserializing HTTP body: %v", err)
	}
	return reminders.Request{
		ActorType: p.actorType,
		ActorID:   p.actorID,
		Name:      p.name,
		DueTime:   b.DueTime,
		Period:    b.Period,
		TTL:       b.TTL,
		Data:      b.Data,
	}, b.Callback, nil
}

// noContent answers 204 when err is nil and returns err otherwise.
func noContent(w http.ResponseWriter, err error) error {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
	}
	return err
}

func registerReminder(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	req, _, err := parseSchedule(r, p)
	if err != nil {
		return nil, err
	}
	return func(rt *actors.Runtime) error {
		return noContent(w, rt.RegisterReminder(r.Context(), req))
	}, nil
}

func registerTimer(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	req, callback, err := parseSchedule(r, p)
	if err != nil {
		return nil, err
	}
	timer := actors.TimerRequest{Request: req, Callback: callback}
	return func(rt *actors.Runtime) error {
		return noContent(w, rt.RegisterTimer(r.Context(), timer))
	}, nil
}

func deleteReminder(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	if err := checkOptionalJSON(r); err != nil {
		return nil, err
	}
	return func(rt *actors.Runtime) error {
		return noContent(w, rt.UnregisterReminder(r.Context(), p.actorType, p.actorID, p.name))
	}, nil
}

func deleteTimer(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	if err := checkOptionalJSON(r); err != nil {
		return nil, err
	}
	return func(rt *actors.Runtime) error {
		return noContent(w, rt.UnregisterTimer(r.Context(), p.actorType, p.actorID, p.name))
	}, nil
}

// checkOptionalJSON reads a delete's body, which is optional but must be JSON if present.
func checkOptionalJSON(r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		return apierr.New(apierr.MalformedRequest,
			"failed deserializing HTTP body: not valid JSON")
	}
	return nil
}

func getReminder(w http.ResponseWriter, r *http.Request, p actorPath) (serve, error) {
	return func(rt *actors.Runtime) error { return writeReminder(w, r, rt, p) }, nil
}

func writeReminder(w http.ResponseWriter, r *http.Request, rt *actors.Runtime, p actorPath) error {
	rem, err := rt.GetReminder(r.Context(), p.actorType, p.actorID, p.name)
	if err != nil {
		return err
	}
	body := []byte("null")
	if rem != nil {
		body, err = json.Marshal(reminderAnswer{Period: rem.Period, Data: rem.Data,
			DueTime: rem.DueTime})
		if err != nil {
			return apierr.New(apierr.ActorReminderGet, "error getting actor reminder: %w", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	return nil
}
