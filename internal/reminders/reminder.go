package reminders

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrExpired means a reminder's or timer's TTL ends before it could fire.
var ErrExpired = errors.New("reminders: already expired")

// expiredError carries daprd's message for an expired schedule and matches ErrExpired.
type expiredError string

func (e expiredError) Error() string { return string(e) }

func (e expiredError) Is(target error) bool { return target == ErrExpired }

// Request is a reminder or timer to create, as the HTTP and gRPC APIs carry it. The
// schedule strings are kept verbatim and handed back in callbacks.
type Request struct {
	ActorType string
	ActorID   string
	Name      string
	DueTime   string
	Period    string
	TTL       string

	// Data is the JSON delivered with each fire; nil or JSON null for none.
	Data json.RawMessage
}

// Key names the request's reminder as daprd's messages do: type||id||name.
func (req Request) Key() string {
	return req.ActorType + "||" + req.ActorID + "||" + req.Name
}

// Reminder is a stored reminder. Its JSON form is the record in the store.
type Reminder struct {
	ActorType string          `json:"actorType"`
	ActorID   string          `json:"actorID"`
	Name      string          `json:"name"`
	Data      json.RawMessage `json:"data,omitempty"`
	DueTime   string          `json:"dueTime,omitempty"`
	Period    string          `json:"period,omitempty"`

	// Scheduled is the period boundary the next fire is for; Due is when it is tried,
	// equal to Scheduled until a delivery fails and is retried later.
	Scheduled time.Time `json:"scheduled"`
	Due       time.Time `json:"due"`

	// Expires is when the TTL ends; zero for none. No fire is scheduled at or after it.
	Expires time.Time `json:"expirationTime,omitzero"`

	// RepeatsLeft is the number of fires left, -1 for no limit. It is written after each
	// successful fire, so it stays exact across restarts.
	RepeatsLeft int `json:"repeatsLeft"`

	// Attempts counts the failed deliveries for Scheduled.
	Attempts int `json:"attempts,omitempty"`
}

// Schedule is a parsed due time, period and TTL.
type Schedule struct {
	Due     time.Time
	Period  Period
	Expires time.Time
}

// Fires returns how many fires the schedule has: 1 when it does not repeat, -1 for no
// limit.
func (s Schedule) Fires() int {
	if !s.Period.Repeating() {
		return 1
	}
	return s.Period.Repeats
}

// ParseSchedule parses a request's due time, period and TTL at now, as daprd does for
// reminders and timers: no due time means now, a relative TTL counts from the due time,
// and a TTL that has already ended is refused. kind ("reminder" or "timer") goes into
// the error texts, which follow daprd's.
func ParseSchedule(req Request, kind string, now time.Time) (Schedule, error) {
	s := Schedule{Due: now}
	var err error
	if req.DueTime != "" {
		if s.Due, err = ParseTime(req.DueTime, now); err != nil {
			return Schedule{}, fmt.Errorf("error parsing %s due time: %w", kind, err)
		}
	}
	if s.Period, err = ParsePeriod(req.Period); err != nil {
		return Schedule{}, fmt.Errorf("invalid %s period: parse error: %w", kind, err)
	}
	if req.TTL == "" {
		return s, nil
	}

	if s.Expires, err = ParseTime(req.TTL, s.Due); err != nil {
		return Schedule{}, fmt.Errorf("error parsing %s TTL: %w", kind, err)
	}
	if now.After(s.Expires) || s.Due.After(s.Expires) {
		return Schedule{}, expiredError(fmt.Sprintf("%s %s has already expired: dueTime: %s TTL: %s",
			kind, req.Key(), s.Due.Format(time.RFC3339), req.TTL))
	}
	return s, nil
}

// CompactData returns data as compact JSON, nil for none (empty or null).
func CompactData(data json.RawMessage) (json.RawMessage, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("data is not valid JSON: %w", err)
	}
	if buf.String() == "null" {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// newReminder builds the reminder req asks for, registered at now.
func newReminder(req Request, now time.Time) (*Reminder, error) {
	data, err := CompactData(req.Data)
	if err != nil {
		return nil, fmt.Errorf("invalid reminder data: %w", err)
	}
	s, err := ParseSchedule(req, "reminder", now)
	if err != nil {
		return nil, err
	}
	return &Reminder{
		ActorType:   req.ActorType,
		ActorID:     req.ActorID,
		Name:        req.Name,
		Data:        data,
		DueTime:     req.DueTime,
		Period:      req.Period,
		Scheduled:   s.Due,
		Due:         s.Due,
		Expires:     s.Expires,
		RepeatsLeft: s.Fires(),
	}, nil
}

// tag is the digest of what the user asked for: registering a reminder with the same
// tag over a stored one changes nothing, so the stored one keeps its running schedule.
// As in daprd, that needs the same due time, period and data, and no TTL on either; a
// reminder with a TTL has no tag, so it is always replaced.
func (r *Reminder) tag() string {
	if !r.Expires.IsZero() {
		return ""
	}
	h := sha256.New()
	for _, part := range []string{r.DueTime, r.Period, string(r.Data)} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// reminderCall is the body of PUT /actors/{type}/{id}/method/remind/{name} (contract
// §2.4): data is left out when there is none.
type reminderCall struct {
	Data    json.RawMessage `json:"data,omitempty"`
	DueTime string          `json:"dueTime"`
	Period  string          `json:"period"`
}

// CallBody returns the body the app receives when r fires.
func (r *Reminder) CallBody() ([]byte, error) {
	return json.Marshal(reminderCall{Data: r.Data, DueTime: r.DueTime, Period: r.Period})
}

// member names a reminder within its group (the app's actor type): the actor id's
// length, the id and the name, so that no id or name can make two reminders collide.
func member(actorID, name string) string {
	return strconv.Itoa(len(actorID)) + ":" + actorID + name
}

// parseMember splits a member into the actor id and reminder name.
func parseMember(m string) (actorID, name string, ok bool) {
	n, rest, found := strings.Cut(m, ":")
	size, err := strconv.Atoi(n)
	if !found || err != nil || size < 0 || size > len(rest) {
		return "", "", false
	}
	return rest[:size], rest[size:], true
}
