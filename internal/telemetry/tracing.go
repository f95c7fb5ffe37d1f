// Package telemetry traces and measures a troupe sidecar from its edges: HTTP middleware
// and gRPC interceptors for inbound calls, wrappers around the app channel and the state
// store, an observer the actor runtime reports its steps to (placement lookup, turn wait,
// forward), and hooks for reminder and timer firings. Spans are exported with OTLP and
// metrics are served in the Prometheus text format. Nothing outside this package starts a
// span: business code only passes ctx along.
//
// With tracing off (no exporter, or a sampling rate of 0) no span is ever created and the
// inbound middleware is not installed at all; callers' traceparent headers still reach the
// app unchanged, because every caller header is passed through.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer that creates every troupe span.
const instrumentationName = "github.com/troupe-dev/troupe"

// Exporter protocols of TracingConfig.Protocol.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http"
)

// TracingConfig chooses where spans go and how many are kept. Its fields mirror the
// tracing section of a Dapr Configuration file; the standard OTEL_EXPORTER_OTLP_*
// variables fill in what it leaves empty.
type TracingConfig struct {
	// ServiceName is the service.name resource attribute (the app id).
	ServiceName string

	// SamplingRate is the share of new traces recorded, "0" to "1", as Dapr writes it.
	// "0" turns tracing off. Empty means 1 when an endpoint is configured (the file's or
	// the environment's); OTEL_TRACES_SAMPLER is honoured then.
	SamplingRate string

	// Endpoint is the OTLP collector's host:port (otel.endpointAddress), or a URL
	// (http://host:4318/v1/traces), whose scheme then decides TLS. Empty means the
	// endpoint of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, and
	// tracing is off when neither is set.
	Endpoint string

	// Secure selects TLS towards a host:port Endpoint (otel.isSecure).
	Secure bool

	// Protocol is ProtocolGRPC (default, port 4317) or ProtocolHTTP (OTLP/HTTP protobuf,
	// port 4318). With no Endpoint, OTEL_EXPORTER_OTLP_PROTOCOL decides.
	Protocol string

	// Exporter, when set, receives the spans instead of an OTLP exporter (tests).
	Exporter sdktrace.SpanExporter
}

// Tracing creates troupe's spans and propagates W3C trace context. The zero value and a
// nil *Tracing are valid and trace nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// NewTracing builds the tracer provider cfg describes; tracing is off (Enabled reports
// false) when cfg names no exporter or samples nothing.
func NewTracing(ctx context.Context, cfg TracingConfig) (*Tracing, error) {
	sampler, on, err := samplerFor(cfg)
	if err != nil || !on || os.Getenv("OTEL_SDK_DISABLED") == "true" {
		return &Tracing{}, err
	}

	exporter := cfg.Exporter
	if exporter == nil {
		if exporter, err = newExporter(ctx, cfg); err != nil {
			return nil, err
		}
	}

	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceNameKey.String(serviceName(cfg.ServiceName)))
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
	}
	if sampler != nil {
		opts = append(opts, sdktrace.WithSampler(sampler))
	}
	provider := sdktrace.NewTracerProvider(opts...)
	return &Tracing{provider: provider, tracer: provider.Tracer(instrumentationName)}, nil
}

// samplerFor returns the sampler for cfg (nil: the SDK's, from OTEL_TRACES_SAMPLER) and
// whether anything is traced at all.
func samplerFor(cfg TracingConfig) (sdktrace.Sampler, bool, error) {
	if cfg.Endpoint == "" && cfg.Exporter == nil && !envEndpointSet() {
		return nil, false, nil
	}
	if cfg.SamplingRate == "" {
		return nil, true, nil
	}

	rate, err := strconv.ParseFloat(strings.TrimSpace(cfg.SamplingRate), 64)
	if err != nil || rate < 0 || rate > 1 {
		return nil, false, fmt.Errorf("tracing sampling rate %q: want a number from 0 to 1",
			cfg.SamplingRate)
	}
	if rate == 0 {
		return nil, false, nil
	}
	// A caller's sampling decision wins, as in daprd: a trace the caller records stays
	// whole across the sidecars.
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate)), true, nil
}

func envEndpointSet() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" ||
		os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// newExporter builds the OTLP exporter. Options given here override the environment;
// what they leave out (headers, timeouts, certificates) the exporters read from it.
func newExporter(ctx context.Context, cfg TracingConfig) (sdktrace.SpanExporter, error) {
	protocol := cfg.Protocol
	if cfg.Endpoint == "" && protocol == "" {
		protocol = envProtocol()
	}

	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", ProtocolGRPC:
		var opts []otlptracegrpc.Option
		switch {
		case isURL(cfg.Endpoint):
			opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
		case cfg.Endpoint != "":
			opts = append(opts, otlptracegrpc.WithEndpoint(cfg.Endpoint))
			if !cfg.Secure {
				opts = append(opts, otlptracegrpc.WithInsecure())
			}
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case ProtocolHTTP, "http/protobuf":
		var opts []otlptracehttp.Option
		switch {
		case isURL(cfg.Endpoint):
			opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
		case cfg.Endpoint != "":
			opts = append(opts, otlptracehttp.WithEndpoint(cfg.Endpoint))
			if !cfg.Secure {
				opts = append(opts, otlptracehttp.WithInsecure())
			}
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("tracing protocol %q: want grpc or http", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("creating otlp %s exporter: %w", protocol, err)
	}
	return exp, nil
}

func isURL(endpoint string) bool { return strings.Contains(endpoint, "://") }

func envProtocol() string {
	if p := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p != "" {
		return p
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
}

func serviceName(name string) string {
	if name == "" {
		return "troupe"
	}
	return name
}

// Enabled reports whether spans are created.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping tracing: %w", err)
	}
	return nil
}

// Extract returns ctx with the remote span context that h carries (traceparent and
// tracestate), if any.
func (t *Tracing) Extract(ctx context.Context, h http.Header) context.Context {
	return t.prop.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes ctx's span context into h as traceparent and tracestate, replacing what a
// caller sent. It writes nothing when ctx has no span, so a caller's headers pass on.
func (t *Tracing) Inject(ctx context.Context, h http.Header) {
	if !t.Enabled() {
		return
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// start begins a span; attrs are its first attributes.
func (t *Tracing) start(ctx context.Context, name string, kind trace.SpanKind,
	attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// record adds a finished leaf span that began at start and ends now.
func (t *Tracing) record(ctx context.Context, name string, start time.Time, err error,
	attrs ...attribute.KeyValue) {
	_, span := t.tracer.Start(ctx, name, trace.WithTimestamp(start),
		trace.WithAttributes(attrs...))
	endSpan(span, err)
}

// endSpan marks span failed when err is not nil and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
	}
	span.End()
}

// errorType is the error.type attribute: the context error's name, or a generic one.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "_OTHER"
}
