package telemetry

import (
	"context"
	"strings"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GRPCServerOptions returns the options that trace and count a gRPC server's unary
// calls, or none when telemetry is off. Put them before the server's own interceptors so
// that the span covers them too.
func (t *Telemetry) GRPCServerOptions() []grpc.ServerOption {
	if t.off() {
		return nil
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(t.observeUnary)}
}

// observeUnary counts a unary call and runs it traced.
func (t *Telemetry) observeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	var resp any
	var err error
	if t.tracing() {
		resp, err = t.traceUnary(ctx, req, info, handler)
	} else {
		resp, err = handler(ctx, req)
	}
	route := strings.TrimPrefix(info.FullMethod, "/")
	t.metrics().apiRequest(protocolGRPC, route, status.Code(err).String(), time.Since(start))
	return resp, err
}

// actorRequest is implemented by the Dapr API's actor request messages.
type actorRequest interface {
	GetActorType() string
	GetActorId() string
}

// traceUnary runs a unary call inside a server span, a child of the traceparent the
// caller sent in its metadata.
func (t *Telemetry) traceUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = t.Tracing.prop.Extract(ctx, mdCarrier(md))

	method := strings.TrimPrefix(info.FullMethod, "/")
	ctx, span := t.Tracing.start(ctx, method, trace.SpanKindServer)
	defer span.End()
	if !span.IsRecording() {
		return handler(ctx, req)
	}
	span.SetAttributes(semconv.RPCSystemNameKey.String("grpc"), semconv.RPCMethodKey.String(method))
	if ar, ok := req.(actorRequest); ok {
		span.SetAttributes(actorAttrs(ar.GetActorType(), ar.GetActorId())...)
	}

	resp, err := handler(ctx, req)

	st, _ := status.FromError(err)
	span.SetAttributes(semconv.RPCResponseStatusCodeKey.String(st.Code().String()))
	if err != nil {
		span.SetStatus(otelcodes.Error, st.Message())
		span.SetAttributes(semconv.ErrorTypeKey.String(st.Code().String()))
	}
	return resp, err
}

// mdCarrier reads W3C trace context from gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
