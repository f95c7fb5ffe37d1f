package sidecar

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Defaults of the sidecar's options, matching daprd where daprd has the same option.
const (
	DefaultHTTPPort         = 3500
	DefaultGRPCPort         = 50001
	DefaultInternalGRPCPort = 50002
	DefaultMetricsPort      = 9090
	DefaultMaxBodySize      = 4 << 20
	DefaultListenAddress    = "127.0.0.1"
	DefaultShutdownTimeout  = 30 * time.Second
)

// Options configures a sidecar. Flags map onto it one to one (see sidecar/main.go).
type Options struct {
	// AppID names the app; it prefixes the app's actor state keys.
	AppID string

	// AppPort is the app's HTTP port; 0 means the app hosts no actors (a client-only
	// sidecar).
	AppPort int

	// AppHost is the app's host; empty means 127.0.0.1.
	AppHost string

	// AppProtocol must be "http" (the only app protocol troupe speaks).
	AppProtocol string

	// HTTPPort serves the Dapr HTTP API.
	HTTPPort int

	// GRPCPort is reserved for the Dapr gRPC API.
	GRPCPort int

	// InternalGRPCPort is reserved for sidecar-to-sidecar calls.
	InternalGRPCPort int

	// HostAddress is the address other sidecars reach this one at (DAPR_HOST_IP); its
	// internal API is HostAddress:InternalGRPCPort.
	HostAddress string

	// ListenAddresses are the addresses the API binds; empty means DefaultListenAddress.
	ListenAddresses []string

	// PlacementAddresses lists placement services; empty means single-node mode, where
	// this sidecar owns every actor of the types its app hosts.
	PlacementAddresses []string

	// ResourcesPaths are folders of Dapr component files.
	ResourcesPaths []string

	// ConfigPath is a Dapr Configuration file; empty means none.
	ConfigPath string

	// EmbeddedStorePath is the file of the embedded state store, used when no component
	// is an actor state store.
	EmbeddedStorePath string

	// MaxBodySize bounds request bodies and the app's response bodies.
	MaxBodySize int64

	// APIToken, when set, is required from callers as dapr-api-token (DAPR_API_TOKEN).
	APIToken string

	// AppToken, when set, is sent to the app as dapr-api-token (APP_API_TOKEN).
	AppToken string

	// EnableMetrics serves Prometheus metrics on MetricsListenAddress:MetricsPort
	// (GET /metrics). A port already taken is logged and the sidecar runs without them.
	EnableMetrics bool
	MetricsPort   int

	// MetricsListenAddress is the interface the metrics bind; empty means all of them, as
	// daprd does, so that Prometheus can scrape the pod.
	MetricsListenAddress string

	// ShutdownTimeout bounds the graceful drain on shutdown.
	ShutdownTimeout time.Duration

	// ActorCallTimeout, when positive, bounds one call to the app.
	ActorCallTimeout time.Duration

	// OnReady, when set, is called once the actor runtime is ready to take calls.
	OnReady func()
}

// DefaultOptions returns options with every default filled in.
func DefaultOptions() Options {
	return Options{
		AppProtocol:       "http",
		HTTPPort:          DefaultHTTPPort,
		GRPCPort:          DefaultGRPCPort,
		InternalGRPCPort:  DefaultInternalGRPCPort,
		HostAddress:       DefaultListenAddress,
		MetricsPort:       DefaultMetricsPort,
		EnableMetrics:     true,
		MaxBodySize:       DefaultMaxBodySize,
		EmbeddedStorePath: DefaultEmbeddedStorePath(),
		ShutdownTimeout:   DefaultShutdownTimeout,
	}
}

// DefaultEmbeddedStorePath is $HOME/.troupe/actors.db, or a file in the temporary folder
// when there is no home.
func DefaultEmbeddedStorePath() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "troupe", "actors.db")
	}
	return filepath.Join(home, ".troupe", "actors.db")
}

// Validate returns the first problem with o.
func (o Options) Validate() error {
	switch {
	case o.AppID == "":
		return errors.New("app id is required (--app-id)")
	case o.AppProtocol != "http":
		return fmt.Errorf("app protocol %q is not supported; use http", o.AppProtocol)
	case !validPort(o.AppPort, true):
		return fmt.Errorf("app port %d is out of range", o.AppPort)
	case !validPort(o.HTTPPort, true):
		return fmt.Errorf("http port %d is out of range", o.HTTPPort)
	case len(o.PlacementAddresses) > 0 && o.HostAddress == "":
		return errors.New("host address is required with placement (DAPR_HOST_IP)")
	case len(o.PlacementAddresses) > 0 && !validPort(o.InternalGRPCPort, false):
		return fmt.Errorf("internal port %d is out of range", o.InternalGRPCPort)
	case o.MaxBodySize <= 0:
		return fmt.Errorf("max body size %d must be positive", o.MaxBodySize)
	case o.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown timeout %s must be positive", o.ShutdownTimeout)
	}
	return nil
}

func validPort(p int, zeroOK bool) bool {
	return (zeroOK && p == 0) || (p > 0 && p < 65536)
}
