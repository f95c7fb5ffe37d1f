package artifact

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Options, as DefaultOptions returns them.
const (
	DefaultHTTPPort          = 8082
	DefaultAppPort           = 3000
	DefaultDaprHost          = "127.0.0.1"
	DefaultDaprHTTPPort      = 3500
	DefaultActorIdleTimeout  = 10 * time.Minute
	DefaultCallTimeout       = 30 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultSidecarConns      = 256
	DefaultActivationLogSize = 100_000
)

// Options configures Run. Start from DefaultOptions: a zero Options does not validate.
type Options struct {
	// HTTPPort is the public API port. 0 picks a free port; see Ready.
	HTTPPort int
	// AppPort is the actor callback port the sidecar calls (its --app-port). 0 picks a
	// free port, which the sidecar must then be told.
	AppPort int
	// ListenHost is the address both servers bind to; empty means all interfaces.
	ListenHost string

	// DaprHost and DaprHTTPPort locate the sidecar's HTTP API.
	DaprHost     string
	DaprHTTPPort int
	// DaprAPIToken, when set, is sent as dapr-api-token on every call to the sidecar
	// (the sidecar's DAPR_API_TOKEN).
	DaprAPIToken string
	// AppAPIToken, when set, must arrive as dapr-api-token on every callback from the
	// sidecar except the health probe (the sidecar's APP_API_TOKEN).
	AppAPIToken string

	// ActorIdleTimeout is reported to the sidecar in /dapr/config: how long an actor may
	// go without calls before the sidecar deactivates it. Short values cost reloads of
	// state; long ones keep more actors in the sidecar's memory.
	ActorIdleTimeout time.Duration
	// CallTimeout bounds each call to the sidecar, including the wait for an actor's
	// turn. A public API call that runs out answers 504.
	CallTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown after the context ends; requests still
	// running then are cut off.
	ShutdownTimeout time.Duration
	// SidecarConns is how many idle keep-alive connections to the sidecar are kept. Set
	// it to the expected number of concurrent requests; fewer means dialling under load.
	SidecarConns int
	// ActivationLogSize is how many finished activations /debug/activations keeps; older
	// ones are dropped and counted. Active ones are always kept.
	ActivationLogSize int

	// Logger receives the service's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for the activation log; nil means time.Now.
	Now func() time.Time
	// Ready, when non-nil, receives the bound addresses once, after both servers accept
	// connections. Run waits for the receive (or for the context to end), so give it a
	// buffer of one if nothing receives right away. If Run fails before then, nothing is
	// sent and Run returns the error.
	Ready chan<- Addrs
}

// Addrs are the addresses Run bound, as host:port. An unspecified bind address (all
// interfaces) is reported as 127.0.0.1, so each value can be dialled as is.
type Addrs struct {
	// HTTP is the public API address.
	HTTP string
	// App is the actor callback address, the one to give the sidecar.
	App string
}

// DefaultOptions returns working defaults: the public API on 8082, callbacks on 3000 and
// the sidecar at 127.0.0.1:3500, without tokens.
func DefaultOptions() Options {
	return Options{
		HTTPPort:          DefaultHTTPPort,
		AppPort:           DefaultAppPort,
		DaprHost:          DefaultDaprHost,
		DaprHTTPPort:      DefaultDaprHTTPPort,
		ActorIdleTimeout:  DefaultActorIdleTimeout,
		CallTimeout:       DefaultCallTimeout,
		ShutdownTimeout:   DefaultShutdownTimeout,
		SidecarConns:      DefaultSidecarConns,
		ActivationLogSize: DefaultActivationLogSize,
	}
}

// Validate returns the first field that is out of range.
func (o Options) Validate() error {
	switch {
	case o.HTTPPort < 0 || o.HTTPPort > 65535:
		return fmt.Errorf("HTTPPort %d is out of range 0-65535", o.HTTPPort)
	case o.AppPort < 0 || o.AppPort > 65535:
		return fmt.Errorf("AppPort %d is out of range 0-65535", o.AppPort)
	case o.HTTPPort != 0 && o.HTTPPort == o.AppPort:
		return fmt.Errorf("HTTPPort and AppPort are both %d; they must differ", o.HTTPPort)
	case o.DaprHost == "":
		return errors.New("DaprHost is empty")
	case o.DaprHTTPPort < 1 || o.DaprHTTPPort > 65535:
		return fmt.Errorf("DaprHTTPPort %d is out of range 1-65535", o.DaprHTTPPort)
	case o.ActorIdleTimeout < time.Second:
		return fmt.Errorf("ActorIdleTimeout %v is below the minimum 1s", o.ActorIdleTimeout)
	case o.CallTimeout <= 0:
		return fmt.Errorf("CallTimeout %v must be positive", o.CallTimeout)
	case o.ShutdownTimeout <= 0:
		return fmt.Errorf("ShutdownTimeout %v must be positive", o.ShutdownTimeout)
	case o.SidecarConns < 1:
		return fmt.Errorf("SidecarConns %d must be at least 1", o.SidecarConns)
	case o.ActivationLogSize < 0:
		return fmt.Errorf("ActivationLogSize %d must not be negative", o.ActivationLogSize)
	}
	return nil
}
