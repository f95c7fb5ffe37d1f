package placement

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Defaults and bounds of Options.
const (
	DefaultPort           = 50005
	DefaultHealthzPort    = 8080
	DefaultHeartbeat      = 200 * time.Millisecond
	DefaultLease          = 800 * time.Millisecond
	DefaultMemberTimeout  = 1200 * time.Millisecond
	DefaultBatchWindow    = 50 * time.Millisecond
	DefaultPrepareTimeout = 10 * time.Second

	MinHeartbeat   = 10 * time.Millisecond
	MaxHeartbeat   = 10 * time.Second
	MaxLease       = time.Minute
	MaxBatchWindow = 10 * time.Second
	MaxPrepare     = 10 * time.Minute
)

// Options configures a placement server. Start from DefaultOptions.
type Options struct {
	// ListenAddress is the interface both ports bind to; empty means all interfaces.
	ListenAddress string
	// Port is the gRPC port sidecars connect to; 0 picks a free port (see Server.Addr).
	Port int
	// HealthzPort serves GET /healthz, GET /placement/state and GET /metrics (Prometheus);
	// 0 picks a free port.
	HealthzPort int

	// Logger receives the service's logs. When nil, Run builds one from LogLevel and
	// LogAsJSON writing to stderr.
	Logger *slog.Logger
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogAsJSON selects JSON log lines instead of text.
	LogAsJSON bool

	// Heartbeat is how often sidecars must send a heartbeat. Shorter detects failures
	// no faster (MemberTimeout does) but lets leases survive a lost heartbeat or two.
	Heartbeat time.Duration
	// Lease is how long after sending an acknowledged heartbeat a sidecar may keep
	// admitting actor turns. It must cover a few heartbeats; the longer it is, the
	// longer a sidecar keeps serving while cut off from placement.
	Lease time.Duration
	// MemberTimeout is how long placement waits without hearing from a member before
	// it reassigns the member's actors. It must exceed Lease, so that a cut-off sidecar
	// has stopped serving first; the gap absorbs clock-rate differences and delays.
	// Failover takes about MemberTimeout + BatchWindow + one round trip.
	MemberTimeout time.Duration
	// BatchWindow gathers membership changes into one round: a round starts this long
	// after the first change it carries. Zero disseminates every change at once.
	BatchWindow time.Duration
	// SettleWindow is how long a freshly started placement collects Hellos before its
	// first round; zero means MemberTimeout. Shorter than MemberTimeout risks moving the
	// actors of a sidecar that still holds a lease granted by the previous placement
	// process; only tests should shorten it.
	SettleWindow time.Duration
	// PrepareTimeout bounds how long a round waits for a live member to drain and
	// acknowledge; a member that misses it is fenced and removed. Sidecars learn it in
	// Welcome and get a Prepare deadline a little shorter. While a round waits, no
	// other change (not even a failover) commits, so it trades drain patience against
	// availability.
	PrepareTimeout time.Duration
}

// DefaultOptions returns the options the placement binary starts with.
func DefaultOptions() Options {
	return Options{
		Port:           DefaultPort,
		HealthzPort:    DefaultHealthzPort,
		LogLevel:       "info",
		Heartbeat:      DefaultHeartbeat,
		Lease:          DefaultLease,
		MemberTimeout:  DefaultMemberTimeout,
		BatchWindow:    DefaultBatchWindow,
		PrepareTimeout: DefaultPrepareTimeout,
	}
}

// Validate returns the first problem with o, naming the field and the allowed range.
func (o Options) Validate() error {
	switch {
	case o.Port < 0 || o.Port > 65535:
		return fmt.Errorf("port %d is outside 0-65535", o.Port)
	case o.HealthzPort < 0 || o.HealthzPort > 65535:
		return fmt.Errorf("healthz port %d is outside 0-65535", o.HealthzPort)
	case o.Heartbeat < MinHeartbeat || o.Heartbeat > MaxHeartbeat:
		return fmt.Errorf("heartbeat %s is outside %s-%s", o.Heartbeat, MinHeartbeat, MaxHeartbeat)
	case o.Lease < 2*o.Heartbeat || o.Lease > MaxLease:
		return fmt.Errorf("lease %s must be between two heartbeats (%s) and %s",
			o.Lease, 2*o.Heartbeat, MaxLease)
	case o.MemberTimeout <= o.Lease:
		return fmt.Errorf("member timeout %s must be longer than the lease %s",
			o.MemberTimeout, o.Lease)
	case o.MemberTimeout > 2*MaxLease:
		return fmt.Errorf("member timeout %s is above %s", o.MemberTimeout, 2*MaxLease)
	case o.BatchWindow < 0 || o.BatchWindow > MaxBatchWindow:
		return fmt.Errorf("batch window %s is outside 0-%s", o.BatchWindow, MaxBatchWindow)
	case o.SettleWindow < 0:
		return fmt.Errorf("settle window %s is negative", o.SettleWindow)
	case o.PrepareTimeout < o.Heartbeat || o.PrepareTimeout > MaxPrepare:
		return fmt.Errorf("prepare timeout %s is outside one heartbeat (%s) to %s",
			o.PrepareTimeout, o.Heartbeat, MaxPrepare)
	}
	if _, err := parseLevel(o.LogLevel); err != nil {
		return err
	}
	return nil
}

func (o Options) engineConfig() engineConfig {
	settle := o.SettleWindow
	if settle == 0 {
		settle = o.MemberTimeout
	}
	return engineConfig{
		heartbeat:      o.Heartbeat,
		lease:          o.Lease,
		memberTimeout:  o.MemberTimeout,
		batchWindow:    o.BatchWindow,
		settleWindow:   settle,
		prepareTimeout: o.PrepareTimeout,
	}
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return NewLogger(os.Stderr, o.LogLevel, o.LogAsJSON)
}

// NewLogger returns a logger writing to w at level (debug, info, warn, error; empty
// means info), as JSON or as text.
func NewLogger(w io.Writer, level string, asJSON bool) *slog.Logger {
	lvl, err := parseLevel(level)
	if err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not debug, info, warn or error", s)
}
