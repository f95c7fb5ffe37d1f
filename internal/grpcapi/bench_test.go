package grpcapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/httpapi"
)

const (
	benchClients = 32
	benchActors  = 100
)

// BenchmarkInvokeActorGRPCvsHTTP calls InvokeActor over the gRPC API and the same method
// over the HTTP API, against one runtime and app, in the same run: 32 concurrent clients
// spread over 100 actors. It reports both rates and their ratio; the goal is gRPC >= HTTP.
// The gRPC side shares one connection, as the SDKs do; the HTTP side keeps a keep-alive
// connection per client.
func BenchmarkInvokeActorGRPCvsHTTP(b *testing.B) {
	h := newHarness(b, nil)
	grpcCall := grpcInvoker(h)
	httpCall := httpInvoker(b, h.runtime)

	// Activate every actor and open every connection before measuring.
	runCalls(b, 4*benchActors, grpcCall)
	runCalls(b, 4*benchActors, httpCall)

	b.ResetTimer()
	grpcTime := runCalls(b, b.N, grpcCall)
	httpTime := runCalls(b, b.N, httpCall)
	b.StopTimer()

	grpcRate := float64(b.N) / grpcTime.Seconds()
	httpRate := float64(b.N) / httpTime.Seconds()
	b.ReportMetric(grpcRate, "grpc_calls/s")
	b.ReportMetric(httpRate, "http_calls/s")
	b.ReportMetric(grpcRate/httpRate, "grpc/http")
	b.Logf("%d calls each: gRPC %.0f calls/s, HTTP %.0f calls/s, gRPC/HTTP %.2f (goal >= 1)",
		b.N, grpcRate, httpRate, grpcRate/httpRate)
}

var benchData = []byte(`{"amount":1}`)

func grpcInvoker(h *harness) func(int) error {
	ctx := context.Background()
	reqs := make([]*runtimev1pb.InvokeActorRequest, benchActors)
	for i := range reqs {
		reqs[i] = &runtimev1pb.InvokeActorRequest{
			ActorType: "counter", ActorId: fmt.Sprint("actor-", i), Method: "echo",
			Data: benchData,
		}
	}
	return func(i int) error {
		_, err := h.client.InvokeActor(ctx, reqs[i%benchActors])
		return err
	}
}

// httpInvoker serves the HTTP API in front of rt on loopback and returns a caller of it.
func httpInvoker(b *testing.B, rt *actors.Runtime) func(int) error {
	api := httptest.NewServer(httpapi.New(httpapi.Options{
		AppID:       testAppID,
		MaxBodySize: 64 << 10,
		Runtime:     func(context.Context) (*actors.Runtime, error) { return rt, nil },
		Ready:       func() bool { return true },
		Metadata:    func() httpapi.ActorRuntimeStatus { return httpapi.ActorRuntimeStatus{} },
	}))
	b.Cleanup(api.Close)

	transport := &http.Transport{MaxIdleConnsPerHost: benchClients}
	b.Cleanup(transport.CloseIdleConnections)
	httpClient := &http.Client{Transport: transport}

	urls := make([]string, benchActors)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/v1.0/actors/counter/actor-%d/method/echo", api.URL, i)
	}
	return func(i int) error {
		resp, err := httpClient.Post(urls[i%benchActors], "application/json",
			bytes.NewReader(benchData))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("http api answered %d", resp.StatusCode)
		}
		return nil
	}
}

// runCalls makes n calls from benchClients goroutines and returns how long they took.
func runCalls(b *testing.B, n int, call func(int) error) time.Duration {
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup

	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := call(i); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	return elapsed
}
