package telemetry

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// HTTPMiddleware returns the gorilla/mux middleware that traces inbound API requests, or
// nil when tracing is off (install nothing then). Each request gets a server span named
// after its route template, a child of the caller's traceparent if it sent one.
func (t *Telemetry) HTTPMiddleware() mux.MiddlewareFunc {
	if !t.tracing() {
		return nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.serveTraced(next, w, r)
		})
	}
}

func (t *Telemetry) serveTraced(next http.Handler, w http.ResponseWriter, r *http.Request) {
	route := r.URL.Path
	if cur := mux.CurrentRoute(r); cur != nil {
		if tpl, err := cur.GetPathTemplate(); err == nil {
			route = tpl
		}
	}

	ctx := t.Tracing.Extract(r.Context(), r.Header)
	// The name is completed once the span is known to be recorded, sparing sampled-out
	// requests the string building.
	ctx, span := t.Tracing.start(ctx, route, trace.SpanKindServer)
	defer span.End()
	if !span.IsRecording() {
		// Sampled out: only the trace context travels on, to the app and other sidecars.
		next.ServeHTTP(w, r.WithContext(ctx))
		return
	}

	span.SetName(r.Method + " " + route)
	span.SetAttributes(requestAttrs(r, route)...)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r.WithContext(ctx))

	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(rec.status))
	if rec.status >= http.StatusInternalServerError {
		span.SetStatus(otelcodes.Error, http.StatusText(rec.status))
		span.SetAttributes(semconv.ErrorTypeKey.String(itoa(rec.status)))
	}
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
