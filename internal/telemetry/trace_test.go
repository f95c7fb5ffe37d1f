package telemetry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-dev/troupe/internal/telemetry"
)

// Span names the sidecars give the steps of a forwarded call that writes state.
const (
	invokeRoute = "/v1.0/actors/{actorType}/{actorId}/method/{method}"
	stateRoute  = "/v1.0/actors/{actorType}/{actorId}/state"
)

// span is what the trace checks need of a span, whatever backend returned it.
type span struct {
	traceID, id, parentID string
	name, service         string
	start, end            time.Time
}

func (s span) String() string { return s.name + "@" + s.service }

// edge says that a span named child of service childSvc has a parent named parent of
// service parentSvc.
type edge struct{ child, childSvc, parent, parentSvc string }

// httpInvokeSpan is the client sidecar's span of an HTTP actor call.
const httpInvokeSpan = "POST " + invokeRoute

// forwardedWriteTree is the tree of one call made to the client sidecar for an actor on
// the "traced" sidecar, whose app writes state during the call.
var forwardedWriteTree = forwardedWriteUnder(httpInvokeSpan)

// forwardedWriteUnder is forwardedWriteTree for a call the client sidecar received as root.
func forwardedWriteUnder(root string) []edge {
	return append([]edge{
		{"placement lookup", "client", root, "client"},
		{"actor forward", "client", root, "client"},
	}, ownerWriteTree...)
}

// ownerWriteTree is the owner's part of forwardedWriteTree.
var ownerWriteTree = []edge{
	{"PUT " + invokeRoute, "traced", "actor forward", "client"},
	{"placement lookup", "traced", "PUT " + invokeRoute, "traced"},
	{"state transact", "traced", "PUT " + invokeRoute, "traced"}, // the owner's fence claim
	{"actor turn wait", "traced", "PUT " + invokeRoute, "traced"},
	{"app call", "traced", "PUT " + invokeRoute, "traced"},
	{"POST " + stateRoute, "traced", "app call", "traced"},
	{"state transact", "traced", "POST " + stateRoute, "traced"},
}

// requireTree checks that spans form one trace, rooted at the caller's span callerID by
// a client sidecar span named root, with every edge of want, each child inside its
// parent's time span.
func requireTree(t *testing.T, spans []span, traceID, callerID, root string, want []edge) {
	t.Helper()
	byID := make(map[string]span, len(spans))
	for _, s := range spans {
		require.Equal(t, traceID, s.traceID, "span %s is in another trace", s)
		byID[s.id] = s
	}

	var roots []span
	for _, s := range spans {
		if s.parentID == callerID {
			roots = append(roots, s)
		}
	}
	require.Len(t, roots, 1, "one span is the caller's child: %v", spans)
	require.Equal(t, root+"@client", roots[0].String())

	for _, e := range want {
		require.True(t, hasEdge(byID, e), "no span %s@%s under %s@%s in %v",
			e.child, e.childSvc, e.parent, e.parentSvc, spans)
	}
	require.Len(t, spans, len(want)+1, "unexpected spans: %v", spans)
}

func hasEdge(byID map[string]span, e edge) bool {
	for _, s := range byID {
		p, ok := byID[s.parentID]
		if !ok || s.name != e.child || s.service != e.childSvc ||
			p.name != e.parent || p.service != e.parentSvc {
			continue
		}
		// Jaeger reports whole microseconds, so allow for its rounding.
		const slack = 2 * time.Microsecond
		if !s.start.Before(p.start.Add(-slack)) && !s.end.After(p.end.Add(slack)) {
			return true
		}
	}
	return false
}

// newTraceparent returns a fresh sampled traceparent and its trace and span ids.
func newTraceparent() (header, traceID, spanID string) {
	var b [24]byte
	rand.Read(b[:])
	traceID, spanID = hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	return "00-" + traceID + "-" + spanID + "-01", traceID, spanID
}

// collector is an OTLP/HTTP trace receiver that keeps every span it is sent.
type collector struct {
	srv *httptest.Server

	mu    sync.Mutex
	spans []span
}

func startCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.export))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) addr() string { return strings.TrimPrefix(c.srv.URL, "http://") }

func (c *collector) export(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, span{
					traceID:  hex.EncodeToString(s.TraceId),
					id:       hex.EncodeToString(s.SpanId),
					parentID: hex.EncodeToString(s.ParentSpanId),
					name:     s.Name,
					service:  service,
					start:    time.Unix(0, int64(s.StartTimeUnixNano)),
					end:      time.Unix(0, int64(s.EndTimeUnixNano)),
				})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(out)
}

