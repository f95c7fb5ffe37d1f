// Package placementclient connects a sidecar to the placement service: it keeps the
// sidecar's membership and lease alive, and hands each new placement table to the
// sidecar in two phases, so that an actor never takes turns in two places.
//
// The sidecar implements Handler and calls Run for its whole life. Ownership rules
// the sidecar must follow:
//
//   - admit a turn for an actor only if the last committed table makes this sidecar its
//     owner, no Prepare since that Commit changed its owner, and LeaseLost has not been
//     called since that Commit;
//   - claim the store fence with Table.Version of the table in which it became owner.
//
// While placement is unreachable the sidecar keeps its last table. Once its lease
// lapses (Config.Lease after the last acknowledged heartbeat) LeaseLost stops new
// turns: calls pause, bounded by their own context, until the client reconnects and
// gets a Commit. A short placement outage therefore delays calls; it does not fail
// them. A restarted placement waits a settle window (about a second) before its first
// round, so calls pause for the outage plus that window.
package placementclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Defaults of Config.
const (
	DefaultHeartbeat    = 200 * time.Millisecond
	DefaultLease        = 800 * time.Millisecond
	DefaultLeaveTimeout = 10 * time.Second

	backoffMin = 100 * time.Millisecond
	backoffMax = 2 * time.Second
)

// Handler is the sidecar side of the protocol. The client never calls Prepare and
// Commit concurrently with each other; LeaseLost may come at any time, also during
// Prepare.
type Handler interface {
	// Prepare announces next while current is the committed table. The sidecar stops
	// admitting calls for every actor whose owner differs between current and next
	// (those it loses and those it gains; see SameOwner), drains and deactivates the
	// actors it loses, and returns when that is done. Actors stopped by an earlier
	// Prepare stay stopped until the next Commit, even when a later Prepare replaces
	// that one. When ctx ends, Prepare returns early; the actors stay stopped.
	//
	// ctx carries a deadline shortly before placement's prepare timeout. Returning an
	// error (or missing the deadline) leaves the Prepare unacknowledged: placement then
	// fences this sidecar and moves all its actors. A sidecar that would rather keep
	// its other actors deactivates a still-busy actor anyway at the deadline (its writes
	// are fenced by the new owner's table version) and returns nil.
	Prepare(ctx context.Context, current, next *Table) error
	// Commit makes t the current table and resumes admission under it. Actors that t
	// places elsewhere must take no new turns (Prepare has normally deactivated them).
	// Commit must not block.
	Commit(t *Table)
	// LeaseLost stops admission of new turns for every actor until the next Commit.
	// Turns already running should be cancelled or left to the store fence. LeaseLost
	// must not block.
	LeaseLost()
}

// Config configures Run.
type Config struct {
	// Addresses are placement addresses (host:port), tried in turn.
	Addresses []string
	// Self describes this sidecar; Self.Name is its internal address, host:port.
	Self Member
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// Heartbeat is the heartbeat interval; placement's Welcome may shorten it.
	Heartbeat time.Duration
	// Lease is how long after sending an acknowledged heartbeat the sidecar keeps
	// admitting turns; placement's Welcome may shorten it.
	Lease time.Duration
	// LeaveTimeout bounds the graceful hand-over when ctx ends: Run waits this long for
	// the table without this sidecar to commit.
	LeaveTimeout time.Duration
	// DialOptions replace the default (plaintext) options for connecting to placement.
	DialOptions []grpc.DialOption
}

