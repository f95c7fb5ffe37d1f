// Package sidecar assembles a troupe sidecar: the state store, the app channel, the actor
// runtime and the HTTP API, started in order and stopped gracefully. The sidecar binary
// only parses flags into Options and calls Run, so tests can run a sidecar in-process.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/actorstore"
	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/grpcapi"
	"github.com/troupe-dev/troupe/internal/httpapi"
	"github.com/troupe-dev/troupe/internal/placementclient"
	"github.com/troupe-dev/troupe/internal/telemetry"
)

// Run starts a sidecar and serves until ctx ends, then drains calls in flight and
// deactivates its actors before returning.
func Run(ctx context.Context, opts Options, log *slog.Logger) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("invalid options: %w", err)
	}
	conf, err := LoadConfiguration(opts.ConfigPath, log)
	if err != nil {
		return err
	}
	tracing := conf.TracingConfig(opts.AppID)
	tel, err := telemetry.New(ctx, telemetry.Config{Tracing: tracing, Metrics: opts.EnableMetrics})
	if err != nil {
		return err
	}
	if tel.Tracing.Enabled() {
		log.Info("exporting spans", "endpoint", tracing.Endpoint, "protocol", tracing.Protocol,
			"sampling_rate", tracing.SamplingRate)
	}
	defer flushTelemetry(tel, log)

	store, err := openStore(ctx, opts, log, tel)
	if err != nil {
		return err
	}
	defer store.Close()

	s := &sidecar{opts: opts, log: log, store: store, tel: tel,
		runtimeReady: make(chan struct{})}
	return s.serve(ctx)
}

// flushTelemetry exports the spans still buffered, bounded so a dead collector cannot
// hold the shutdown.
func flushTelemetry(tel *telemetry.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("spans not exported", "err", err)
	}
}

func openStore(ctx context.Context, opts Options, log *slog.Logger,
	tel *telemetry.Telemetry) (components.Store, error) {
	comps, err := components.LoadDir(opts.ResourcesPaths...)
	if err != nil {
		return nil, fmt.Errorf("loading components: %w", err)
	}
	store, desc, err := actorstore.Open(ctx, comps, opts.EmbeddedStorePath)
	if err != nil {
		return nil, fmt.Errorf("opening actor state store: %w", err)
	}
	log.Info("actor state store ready", "store", desc.String())
	return tel.WrapStore(store, telemetry.StoreSystem(desc.Kind)), nil
}

// sidecar is one running sidecar.
type sidecar struct {
	opts  Options
	log   *slog.Logger
	store components.Store
	tel   *telemetry.Telemetry

	// metrics serves /metrics; nil when metrics are off or their port was taken.
	metrics *telemetry.MetricsServer

	// runtime is set once, before runtimeReady is closed.
	runtime      *actors.Runtime
	runtimeReady chan struct{}
	ready        atomic.Bool

	// health is the app's health probe; nil without an app.
	health atomic.Pointer[appHealth]

	// placementDone is closed when the placement client has left the cluster (at once
	// in single-node mode).
	placementDone chan struct{}
}

// servers are the sidecar's network front ends.
type servers struct {
	api      *http.Server // the Dapr HTTP API
	internal *http.Server // calls forwarded by other sidecars
	grpc     *grpc.Server // the Dapr gRPC API
}

func (s *sidecar) serve(ctx context.Context) error {
	srv := s.newServers()
	group, failed := errgroup.WithContext(context.Background())
	if err := s.startServers(group, srv); err != nil {
		return err
	}

	runCtx, stopRuntime := context.WithCancel(context.Background())
	defer stopRuntime()
	var app *appchannel.Channel
	s.placementDone = make(chan struct{})
	group.Go(func() error {
		var err error
		if app, err = s.startRuntime(ctx); err != nil {
			close(s.placementDone)
			return err
		}
		s.startPlacement(ctx, group)
		if app != nil {
			health := newAppHealth(app, s.log)
			s.health.Store(health)
			group.Go(func() error { health.run(runCtx); return nil })
		}
		group.Go(func() error { return s.runtime.RunSchedules(runCtx) })
		return s.runtime.Run(runCtx)
	})

	select {
	case <-ctx.Done():
	case <-failed.Done():
	}
	err := s.shutdown(srv)
	stopRuntime()
	err = errors.Join(err, group.Wait())
	if app != nil {
		app.Close()
	}
	return err
}

func (s *sidecar) newServers() servers {
	httpServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout: 2 * time.Minute}
	}
	return servers{
		api:      httpServer(s.handler(s.opts.APIToken)),
		internal: httpServer(s.handler("")),
		grpc: grpcapi.New(grpcapi.Options{
			AppID:       s.opts.AppID,
			Token:       s.opts.APIToken,
			MaxBodySize: s.opts.MaxBodySize,
			Runtime:     s.waitRuntime,
			Metadata:    s.metadata,
			Reminders:   scheduleAPI{s.waitRuntime},
			Timers:      scheduleAPI{s.waitRuntime},
			Logger:      s.log,

			ServerOptions: s.tel.GRPCServerOptions(),
		}),
	}
}

