package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys troupe adds to the OTel semantic conventions.
const (
	ActorTypeKey   = attribute.Key("actor.type")
	ActorIDKey     = attribute.Key("actor.id")
	ActorMethodKey = attribute.Key("actor.method")

	// OwnerKey is the internal address of the sidecar a placement lookup named.
	OwnerKey = attribute.Key("troupe.owner")
)

// Span names of the steps of an actor call.
const (
	SpanLookup   = "placement lookup"
	SpanTurnWait = "actor turn wait"
	SpanForward  = "actor forward"
	SpanAppCall  = "app call"
	SpanStateGet = "state get"
	SpanStateTxn = "state transact"
)

// Telemetry is a sidecar's tracing and metrics. Either part may be off: a nil Tracing (or
// one that is not Enabled) creates no spans, nil Metrics record nothing. A nil *Telemetry
// does neither.
type Telemetry struct {
	Tracing *Tracing
	Metrics *Metrics
}

// off reports whether t neither traces nor measures, so wrappers can step aside.
func (t *Telemetry) off() bool { return !t.tracing() && t.metrics() == nil }

// tracing reports whether spans are created.
func (t *Telemetry) tracing() bool { return t != nil && t.Tracing.Enabled() }

// traces reports whether a child span of ctx's span would be recorded. Under the
// parent-based sampler a child of an unsampled span never is, so then no child is created
// at all and ctx's trace context travels on unchanged; this keeps the unsampled calls of
// a low sampling rate nearly as cheap as no tracing.
func (t *Telemetry) traces(ctx context.Context) bool {
	if !t.tracing() {
		return false
	}
	parent := trace.SpanContextFromContext(ctx)
	return !parent.IsValid() || parent.IsSampled()
}

func (t *Telemetry) metrics() *Metrics {
	if t == nil {
		return nil
	}
	return t.Metrics
}

// Inject writes ctx's trace context into outgoing headers; nil when tracing is off, so
// that callers can skip the call (appchannel.Config.Inject).
func (t *Telemetry) Inject() func(ctx context.Context, h http.Header) {
	if !t.tracing() {
		return nil
	}
	return t.Tracing.Inject
}

// Shutdown flushes the spans still buffered.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.Tracing.Shutdown(ctx)
}

func actorAttrs(actorType, actorID string) []attribute.KeyValue {
	return []attribute.KeyValue{ActorTypeKey.String(actorType), ActorIDKey.String(actorID)}
}
