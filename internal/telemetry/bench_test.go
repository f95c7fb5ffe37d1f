package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/httpapi"
	"github.com/troupe-dev/troupe/internal/telemetry"
)

// BenchmarkInvokeTracing measures one actor call through the HTTP API and the runtime at
// each tracing setting, metrics on throughout as in a default sidecar. "off" has no
// tracing configured; "sampling=0" configures an exporter but samples nothing and must
// cost the same (it installs nothing); the sampled settings export to a discarding
// exporter, so they show the cost of creating spans, not of the network. The app is an
// in-process stand-in that answers at once, so the sidecar's own cost is what is timed.
//
//	go test -run - -bench InvokeTracing -benchmem ./internal/telemetry/
func BenchmarkInvokeTracing(b *testing.B) {
	for _, bc := range []struct {
		name string
		rate string // "" for no tracing at all
	}{
		{"off", ""}, {"sampling=0", "0"}, {"sampling=0.01", "0.01"}, {"sampling=1", "1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			handler := benchSidecar(b, bc.rate)
			req := httptest.NewRequest(http.MethodPut, "/v1.0/actors/Bench/b1/method/noop", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// benchSidecar assembles the HTTP API, runtime, store and app the way the sidecar does,
// with tracing at rate.
func benchSidecar(b *testing.B, rate string) http.Handler {
	cfg := telemetry.Config{Metrics: true}
	if rate != "" {
		cfg.Tracing = telemetry.TracingConfig{ServiceName: "bench", SamplingRate: rate,
			Endpoint: "127.0.0.1:4317", Exporter: tracetest.NewNoopExporter()}
	}
	tel, err := telemetry.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tel.Shutdown(context.Background()) })

	store, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	actorCfg, _, err := actors.ParseConfig([]byte(`{"entities":["Bench"]}`))
	if err != nil {
		b.Fatal(err)
	}

	rt := actors.New(actors.Options{
		AppID:    "bench",
		App:      tel.WrapApp(instantApp{inject: tel.Inject()}, "127.0.0.1:1"),
		Store:    tel.WrapStore(store, "sqlite"),
		Config:   actorCfg,
		Observer: tel.Observer(),
	})
	return httpapi.New(httpapi.Options{
		AppID:      "bench",
		Runtime:    func(context.Context) (*actors.Runtime, error) { return rt, nil },
		Ready:      func() bool { return true },
		Middleware: tel.HTTPMiddleware(),
	})
}

// instantApp answers every call with 200 at once, after building the outgoing headers as
// the app channel does (including the trace context).
type instantApp struct {
	inject func(context.Context, http.Header)
}

func (a instantApp) Invoke(ctx context.Context, _ *appchannel.Request) (*appchannel.Response,
	error) {
	if a.inject != nil {
		a.inject(ctx, make(http.Header, 2))
	}
	return &appchannel.Response{Status: http.StatusOK}, nil
}

func (instantApp) Deactivate(context.Context, string, string) error { return nil }