// startServers listens on every port before returning, so that clients (go-sdk dials
// with a short timeout) can connect while the app is still starting.
func (s *sidecar) startServers(group *errgroup.Group, srv servers) error {
	var all []net.Listener
	listen := func(port int) ([]net.Listener, error) {
		lns, err := s.listen(port)
		all = append(all, lns...)
		return lns, err
	}

	apiLns, err := listen(s.opts.HTTPPort)
	if err == nil && s.opts.GRPCPort > 0 {
		var grpcLns []net.Listener
		if grpcLns, err = listen(s.opts.GRPCPort); err == nil {
			for _, ln := range grpcLns {
				group.Go(func() error { return srv.grpc.Serve(ln) })
			}
		}
	}
	if err == nil && s.clustered() {
		var internalLns []net.Listener
		if internalLns, err = listen(s.opts.InternalGRPCPort); err == nil {
			for _, ln := range internalLns {
				group.Go(func() error { return serveHTTP(srv.internal, ln) })
			}
		}
	}
	if err != nil {
		for _, ln := range all {
			ln.Close()
		}
		return err
	}

	for _, ln := range apiLns {
		group.Go(func() error { return serveHTTP(srv.api, ln) })
	}
	s.startMetrics(group)
	s.log.Info("dapr apis listening", "http", apiLns[0].Addr().String(),
		"grpc_port", s.opts.GRPCPort)
	return nil
}

// startMetrics serves /metrics when they are on. A taken port is logged, not fatal: the
// actors matter more than their metrics.
func (s *sidecar) startMetrics(group *errgroup.Group) {
	if s.tel.Metrics == nil {
		return
	}
	addr := net.JoinHostPort(s.opts.MetricsListenAddress, strconv.Itoa(s.opts.MetricsPort))
	srv, err := s.tel.Metrics.Listen(addr)
	if err != nil {
		s.log.Warn("metrics not served", "err", err)
		return
	}
	s.metrics = srv
	group.Go(srv.Serve)
	s.log.Info("metrics listening", "address", srv.Addr())
}

func (s *sidecar) clustered() bool { return len(s.opts.PlacementAddresses) > 0 }

// selfAddress is the address other sidecars reach this one's internal API at.
func (s *sidecar) selfAddress() string {
	return net.JoinHostPort(s.opts.HostAddress, strconv.Itoa(s.opts.InternalGRPCPort))
}

func (s *sidecar) listen(port int) ([]net.Listener, error) {
	addrs := s.opts.ListenAddresses
	if len(addrs) == 0 {
		addrs = []string{DefaultListenAddress}
	}

	var listeners []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return nil, fmt.Errorf("listening on port %d: %w", port, err)
		}
		listeners = append(listeners, ln)
	}
	return listeners, nil
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving http: %w", err)
	}
	return nil
}

// startPlacement joins the cluster; the client leaves it (handing the actors over) when
// ctx ends.
func (s *sidecar) startPlacement(ctx context.Context, group *errgroup.Group) {
	if !s.clustered() {
		close(s.placementDone)
		return
	}
	cfg := placementclient.Config{
		Addresses: s.opts.PlacementAddresses,
		Self: placementclient.Member{
			Name:     s.selfAddress(),
			AppID:    s.opts.AppID,
			Entities: s.runtime.Config().Types(),
		},
		Logger: s.log,
	}
	group.Go(func() error {
		defer close(s.placementDone)
		err := placementclient.Run(ctx, cfg, s.runtime)
		if errors.Is(err, placementclient.ErrLeaveTimeout) {
			s.log.Warn("leaving the cluster timed out; actors are handed over by lease expiry")
			return nil
		}
		return err
	})
}

// handler returns the HTTP API; token is the API token it requires ("" for none).
func (s *sidecar) handler(token string) http.Handler {
	return httpapi.New(httpapi.Options{
		AppID:       s.opts.AppID,
		Token:       token,
		MaxBodySize: s.opts.MaxBodySize,
		Runtime:     s.waitRuntime,
		Ready:       s.ready.Load,
		Metadata:    s.metadata,
		Middleware:  s.tel.HTTPMiddleware(),
	})
}

