package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Config chooses a sidecar's telemetry.
type Config struct {
	// Tracing says where spans go; tracing is off when it names no exporter.
	Tracing TracingConfig

	// Metrics turns the Prometheus metrics on.
	Metrics bool
}

// New returns the telemetry cfg describes. Call Shutdown when done to flush spans.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	tracing, err := NewTracing(ctx, cfg.Tracing)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{Tracing: tracing}
	if cfg.Metrics {
		t.Metrics = NewMetrics()
	}
	return t, nil
}

// StoreSystem is the db.system.name of an actor store kind ("state.redis" or the
// embedded SQLite store).
func StoreSystem(kind string) string {
	if kind == "state.redis" {
		return "redis"
	}
	return "sqlite"
}

// MetricsServer serves GET /metrics on its own port.
type MetricsServer struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr (host:port; an empty host means every interface) for the metrics.
func (m *Metrics) Listen(addr string) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return &MetricsServer{srv: srv, ln: ln}, nil
}

// Addr is the address the server listens on.
func (s *MetricsServer) Addr() string { return s.ln.Addr().String() }

// Serve serves until Shutdown; it returns nil then.
func (s *MetricsServer) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving metrics: %w", err)
	}
	return nil
}

// Shutdown stops the server, letting a scrape in flight finish until ctx ends.
func (s *MetricsServer) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}
