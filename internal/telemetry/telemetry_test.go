package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// callerTraceparent is a sampled trace context as a caller would send it.
const (
	callerTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID      = "00f067aa0ba902b7"
	callerTraceparent = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// recorded returns telemetry whose spans land in the returned recorder, with metrics.
func recorded(t *testing.T) (*Telemetry, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	tracing := &Tracing{provider: tp, tracer: tp.Tracer(instrumentationName)}
	return &Telemetry{Tracing: tracing, Metrics: NewMetrics()}, rec
}

func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == name {
			return s
		}
		names = append(names, s.Name())
	}
	t.Fatalf("no span %q among %q", name, names)
	return nil
}

func attrOf(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func TestSamplerFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     TracingConfig
		env     string
		on      bool
		sampler string
		err     string
	}{
		{name: "nothing configured", cfg: TracingConfig{SamplingRate: "1"}},
		{name: "rate zero", cfg: TracingConfig{Endpoint: "h:4317", SamplingRate: "0"}},
		{name: "rate one", cfg: TracingConfig{Endpoint: "h:4317", SamplingRate: "1"}, on: true,
			sampler: "ParentBased{root:TraceIDRatioBased{1}"},
		{name: "rate tiny", cfg: TracingConfig{Endpoint: "h:4317", SamplingRate: " 0.01 "},
			on: true, sampler: "TraceIDRatioBased{0.01}"},
		{name: "no rate: SDK default", cfg: TracingConfig{Endpoint: "h:4317"}, on: true},
		{name: "endpoint from env", env: "http://collector:4318", on: true},
		{name: "bad rate", cfg: TracingConfig{Endpoint: "h", SamplingRate: "half"}, err: "half"},
		{name: "rate above one", cfg: TracingConfig{Endpoint: "h", SamplingRate: "2"}, err: "0 to 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tc.env)
			sampler, on, err := samplerFor(tc.cfg)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.on, on)
			if tc.sampler != "" {
				require.Contains(t, sampler.Description(), tc.sampler)
			}
		})
	}
}

func TestNewTracingOffCreatesNoSpans(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	tel, err := New(context.Background(), Config{Tracing: TracingConfig{SamplingRate: "0",
		Endpoint: "127.0.0.1:1"}})
	require.NoError(t, err)
	require.False(t, tel.Tracing.Enabled())
	require.Nil(t, tel.HTTPMiddleware(), "no middleware is installed with tracing off")
	require.Nil(t, tel.GRPCServerOptions())
	require.Nil(t, tel.Inject())
	require.Nil(t, tel.Observer(), "with metrics off too, the runtime observes nothing")
}

func TestNewTracingRejectsUnknownProtocol(t *testing.T) {
	_, err := New(context.Background(), Config{Tracing: TracingConfig{
		Endpoint: "127.0.0.1:4317", SamplingRate: "1", Protocol: "thrift"}})
	require.ErrorContains(t, err, `tracing protocol "thrift"`)
}

func TestHTTPMiddlewareJoinsCallerTrace(t *testing.T) {
	tel, rec := recorded(t)
	r := mux.NewRouter()
	r.UseEncodedPath()
	r.Use(tel.HTTPMiddleware())
	var handlerCtx trace.SpanContext
	r.HandleFunc("/v1.0/actors/{actorType}/{actorId}/method/{method}",
		func(w http.ResponseWriter, r *http.Request) {
			handlerCtx = trace.SpanContextFromContext(r.Context())
			w.WriteHeader(http.StatusInternalServerError)
		})

	req := httptest.NewRequest(http.MethodPost, "/v1.0/actors/Cart/id%2F1/method/Add", nil)
	req.Header.Set("traceparent", callerTraceparent)
	r.ServeHTTP(httptest.NewRecorder(), req)

	span := spanNamed(t, rec, "POST /v1.0/actors/{actorType}/{actorId}/method/{method}")
	require.Equal(t, trace.SpanKindServer, span.SpanKind())
	require.Equal(t, callerTraceID, span.SpanContext().TraceID().String())
	require.Equal(t, callerSpanID, span.Parent().SpanID().String())
	require.True(t, span.Parent().IsRemote())
	require.Equal(t, span.SpanContext().SpanID(), handlerCtx.SpanID(), "handler runs in the span")
	require.Equal(t, "Cart", attrOf(span, ActorTypeKey))
	require.Equal(t, "id/1", attrOf(span, ActorIDKey), "ids are unescaped")
	require.Equal(t, "Add", attrOf(span, ActorMethodKey))
	require.Equal(t, "500", attrOf(span, "http.response.status_code"))
	require.Equal(t, otelcodes.Error, span.Status().Code)
}

