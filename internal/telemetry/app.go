package telemetry

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// appCallTemplate is the url.template of a call to the app.
const appCallTemplate = "/actors/{actorType}/{actorId}/method/{method}"

// WrapApp returns app with every call traced and counted; nil stays nil. The app channel
// must be built with Inject so that the app receives the call span's trace context.
func (t *Telemetry) WrapApp(app actors.App, address string) actors.App {
	if app == nil || t.off() {
		return app
	}
	return &tracedApp{next: app, t: t, server: serverAttrs(address)}
}

// tracedApp traces and measures the calls the runtime makes to the app.
type tracedApp struct {
	next   actors.App
	t      *Telemetry
	server []attribute.KeyValue
}

// Invoke delivers a method, reminder or timer call inside an "app call" client span.
func (a *tracedApp) Invoke(ctx context.Context, r *appchannel.Request) (
	*appchannel.Response, error) {
	start := time.Now()
	method := methodLabel(r.Path)
	var span trace.Span
	if a.t.traces(ctx) {
		ctx, span = a.t.Tracing.start(ctx, SpanAppCall, trace.SpanKindClient, a.callAttrs(r, method)...)
	}

	resp, err := a.next.Invoke(ctx, r)

	outcome := OutcomeError
	if err == nil {
		outcome = statusOutcome(resp.Status, actors.IsActorError(resp))
	}
	a.t.metrics().callDone(r.ActorType, method, outcome, time.Since(start))
	if span != nil {
		a.endCall(span, resp, err)
	}
	return resp, err
}

func (a *tracedApp) callAttrs(r *appchannel.Request, method string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		ActorTypeKey.String(r.ActorType),
		ActorIDKey.String(r.ActorID),
		ActorMethodKey.String(method),
		semconv.HTTPRequestMethodKey.String(http.MethodPut),
		semconv.URLTemplateKey.String(appCallTemplate))
	return append(attrs, a.server...)
}

// endCall ends the span; any status but 200 fails it, as the runtime fails the call.
func (a *tracedApp) endCall(span trace.Span, resp *appchannel.Response, err error) {
	if err == nil {
		span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(resp.Status))
		if resp.Status != http.StatusOK {
			span.SetStatus(otelcodes.Error, "app answered "+itoa(resp.Status))
			span.SetAttributes(semconv.ErrorTypeKey.String(itoa(resp.Status)))
		}
	}
	endSpan(span, err)
}

// Deactivate sends the deactivation inside a span of its own.
func (a *tracedApp) Deactivate(ctx context.Context, actorType, actorID string) error {
	if !a.t.traces(ctx) {
		return a.next.Deactivate(ctx, actorType, actorID)
	}
	attrs := append(actorAttrs(actorType, actorID),
		semconv.HTTPRequestMethodKey.String(http.MethodDelete))
	ctx, span := a.t.Tracing.start(ctx, "app deactivate", trace.SpanKindClient,
		append(attrs, a.server...)...)
	err := a.next.Deactivate(ctx, actorType, actorID)
	endSpan(span, err)
	return err
}

// methodLabel is the method of an app call path: the method name, or "remind" and
// "timer" for reminder and timer callbacks, whose names are unbounded.
func methodLabel(path string) string {
	if kind, _, ok := strings.Cut(path, "/"); ok && (kind == "remind" || kind == "timer") {
		return kind
	}
	return path
}
