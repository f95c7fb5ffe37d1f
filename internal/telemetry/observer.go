package telemetry

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-dev/troupe/internal/actors"
)

// Observer returns what the actor runtime reports its steps to (actors.Options.Observer);
// nil when t neither traces nor measures.
func (t *Telemetry) Observer() actors.Observer {
	if t.off() {
		return nil
	}
	return observer{t}
}

// observer records lookups, turn waits and forwards as spans and metrics.
type observer struct{ t *Telemetry }

var _ actors.Observer = observer{}

func (o observer) LookedUp(ctx context.Context, actorType, actorID string, start time.Time,
	owner string, err error) {
	if !o.t.traces(ctx) {
		return
	}
	o.t.Tracing.record(ctx, SpanLookup, start, err,
		ActorTypeKey.String(actorType), ActorIDKey.String(actorID), OwnerKey.String(owner))
}

func (o observer) TurnWaited(ctx context.Context, actorType, actorID string, start time.Time,
	err error) {
	o.t.metrics().turnWaited(actorType, time.Since(start))
	if o.t.traces(ctx) {
		o.t.Tracing.record(ctx, SpanTurnWait, start, err, actorAttrs(actorType, actorID)...)
	}
}

func (o observer) StartForward(ctx context.Context, actorType, actorID, owner string) (
	context.Context, func(int, error)) {
	start := time.Now()
	var span trace.Span
	if o.t.traces(ctx) {
		attrs := append(actorAttrs(actorType, actorID),
			semconv.HTTPRequestMethodKey.String(http.MethodPut))
		attrs = append(attrs, serverAttrs(owner)...)
		ctx, span = o.t.Tracing.start(ctx, SpanForward, trace.SpanKindClient, attrs...)
	}

	return ctx, func(status int, err error) {
		outcome := OutcomeOK
		if err != nil {
			outcome = OutcomeError
		}
		o.t.metrics().forwarded(actorType, outcome, time.Since(start))
		if span != nil {
			if status != 0 {
				span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status))
			}
			endSpan(span, err)
		}
	}
}

func (o observer) InjectForward(ctx context.Context, h http.Header) {
	if o.t.tracing() {
		o.t.Tracing.Inject(ctx, h)
	}
}

func (o observer) Activated(actorType string)   { o.t.metrics().activated(actorType) }
func (o observer) Deactivated(actorType string) { o.t.metrics().deactivated(actorType) }

func (o observer) Registered(kind, actorType string) { o.t.Registered(kind, actorType) }

func (o observer) StartFiring(ctx context.Context, kind, actorType, actorID, name string) (
	context.Context, func(error)) {
	return o.t.StartFiring(ctx, kind, actorType, actorID, name)
}

// serverAttrs are server.address and server.port of a host:port.
func serverAttrs(hostPort string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddressKey.String(hostPort)}
	}
	n, _ := strconv.Atoi(port)
	return []attribute.KeyValue{semconv.ServerAddressKey.String(host), semconv.ServerPortKey.Int(n)}
}