func TestGRPCInterceptorJoinsCallerTrace(t *testing.T) {
	tel, rec := recorded(t)
	ctx := metadata.NewIncomingContext(context.Background(),
		metadata.Pairs("traceparent", callerTraceparent))
	info := &grpc.UnaryServerInfo{FullMethod: "/dapr.proto.runtime.v1.Dapr/InvokeActor"}
	req := fakeActorRequest{typ: "Cart", id: "c1"}

	_, err := tel.traceUnary(ctx, req, info, func(ctx context.Context, _ any) (any, error) {
		require.True(t, trace.SpanContextFromContext(ctx).IsValid())
		return nil, status.Error(codes.Internal, "boom")
	})
	require.Error(t, err)

	span := spanNamed(t, rec, "dapr.proto.runtime.v1.Dapr/InvokeActor")
	require.Equal(t, callerTraceID, span.SpanContext().TraceID().String())
	require.Equal(t, callerSpanID, span.Parent().SpanID().String())
	require.Equal(t, "Cart", attrOf(span, ActorTypeKey))
	require.Equal(t, "c1", attrOf(span, ActorIDKey))
	require.Equal(t, "Internal", attrOf(span, "rpc.response.status_code"))
	require.Equal(t, otelcodes.Error, span.Status().Code)
}

func TestGRPCCallsAreCountedWithoutTracing(t *testing.T) {
	tel := &Telemetry{Metrics: NewMetrics()}
	info := &grpc.UnaryServerInfo{FullMethod: "/dapr.proto.runtime.v1.Dapr/GetActorState"}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	fail := func(context.Context, any) (any, error) {
		return nil, status.Error(codes.Internal, "boom")
	}

	chain := tel.GRPCServerOptions()
	require.Len(t, chain, 1, "metrics alone install the interceptor")
	tel.observeUnary(context.Background(), nil, info, ok)
	tel.observeUnary(context.Background(), nil, info, fail)

	reqs := tel.Metrics.apiRequests
	rpc := "dapr.proto.runtime.v1.Dapr/GetActorState"
	require.Equal(t, 1.0, counterValue(t, reqs.WithLabelValues("grpc", rpc, "OK")))
	require.Equal(t, 1.0, counterValue(t, reqs.WithLabelValues("grpc", rpc, "Internal")))
}

type fakeActorRequest struct{ typ, id string }

func (r fakeActorRequest) GetActorType() string { return r.typ }
func (r fakeActorRequest) GetActorId() string   { return r.id }

// seenHeaders is an app that records the headers of each call.
type seenHeaders struct {
	mu      sync.Mutex
	headers []http.Header
	status  int
}

func (s *seenHeaders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
	}
}

func TestAppCallPassesItsSpanToTheApp(t *testing.T) {
	tel, rec := recorded(t)
	app := &seenHeaders{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ch := appchannel.New(appchannel.Config{Address: addr, Inject: tel.Inject()})
	defer ch.Close()
	traced := tel.WrapApp(ch, addr)

	ctx := tel.Tracing.Extract(context.Background(),
		http.Header{"Traceparent": {callerTraceparent}, "Tracestate": {"vendor=1"}})
	caller := http.Header{"Traceparent": {callerTraceparent}, "Tracestate": {"vendor=1"}}
	resp, err := traced.Invoke(ctx, &appchannel.Request{ActorType: "Cart", ActorID: "c1",
		Path: "Add", Header: caller})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.Status)

	span := spanNamed(t, rec, SpanAppCall)
	require.Equal(t, trace.SpanKindClient, span.SpanKind())
	require.Equal(t, callerSpanID, span.Parent().SpanID().String())
	want := "00-" + callerTraceID + "-" + span.SpanContext().SpanID().String() + "-01"
	require.Equal(t, want, app.headers[0].Get("traceparent"), "the app's parent is the call span")
	require.Equal(t, "vendor=1", app.headers[0].Get("tracestate"))
	require.Equal(t, callerTraceparent, caller.Get("traceparent"), "the caller's map is untouched")
	require.Equal(t, 1.0, counterValue(t,
		tel.Metrics.calls.WithLabelValues("Cart", "Add", OutcomeOK)))
}