// startRuntime waits for the app, reads its actor configuration and creates the runtime.
// It returns a nil channel when the sidecar has no app.
func (s *sidecar) startRuntime(ctx context.Context) (*appchannel.Channel, error) {
	if s.opts.AppPort == 0 {
		s.setRuntime(actors.New(s.runtimeOptions(nil, actors.Config{})))
		return nil, nil
	}

	app := appchannel.New(appchannel.Config{
		Address:     net.JoinHostPort(s.appHost(), strconv.Itoa(s.opts.AppPort)),
		AppID:       s.opts.AppID,
		Token:       s.opts.AppToken,
		MaxBodySize: s.opts.MaxBodySize,
		Inject:      s.tel.Inject(),
	})
	if err := app.WaitForPort(ctx); err != nil {
		return nil, err
	}

	cfg := s.readAppConfig(ctx, app)
	s.setRuntime(actors.New(s.runtimeOptions(s.tel.WrapApp(app, app.Address()), cfg)))
	s.log.Info("actor runtime ready", "app_id", s.opts.AppID, "actor_types", cfg.Types())
	return app, nil
}

func (s *sidecar) runtimeOptions(app actors.App, cfg actors.Config) actors.Options {
	opts := actors.Options{
		AppID:       s.opts.AppID,
		App:         app,
		Store:       s.store,
		Config:      cfg,
		Logger:      s.log,
		MaxBodySize: s.opts.MaxBodySize,
		CallTimeout: s.opts.ActorCallTimeout,
		Observer:    s.tel.Observer(),
	}
	if s.clustered() {
		opts.Self = s.selfAddress()
	}
	return opts
}

func (s *sidecar) appHost() string {
	if s.opts.AppHost != "" {
		return s.opts.AppHost
	}
	return "127.0.0.1"
}

// readAppConfig reads /dapr/config once; a failure means the app hosts no actors, as in
// daprd.
func (s *sidecar) readAppConfig(ctx context.Context, app *appchannel.Channel) actors.Config {
	body, err := app.Config(ctx)
	if err != nil {
		s.log.Warn("app hosts no actors", "err", err)
		return actors.Config{}
	}
	cfg, warnings, err := actors.ParseConfig(body)
	if err != nil {
		s.log.Warn("app hosts no actors", "err", err)
		return actors.Config{}
	}
	for _, w := range warnings {
		s.log.Warn("app actor config", "warning", w)
	}
	return cfg
}

func (s *sidecar) setRuntime(rt *actors.Runtime) {
	s.runtime = rt
	s.tel.Metrics.ObserveRuntime(telemetry.RuntimeSource{
		ActiveCounts:    rt.ActiveCounts,
		PlacementStatus: rt.PlacementStatus,
	})
	s.ready.Store(true)
	close(s.runtimeReady)
	if s.opts.OnReady != nil {
		s.opts.OnReady()
	}
}

func (s *sidecar) waitRuntime(ctx context.Context) (*actors.Runtime, error) {
	select {
	case <-s.runtimeReady:
		return s.runtime, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// shutdown hands the actors over (in a cluster), drains the calls in flight and
// deactivates what is left while the APIs still serve the actors' own state calls, then
// stops the APIs; all within ShutdownTimeout.
func (s *sidecar) shutdown(srv servers) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	s.log.Info("sidecar shutting down")

	var errs []error
	select {
	case <-s.placementDone:
	case <-ctx.Done():
	}
	select {
	case <-s.runtimeReady:
		if err := s.runtime.Drain(ctx); err != nil {
			errs = append(errs, err)
		}
	default:
	}

	for _, h := range []*http.Server{srv.api, srv.internal} {
		if err := h.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping http server: %w", err))
		}
	}
	stopGRPC(ctx, srv.grpc)
	if s.metrics != nil {
		if err := s.metrics.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping metrics server: %w", err))
		}
	}
	return errors.Join(errs...)
}

// stopGRPC stops gracefully, or at once when ctx ends first.
func stopGRPC(ctx context.Context, g *grpc.Server) {
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		g.Stop()
	}
}

func (s *sidecar) metadata() httpapi.ActorRuntimeStatus {
	status := httpapi.ActorRuntimeStatus{
		RuntimeStatus: "INITIALIZING",
		ActiveActors:  []httpapi.ActiveCount{},
		Placement:     "placement: single-node",
	}
	if !s.ready.Load() {
		return status
	}

	status.RuntimeStatus = "RUNNING"
	health := s.health.Load()
	status.HostReady = health == nil || health.healthy.Load()
	if version, connected, clustered := s.runtime.PlacementStatus(); clustered {
		status.TableVersion = version
		status.HostReady = status.HostReady && connected
		status.Placement = "placement: disconnected"
		if connected {
			status.Placement = "placement: connected"
		}
	}
	for typ, n := range s.runtime.ActiveCounts() {
		status.ActiveActors = append(status.ActiveActors, httpapi.ActiveCount{Type: typ, Count: n})
	}
	slices.SortFunc(status.ActiveActors, func(a, b httpapi.ActiveCount) int {
		return strings.Compare(a.Type, b.Type)
	})
	return status
}