// ParseAddresses splits a comma-separated list of placement addresses.
func ParseAddresses(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.LeaveTimeout <= 0 {
		c.LeaveTimeout = DefaultLeaveTimeout
	}
	if c.DialOptions == nil {
		c.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	return c
}

func (c Config) validate() error {
	switch {
	case len(c.Addresses) == 0:
		return errors.New("placementclient: no placement address")
	case c.Self.Name == "":
		return errors.New("placementclient: Self.Name is empty")
	case c.Self.AppID == "":
		return errors.New("placementclient: Self.AppID is empty")
	case c.Lease < 2*c.Heartbeat:
		return fmt.Errorf("placementclient: lease %s is shorter than two heartbeats", c.Lease)
	}
	return nil
}

// ErrLeaveTimeout is returned by Run when the table without this sidecar did not
// commit within Config.LeaveTimeout after ctx ended.
var ErrLeaveTimeout = errors.New("placementclient: hand-over not confirmed before the leave timeout")

// Run keeps this sidecar a member of the placement until ctx ends, then leaves
// gracefully: it announces Leave, keeps serving the Prepare that moves its actors
// away, and returns once the table without it commits (nil) or Config.LeaveTimeout
// passes (ErrLeaveTimeout). The sidecar must admit no turns once Run has returned.
// Run reconnects, with backoff, for as long as ctx lasts.
func Run(ctx context.Context, cfg Config, h Handler) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}

	c := &client{
		cfg:       cfg,
		log:       cfg.Logger,
		conns:     make(map[string]*grpc.ClientConn),
		heartbeat: cfg.Heartbeat,
		leaseFor:  cfg.Lease,
	}
	c.lease = newLease(func() {
		c.log.Warn("placement lease lost; pausing actor turns")
		h.LeaseLost()
	})
	c.apply = newApplier(h, c.lease, c.log)

	done := make(chan struct{})
	go func() {
		defer close(done)
		c.apply.run()
	}()
	defer func() {
		c.lease.stop()
		c.apply.close()
		<-done
		c.closeConns()
	}()
	return c.run(ctx)
}

// client is one Run. Its fields are owned by the Run goroutine unless noted.
type client struct {
	cfg   Config
	log   *slog.Logger
	lease *lease   // safe for concurrent use
	apply *applier // safe for concurrent use
	conns map[string]*grpc.ClientConn

	committed *Table // the last table placement committed, as far as this client knows
	maxSeen   uint64 // the highest table version seen in a Prepare or Commit
	heartbeat time.Duration
	leaseFor  time.Duration
	// prepareBudget bounds each Prepare: placement's prepare timeout less a margin for
	// the network; zero when placement did not say.
	prepareBudget time.Duration
	failing       bool // a connection problem was logged at warn since the last Welcome
}

func (c *client) run(ctx context.Context) error {
	delay := backoffMin
	for attempt := 0; ; attempt++ {
		addr := c.cfg.Addresses[attempt%len(c.cfg.Addresses)]
		res := c.session(ctx, addr)
		if res.left {
			return res.err
		}
		if ctx.Err() != nil {
			return nil // not connected: nothing to hand over
		}

		if res.welcomed {
			delay = backoffMin
		}
		c.noteFailure(addr, res.err)
		if res.dropConn {
			c.dropConn(addr)
		}
		if !sleep(ctx, jitter(delay)) {
			return nil
		}
		delay = min(2*delay, backoffMax)
	}
}

// noteFailure logs the end of a session: the first problem of a streak at warn, the
// rest at debug.
func (c *client) noteFailure(addr string, err error) {
	level := slog.LevelDebug
	if !c.failing {
		level = slog.LevelWarn
		c.failing = true
	}
	c.log.Log(context.Background(), level, "placement connection ended; reconnecting",
		"address", addr, "error", err)
}

func (c *client) conn(addr string) (*grpc.ClientConn, error) {
	if cc := c.conns[addr]; cc != nil {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, c.cfg.DialOptions...)
	if err != nil {
		return nil, fmt.Errorf("placement address %s: %w", addr, err)
	}
	c.conns[addr] = cc
	return cc, nil
}

func (c *client) dropConn(addr string) {
	if cc := c.conns[addr]; cc != nil {
		cc.Close()
		delete(c.conns, addr)
	}
}

func (c *client) closeConns() {
	for addr := range c.conns {
		c.dropConn(addr)
	}
}

// jitter spreads d over [0.8d, 1.2d) so that sidecars do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d*8/10 + rand.N(d*4/10)
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