func TestAppCallOutcomes(t *testing.T) {
	tel, rec := recorded(t)
	app := &seenHeaders{status: http.StatusInternalServerError}
	srv := httptest.NewServer(app)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	traced := tel.WrapApp(appchannel.New(appchannel.Config{Address: addr}), addr)

	_, err := traced.Invoke(context.Background(), &appchannel.Request{ActorType: "Cart",
		ActorID: "c1", Path: "remind/r-42"})
	require.NoError(t, err)

	span := spanNamed(t, rec, SpanAppCall)
	require.Equal(t, otelcodes.Error, span.Status().Code)
	require.Equal(t, "remind", attrOf(span, ActorMethodKey), "reminder names are not methods")
	require.Equal(t, 1.0, counterValue(t,
		tel.Metrics.calls.WithLabelValues("Cart", "remind", OutcomeAppError)))
}

func TestMethodLabelsAreBounded(t *testing.T) {
	var s methodSet
	for i := range maxMethodsPerType {
		require.Equal(t, "m"+itoa(i), s.label("T", "m"+itoa(i)))
	}
	require.Equal(t, otherMethod, s.label("T", "one-too-many"))
	require.Equal(t, "m7", s.label("T", "m7"), "known methods keep their label")
	require.Equal(t, "one-too-many", s.label("U", "one-too-many"), "each type has its own")
}

func TestStoreWrapperTracesAndCounts(t *testing.T) {
	tel, rec := recorded(t)
	raw, err := sqlitestore.Open(filepath.Join(t.TempDir(), "s.db"))
	require.NoError(t, err)
	defer raw.Close()
	store := tel.WrapStore(raw, "sqlite")
	ctx := context.Background()

	require.NoError(t, store.Transact(ctx, components.Txn{Ops: []components.Op{
		{Key: "k", Value: []byte("1")}}}))
	stale := components.Txn{Ops: []components.Op{{Key: "k", Value: []byte("2"), ETag: "9"}}}
	require.ErrorIs(t, store.Transact(ctx, stale), components.ErrETagMismatch)
	_, found, err := store.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, found)

	get := spanNamed(t, rec, SpanStateGet)
	require.Equal(t, "sqlite", attrOf(get, "db.system.name"))
	require.Equal(t, "get", attrOf(get, "db.operation.name"))
	ops := tel.Metrics.stateOps
	require.Equal(t, 1.0, counterValue(t, ops.WithLabelValues(opTransact, OutcomeOK)))
	require.Equal(t, 1.0, counterValue(t, ops.WithLabelValues(opTransact, OutcomeRejected)))
	require.Equal(t, 1.0, counterValue(t, ops.WithLabelValues(opGet, OutcomeOK)))
}

func TestFiringStartsANewTrace(t *testing.T) {
	tel, rec := recorded(t)
	parent := tel.Tracing.Extract(context.Background(),
		http.Header{"Traceparent": {callerTraceparent}})

	ctx, end := tel.StartFiring(parent, Reminder, "Cart", "c1", "r1")
	require.True(t, trace.SpanContextFromContext(ctx).IsValid())
	end(nil)
	_, end = tel.StartFiring(parent, Timer, "Cart", "c1", "t1")
	end(context.DeadlineExceeded)
	tel.Registered(Reminder, "Cart")

	span := spanNamed(t, rec, "reminder fire")
	require.NotEqual(t, callerTraceID, span.SpanContext().TraceID().String())
	require.Equal(t, "r1", attrOf(span, ScheduleNameKey))
	m := tel.Metrics
	require.Equal(t, 1.0, counterValue(t, m.fired[Reminder].WithLabelValues("Cart", "ok")))
	require.Equal(t, 1.0, counterValue(t, m.fired[Timer].WithLabelValues("Cart", "error")))
	require.Equal(t, 1.0, counterValue(t, m.registered[Reminder].WithLabelValues("Cart")))
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func TestLogHandlerAddsTraceID(t *testing.T) {
	var out strings.Builder
	log := slog.New(LogHandler(slog.NewJSONHandler(&out, nil))).With("actor_type", "Cart")
	ctx := (&Tracing{}).Extract(context.Background(),
		http.Header{"Traceparent": {callerTraceparent}})

	log.WarnContext(ctx, "store slow")
	log.Warn("no context")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"trace_id":"`+callerTraceID+`"`)
	require.Contains(t, lines[0], `"actor_type":"Cart"`)
	require.NotContains(t, lines[1], "trace_id")
}
