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
	r.HandleFunc(actor+"/reminders/{name}", s.registerReminder).
		Methods(http.MethodPost, http.MethodPut)
	r.HandleFunc(actor+"/reminders/{name}", s.getReminder).Methods(http.MethodGet)
	r.HandleFunc(actor+"/reminders/{name}", s.deleteReminder).Methods(http.MethodDelete)
	r.HandleFunc(actor+"/timers/{name}", s.registerTimer).Methods(http.MethodPost, http.MethodPut)
	r.HandleFunc(actor+"/timers/{name}", s.deleteTimer).Methods(http.MethodDelete)
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

// parseSchedule reads the addressed actor and name and a registration body, which must
// be a JSON object ({} is enough).
func parseSchedule(r *http.Request) (reminders.Request, string, error) {
	p, err := parseActorPath(r, "name")
	if err != nil {
		return reminders.Request{}, "", err
	}
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

// scheduleCall is what every reminder and timer handler does once its input is read:
// wait for the runtime, run op, and answer 204 or the error.
func (s *server) scheduleCall(w http.ResponseWriter, r *http.Request,
	op func(*actors.Runtime) error) {
	rt, err := s.runtime(r)
	if err == nil {
		err = op(rt)
	}
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) registerReminder(w http.ResponseWriter, r *http.Request) {
	req, _, err := parseSchedule(r)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	s.scheduleCall(w, r, func(rt *actors.Runtime) error {
		return rt.RegisterReminder(r.Context(), req)
	})
}

func (s *server) registerTimer(w http.ResponseWriter, r *http.Request) {
	req, callback, err := parseSchedule(r)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	s.scheduleCall(w, r, func(rt *actors.Runtime) error {
		return rt.RegisterTimer(r.Context(), actors.TimerRequest{Request: req, Callback: callback})
	})
}

func (s *server) deleteReminder(w http.ResponseWriter, r *http.Request) {
	p, err := parseDelete(r)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	s.scheduleCall(w, r, func(rt *actors.Runtime) error {
		return rt.UnregisterReminder(r.Context(), p.actorType, p.actorID, p.name)
	})
}

func (s *server) deleteTimer(w http.ResponseWriter, r *http.Request) {
	p, err := parseDelete(r)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	s.scheduleCall(w, r, func(rt *actors.Runtime) error {
		return rt.UnregisterTimer(r.Context(), p.actorType, p.actorID, p.name)
	})
}

// parseDelete reads the addressed name; a body is optional but must be JSON if present.
func parseDelete(r *http.Request) (actorPath, error) {
	p, err := parseActorPath(r, "name")
	if err != nil {
		return p, err
	}
	body, err := readBody(r)
	if err != nil {
		return p, err
	}
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		return p, apierr.New(apierr.MalformedRequest,
			"failed deserializing HTTP body: not valid JSON")
	}
	return p, nil
}

func (s *server) getReminder(w http.ResponseWriter, r *http.Request) {
	p, err := parseActorPath(r, "name")
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	rt, err := s.runtime(r)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}

	rem, err := rt.GetReminder(r.Context(), p.actorType, p.actorID, p.name)
	if err != nil {
		apierr.WriteHTTP(w, err)
		return
	}
	body := []byte("null")
	if rem != nil {
		body, err = json.Marshal(reminderAnswer{Period: rem.Period, Data: rem.Data,
			DueTime: rem.DueTime})
		if err != nil {
			apierr.WriteHTTP(w, apierr.New(apierr.ActorReminderGet,
				"error getting actor reminder: %w", err))
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
