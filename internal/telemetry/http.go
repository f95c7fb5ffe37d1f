package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// unmatchedRoute is the route label of a request no route template matched.
const unmatchedRoute = "_unmatched"

// HTTPMiddleware returns the gorilla/mux middleware that traces and counts inbound API
// requests, or nil when telemetry is off (install nothing then). Each request gets a
// server span named after its route template, a child of the caller's traceparent if it
// sent one.
func (t *Telemetry) HTTPMiddleware() mux.MiddlewareFunc {
	if t.off() {
		return nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.serveHTTP(next, w, r)
		})
	}
}

func (t *Telemetry) serveHTTP(next http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route := unmatchedRoute
	if cur := mux.CurrentRoute(r); cur != nil {
		if tpl, err := cur.GetPathTemplate(); err == nil {
			route = tpl
		}
	}

	ctx, span := t.startHTTPSpan(r, route)
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)

	t.metrics().apiRequest(protocolHTTP, route, itoa(rec.status), time.Since(start))
	if span == nil {
		return
	}
	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(rec.status))
	if rec.status >= http.StatusInternalServerError {
		span.SetStatus(otelcodes.Error, http.StatusText(rec.status))
		span.SetAttributes(semconv.ErrorTypeKey.String(itoa(rec.status)))
	}
	span.End()
}

// startHTTPSpan starts the request's server span and returns the context the handler
// runs in. The span is nil when nothing is recorded; a sampled-out request still carries
// its trace context on, to the app and to other sidecars.
func (t *Telemetry) startHTTPSpan(r *http.Request, route string) (context.Context, trace.Span) {
	if !t.tracing() {
		return r.Context(), nil
	}
	ctx := t.Tracing.Extract(r.Context(), r.Header)
	// The name is completed once the span is known to be recorded, sparing sampled-out
	// requests the string building.
	ctx, span := t.Tracing.start(ctx, route, trace.SpanKindServer)
	if !span.IsRecording() {
		span.End()
		return ctx, nil
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(requestAttrs(r, route)...)
	return ctx, span
}

// requestAttrs are the semconv HTTP server attributes plus the actor the path names.
func requestAttrs(r *http.Request, route string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.HTTPRouteKey.String(route),
		semconv.URLPathKey.String(r.URL.Path))
	vars := mux.Vars(r)
	for _, v := range []struct {
		name string
		key  attribute.Key
	}{{"actorType", ActorTypeKey}, {"actorId", ActorIDKey}, {"method", ActorMethodKey}} {
		if raw, ok := vars[v.name]; ok {
			if s, err := url.PathUnescape(raw); err == nil {
				attrs = append(attrs, v.key.String(s))
			}
		}
	}
	return attrs
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(status int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = status, true
	}
	s.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
