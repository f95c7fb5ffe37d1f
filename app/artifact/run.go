package artifact

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Run serves the public API and the actor callbacks until ctx ends, then shuts both
// servers down gracefully and returns nil. It returns an error when opts do not
// validate, a port cannot be bound, a server stops on its own, or the shutdown runs past
// opts.ShutdownTimeout. Run calls nothing on the sidecar until a request arrives, so the
// sidecar may start before or after it.
func Run(ctx context.Context, opts Options) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	logger := cmp.Or(opts.Logger, slog.Default())
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	httpListener, appListener, err := listenBoth(ctx, opts)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}

	sidecar := newSidecarClient(opts.DaprHost, opts.DaprHTTPPort, opts.DaprAPIToken,
		opts.SidecarConns, opts.CallTimeout)
	defer sidecar.close()

	public := &api{sidecar: sidecar, logger: logger}
	host := &actorHost{
		sidecar:     sidecar,
		activations: newActivationLog(opts.ActivationLogSize, now),
		idleTimeout: opts.ActorIdleTimeout,
		appToken:    opts.AppAPIToken,
		logger:      logger,
	}
	apiServer := newServer(public.handler(), logger)
	appServer := newServer(host.handler(), logger)

	var wg sync.WaitGroup
	serveErrs := make(chan error, 2)
	wg.Go(func() { serveErrs <- serve(apiServer, httpListener) })
	wg.Go(func() { serveErrs <- serve(appServer, appListener) })

	logger.Info("artifact service started",
		"http_addr", httpListener.Addr().String(),
		"app_addr", appListener.Addr().String(),
		"dapr_addr", net.JoinHostPort(opts.DaprHost, strconv.Itoa(opts.DaprHTTPPort)))

	addrs := Addrs{HTTP: dialAddr(httpListener.Addr()), App: dialAddr(appListener.Addr())}

	runErr := awaitStop(ctx, opts.Ready, addrs, serveErrs)

	shutdownErr := shutdown(ctx, opts.ShutdownTimeout, apiServer, appServer)
	wg.Wait()
	logger.Info("artifact service stopped")

	if err := errors.Join(runErr, shutdownErr); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

// listenBoth binds the public and the callback port, or neither.
func listenBoth(ctx context.Context, opts Options) (httpLn, appLn net.Listener, err error) {
	var lc net.ListenConfig
	address := func(port int) string {
		return net.JoinHostPort(opts.ListenHost, strconv.Itoa(port))
	}

	httpLn, err = lc.Listen(ctx, "tcp", address(opts.HTTPPort))
	if err != nil {
		return nil, nil, fmt.Errorf("listen for the public API: %w", err)
	}

	appLn, err = lc.Listen(ctx, "tcp", address(opts.AppPort))
	if err != nil {
		httpLn.Close()
		return nil, nil, fmt.Errorf("listen for actor callbacks: %w", err)
	}
	return httpLn, appLn, nil
}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Connection-level errors (bad TLS probes, resets) are noise at info level.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// serve runs srv on ln and returns nil once srv is shut down, or why it stopped earlier.
func serve(srv *http.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve %s: %w", ln.Addr(), err)
}

// awaitStop reports addrs on ready (if not nil) and waits until ctx ends or a server
// stops, returning the server's error in the latter case.
func awaitStop(ctx context.Context, ready chan<- Addrs, addrs Addrs,
	serveErrs <-chan error,
) error {
	for {
		select {
		case ready <- addrs:
			ready = nil
		case <-ctx.Done():
			return nil
		case err := <-serveErrs:
			if err == nil {
				err = errors.New("server stopped unexpectedly")
			}
			return err
		}
	}
}

// shutdown stops the public API first, so that its in-flight requests can still reach
// their actors through the callback server, then the callback server. Whatever is still
// running after timeout is cut off.
func shutdown(ctx context.Context, timeout time.Duration, apiServer, appServer *http.Server,
) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()

	err := apiServer.Shutdown(ctx)
	if err == nil {
		err = appServer.Shutdown(ctx)
	}
	if err != nil {
		apiServer.Close()
		appServer.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

// dialAddr returns a listener's address in a form a local client can dial.
func dialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}

	ip := tcp.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}