// trace returns the spans received for traceID.
func (c *collector) trace(traceID string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, s := range c.spans {
		if s.traceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

func TestForwardedCallIsOneTrace(t *testing.T) {
	// Export every 50 ms rather than every 5 s.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	col := startCollector(t)
	c := startCluster(t, "  tracing:\n    samplingRate: \"1\"\n    otel:\n"+
		"      endpointAddress: "+col.addr()+"\n      isSecure: false\n      protocol: http\n")

	header, traceID, callerID := newTraceparent()
	c.a.invoke(t, "t1", "hello", "traceparent", header)

	require.Eventually(t, func() bool {
		return len(col.trace(traceID)) >= len(forwardedWriteTree)+1
	}, 10*time.Second, 20*time.Millisecond, "spans did not arrive")
	requireTree(t, col.trace(traceID), traceID, callerID, httpInvokeSpan, forwardedWriteTree)
}

func TestSamplingZeroExportsNothing(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	col := startCollector(t)
	c := startCluster(t, "  tracing:\n    samplingRate: \"0\"\n    otel:\n"+
		"      endpointAddress: "+col.addr()+"\n      protocol: http\n")

	header, _, _ := newTraceparent()
	c.a.invoke(t, "t1", "hello", "traceparent", header)
	c.a.stop(t)
	c.b.stop(t)

	require.Empty(t, col.trace(""), "nothing at all")
	col.mu.Lock()
	defer col.mu.Unlock()
	require.Empty(t, col.spans)
}

func TestGRPCCallIsOneTrace(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	col := startCollector(t)
	c := startCluster(t, "  tracing:\n    samplingRate: \"1\"\n    otel:\n"+
		"      endpointAddress: "+col.addr()+"\n      protocol: http\n")
	conn, err := grpc.NewClient(c.a.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()

	header, traceID, callerID := newTraceparent()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", header)
	_, err = runtimev1pb.NewDaprClient(conn).InvokeActor(ctx, &runtimev1pb.InvokeActorRequest{
		ActorType: tracedType, ActorId: "g1", Method: "write", Data: []byte("x"),
	})
	require.NoError(t, err)

	const root = "dapr.proto.runtime.v1.Dapr/InvokeActor"
	want := forwardedWriteUnder(root)
	require.Eventually(t, func() bool { return len(col.trace(traceID)) >= len(want)+1 },
		10*time.Second, 20*time.Millisecond, "spans did not arrive")
	requireTree(t, col.trace(traceID), traceID, callerID, root, want)
}

func TestUnsampledCallerIsPropagatedNotRecorded(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	col := startCollector(t)
	c := startCluster(t, "  tracing:\n    samplingRate: \"1\"\n    otel:\n"+
		"      endpointAddress: "+col.addr()+"\n      protocol: http\n")

	header, traceID, _ := newTraceparent()
	unsampled := strings.TrimSuffix(header, "-01") + "-00"
	c.a.invoke(t, "u1", "x", "traceparent", unsampled)
	c.a.stop(t)
	c.b.stop(t)

	require.Empty(t, col.trace(traceID), "the caller chose not to record this trace")
	got := c.app.received()
	require.Len(t, got, 1)
	require.Contains(t, got[0], traceID, "the app still joins the caller's trace")
	require.True(t, strings.HasSuffix(got[0], "-00"), "and hears it is not sampled: %s", got[0])
}

func TestExporterEndpoints(t *testing.T) {
	col := startCollector(t)
	for _, tc := range []struct {
		name string
		cfg  telemetry.TracingConfig
		env  string
	}{
		{name: "host:port", cfg: telemetry.TracingConfig{Endpoint: col.addr(), Protocol: "http"}},
		{name: "url", cfg: telemetry.TracingConfig{Endpoint: col.srv.URL + "/v1/traces",
			Protocol: "http"}},
		{name: "environment", env: col.srv.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tc.env)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
			tc.cfg.ServiceName, tc.cfg.SamplingRate = "endpoint-"+tc.name, "1"
			tel, err := telemetry.New(context.Background(), telemetry.Config{Tracing: tc.cfg})
			require.NoError(t, err)
			require.True(t, tel.Tracing.Enabled())

			_, end := tel.StartFiring(context.Background(), telemetry.Timer, "T", "1", "t")
			end(nil)
			require.NoError(t, tel.Shutdown(context.Background()), "flushes the span")

			col.mu.Lock()
			defer col.mu.Unlock()
			require.Contains(t, fmt.Sprint(col.spans), "timer fire@endpoint-"+tc.name)
		})
	}
}
