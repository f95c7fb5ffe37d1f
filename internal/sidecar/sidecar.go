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

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/actorstore"
	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/httpapi"
)

// Run starts a sidecar and serves until ctx ends, then drains calls in flight and
// deactivates its actors before returning.
func Run(ctx context.Context, opts Options, log *slog.Logger) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("invalid options: %w", err)
	}
	if len(opts.PlacementAddresses) > 0 {
		log.Warn("placement is not implemented yet; running in single-node mode",
			"placement", opts.PlacementAddresses)
	}
	if _, err := LoadConfiguration(opts.ConfigPath, log); err != nil {
		return err
	}

	store, err := openStore(ctx, opts, log)
	if err != nil {
		return err
	}
	defer store.Close()

	s := &sidecar{opts: opts, log: log, store: store, runtimeReady: make(chan struct{})}
	return s.serve(ctx)
}

func openStore(ctx context.Context, opts Options, log *slog.Logger) (components.Store, error) {
	comps, err := components.LoadDir(opts.ResourcesPaths...)
	if err != nil {
		return nil, fmt.Errorf("loading components: %w", err)
	}
	store, desc, err := actorstore.Open(ctx, comps, opts.EmbeddedStorePath)
	if err != nil {
		return nil, fmt.Errorf("opening actor state store: %w", err)
	}
	log.Info("actor state store ready", "store", desc)
	return store, nil
}

// sidecar is one running sidecar.
type sidecar struct {
	opts  Options
	log   *slog.Logger
	store components.Store

	// runtime is set once, before runtimeReady is closed.
	runtime      *actors.Runtime
	runtimeReady chan struct{}
	ready        atomic.Bool
}

func (s *sidecar) serve(ctx context.Context) error {
	listeners, err := s.listen()
	if err != nil {
		return err
	}
	api := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	group, groupCtx := errgroup.WithContext(ctx)
	for _, ln := range listeners {
		group.Go(func() error { return serveHTTP(api, ln) })
	}
	s.log.Info("dapr http api listening", "addr", listeners[0].Addr().String())

	var app *appchannel.Channel
	group.Go(func() error {
		var err error
		app, err = s.startRuntime(groupCtx)
		if err != nil || app == nil {
			return err
		}
		return s.runtime.Run(groupCtx)
	})
	group.Go(func() error {
		<-groupCtx.Done()
		return s.shutdown(api)
	})

	err = group.Wait()
	if app != nil {
		app.Close()
	}
	return err
}

func (s *sidecar) listen() ([]net.Listener, error) {
	addrs := s.opts.ListenAddresses
	if len(addrs) == 0 {
		addrs = []string{DefaultListenAddress}
	}

	var listeners []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(s.opts.HTTPPort)))
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return nil, fmt.Errorf("listening for the http api: %w", err)
		}
		listeners = append(listeners, ln)
	}
	return listeners, nil
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving http api: %w", err)
	}
	return nil
}

func (s *sidecar) handler() http.Handler {
	return httpapi.New(httpapi.Options{
		AppID:       s.opts.AppID,
		Token:       s.opts.APIToken,
		MaxBodySize: s.opts.MaxBodySize,
		Runtime:     s.waitRuntime,
		Ready:       s.ready.Load,
		Metadata:    s.metadata,
	})
}

// startRuntime waits for the app, reads its actor configuration and creates the runtime.
// It returns a nil channel when the sidecar has no app.
func (s *sidecar) startRuntime(ctx context.Context) (*appchannel.Channel, error) {
	if s.opts.AppPort == 0 {
		s.setRuntime(actors.New(actors.Options{AppID: s.opts.AppID, Store: s.store}))
		return nil, nil
	}

	app := appchannel.New(appchannel.Config{
		Address:     net.JoinHostPort(s.appHost(), strconv.Itoa(s.opts.AppPort)),
		AppID:       s.opts.AppID,
		Token:       s.opts.AppToken,
		MaxBodySize: s.opts.MaxBodySize,
	})
	if err := app.WaitForPort(ctx); err != nil {
		return nil, err
	}

	cfg := s.readAppConfig(ctx, app)
	s.setRuntime(actors.New(actors.Options{
		AppID:       s.opts.AppID,
		App:         app,
		Store:       s.store,
		Config:      cfg,
		Logger:      s.log,
		CallTimeout: s.opts.ActorCallTimeout,
	}))
	s.log.Info("actor runtime ready", "app_id", s.opts.AppID, "actor_types", cfg.Types())
	return app, nil
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

// shutdown stops taking requests, waits for those in flight, then deactivates the actors,
// all within ShutdownTimeout.
func (s *sidecar) shutdown(api *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()

	s.log.Info("sidecar shutting down")
	var errs []error
	if err := api.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stopping http api: %w", err))
	}
	select {
	case <-s.runtimeReady:
		if err := s.runtime.Drain(ctx); err != nil {
			errs = append(errs, err)
		}
	default:
	}
	return errors.Join(errs...)
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
	status.HostReady = true
	for typ, n := range s.runtime.ActiveCounts() {
		status.ActiveActors = append(status.ActiveActors, httpapi.ActiveCount{Type: typ, Count: n})
	}
	slices.SortFunc(status.ActiveActors, func(a, b httpapi.ActiveCount) int {
		return strings.Compare(a.Type, b.Type)
	})
	return status
}
