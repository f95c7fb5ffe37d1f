// Package apierr is the one table of client-facing errors. Each code has an HTTP status and a
// gRPC code, so the HTTP and gRPC front ends answer the same failure the same way, and both
// match daprd's codes for the actor API.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
)

// Kind is a stable error code with its transport statuses.
type Kind struct {
	// Code is the errorCode sent to clients, e.g. ERR_ACTOR_INVOKE_METHOD.
	Code string

	// HTTPStatus is the status of the HTTP answer.
	HTTPStatus int

	// GRPCCode is the status code of the gRPC answer.
	GRPCCode codes.Code
}

// The error kinds of the actor API, as daprd v1.14 reports them.
var (
	ActorRuntimeNotFound  = Kind{"ERR_ACTOR_RUNTIME_NOT_FOUND", 500, codes.Internal}
	ActorInstanceMissing  = Kind{"ERR_ACTOR_INSTANCE_MISSING", 400, codes.Internal}
	ActorInvokeMethod     = Kind{"ERR_ACTOR_INVOKE_METHOD", 500, codes.Internal}
	ActorStateGet         = Kind{"ERR_ACTOR_STATE_GET", 500, codes.Internal}
	ActorStateTransaction = Kind{"ERR_ACTOR_STATE_TRANSACTION_SAVE", 500, codes.Internal}
	ActorReminderCreate   = Kind{"ERR_ACTOR_REMINDER_CREATE", 500, codes.Internal}
	ActorReminderGet      = Kind{"ERR_ACTOR_REMINDER_GET", 500, codes.Internal}
	ActorReminderDelete   = Kind{"ERR_ACTOR_REMINDER_DELETE", 500, codes.Internal}
	ActorReminderHosted   = Kind{"ERR_ACTOR_REMINDER_NON_HOSTED", 403, codes.PermissionDenied}
	ActorTimerCreate      = Kind{"ERR_ACTOR_TIMER_CREATE", 500, codes.Internal}
	ActorTimerDelete      = Kind{"ERR_ACTOR_TIMER_DELETE", 500, codes.Internal}
	MalformedRequest      = Kind{"ERR_MALFORMED_REQUEST", 400, codes.InvalidArgument}
	BadRequest            = Kind{"ERR_BAD_REQUEST", 400, codes.InvalidArgument}
	BodyTooLarge          = Kind{"ERR_BODY_TOO_LARGE", 413, codes.ResourceExhausted}
	NotFound              = Kind{"ERR_NOT_FOUND", 404, codes.NotFound}
	MethodNotAllowed      = Kind{"ERR_METHOD_NOT_ALLOWED", 405, codes.Unimplemented}
	HealthNotReady        = Kind{"ERR_HEALTH_NOT_READY", 500, codes.Internal}
	OutboundNotReady      = Kind{"ERR_OUTBOUND_HEALTH_NOT_READY", 500, codes.Internal}
	HealthAppIDNotMatch   = Kind{"ERR_HEALTH_APPID_NOT_MATCH", 500, codes.Internal}
	Unknown               = Kind{"ERROR", 500, codes.Internal}
)

var kinds = map[string]Kind{}

func init() {
	for _, k := range []Kind{ActorRuntimeNotFound, ActorInstanceMissing, ActorInvokeMethod,
		ActorStateGet, ActorStateTransaction, ActorReminderCreate, ActorReminderGet,
		ActorReminderDelete, ActorReminderHosted, ActorTimerCreate, ActorTimerDelete,
		MalformedRequest, BadRequest, BodyTooLarge, NotFound, MethodNotAllowed, HealthNotReady,
		OutboundNotReady, HealthAppIDNotMatch, Unknown} {
		kinds[k.Code] = k
	}
}

// KindOf returns the kind with the given code; an unknown code gets Unknown's statuses.
func KindOf(code string) Kind {
	if k, ok := kinds[code]; ok {
		return k
	}
	return Kind{Code: code, HTTPStatus: Unknown.HTTPStatus, GRPCCode: Unknown.GRPCCode}
}

// Error is an API error: a kind and the message clients see.
type Error struct {
	Kind    Kind
	Message string

	// Err is the underlying cause, kept for errors.Is and logs; it is not sent to clients
	// beyond what Message already says.
	Err error
}

// New returns an API error of kind k with a formatted message. A %w verb in format wraps
// the cause as fmt.Errorf does.
func New(k Kind, format string, args ...any) *Error {
	wrapped := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: wrapped.Error(), Err: errors.Unwrap(wrapped)}
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// From returns err as an API error; an error of another type becomes kind Unknown.
func From(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	return &Error{Kind: Unknown, Message: err.Error(), Err: err}
}

type body struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// JSON returns the body of the HTTP answer: {"errorCode","message"}.
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(body{ErrorCode: e.Kind.Code, Message: e.Message})
	return b
}

// WriteHTTP answers an HTTP request with err in the contract's shape.
func WriteHTTP(w http.ResponseWriter, err error) {
	apiErr := From(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(apiErr.Kind.HTTPStatus)
	w.Write(apiErr.JSON())
}
