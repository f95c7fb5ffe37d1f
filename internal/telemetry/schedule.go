package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Kinds of scheduled calls.
const (
	Reminder = "reminder"
	Timer    = "timer"
)

// ScheduleNameKey is the name of the reminder or timer a firing span belongs to.
const ScheduleNameKey = attribute.Key("troupe.schedule.name")

// Registered counts a reminder or timer created or replaced; kind is Reminder or Timer.
func (t *Telemetry) Registered(kind, actorType string) {
	m := t.metrics()
	if m == nil {
		return
	}
	if v := m.registered[kind]; v != nil {
		v.WithLabelValues(actorType).Inc()
	}
}

// StartFiring begins a reminder or timer firing: a span named "reminder fire" or
// "timer fire" that starts a new trace (a firing has no caller) and parents the app call.
// Deliver the firing with the returned ctx and report its outcome with end: nil when the
// app answered 200, the error otherwise.
func (t *Telemetry) StartFiring(ctx context.Context, kind, actorType, actorID, name string) (
	context.Context, func(err error)) {
	var span trace.Span
	if t.tracing() {
		attrs := append(actorAttrs(actorType, actorID), ScheduleNameKey.String(name))
		ctx, span = t.Tracing.tracer.Start(ctx, kind+" fire", trace.WithNewRoot(),
			trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	}

	return ctx, func(err error) {
		t.fired(kind, actorType, err)
		if span != nil {
			endSpan(span, err)
		}
	}
}

func (t *Telemetry) fired(kind, actorType string, err error) {
	m := t.metrics()
	if m == nil || m.fired[kind] == nil {
		return
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeError
	}
	m.fired[kind].WithLabelValues(actorType, outcome).Inc()
}
