package placement_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/placementclient"
)

// Timings for tests: short enough to keep the suite fast, long enough that a loaded
// two-core machine running -race does not lose leases by accident.
const (
	testHeartbeat     = 50 * time.Millisecond
	testLease         = 400 * time.Millisecond
	testMemberTimeout = 600 * time.Millisecond
	waitFor           = 10 * time.Second
	pollEvery         = 5 * time.Millisecond
)

func testOptions() placement.Options {
	opts := placement.DefaultOptions()
	opts.ListenAddress = "127.0.0.1"
	opts.Port = 0
	opts.HealthzPort = 0
	opts.Heartbeat = testHeartbeat
	opts.Lease = testLease
	opts.MemberTimeout = testMemberTimeout
	opts.BatchWindow = 10 * time.Millisecond
	opts.SettleWindow = time.Millisecond
	opts.PrepareTimeout = 5 * time.Second
	opts.Logger = slog.New(slog.DiscardHandler)
	return opts
}

// runningPlacement is a placement server started by a test.
type runningPlacement struct {
	*placement.Server
	stop func()
}

func startPlacement(t testing.TB, opts placement.Options) *runningPlacement {
	t.Helper()
	srv, err := placement.New(opts)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return &runningPlacement{Server: srv, stop: stop}
}

func (p *runningPlacement) state(t testing.TB) placement.State {
	t.Helper()
	st, err := p.State(context.Background())
	require.NoError(t, err)
	return st
}

// event is one handler call of a simulated sidecar.
type event struct {
	host    string
	kind    string // "prepared", "commit", "lease-lost"
	version uint64
	at      time.Time
}

// eventLog records handler calls of every simulated sidecar in one order.
type eventLog struct {
	mu     sync.Mutex
	events []event
	added  chan struct{} // signalled (capacity 1) after each event; see newEventLog
}

func newEventLog() *eventLog { return &eventLog{added: make(chan struct{}, 1)} }

func (l *eventLog) add(host, kind string, version uint64) {
	l.mu.Lock()
	l.events = append(l.events, event{host: host, kind: kind, version: version, at: time.Now()})
	l.mu.Unlock()

	select {
	case l.added <- struct{}{}:
	default:
	}
}

// await returns once cond holds, checking it after every event; false on timeout.
func (l *eventLog) await(cond func() bool, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-l.added:
		case <-deadline:
			return false
		}
	}
	return true
}

func (l *eventLog) snapshot() []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// index returns the position of the first event matching, or -1.
func (l *eventLog) index(host, kind string, version uint64) int {
	return slices.IndexFunc(l.snapshot(), func(e event) bool {
		return e.host == host && e.kind == kind && (version == 0 || e.version == version)
	})
}

// sidecar is a simulated sidecar: a real placementclient with a recording handler.
type sidecar struct {
	name   string
	log    *eventLog
	cancel context.CancelFunc
	done   chan error

	mu       sync.Mutex
	table    *placementclient.Table
	gate     chan struct{} // when set, Prepare waits for it to close
	deadline time.Duration // how long the last Prepare had before its deadline
}

func (s *sidecar) Prepare(ctx context.Context, _, next *placementclient.Table) error {
	s.mu.Lock()
	gate := s.gate
	if dl, ok := ctx.Deadline(); ok {
		s.deadline = time.Until(dl)
	}
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.log.add(s.name, "prepared", next.Version())
	return nil
}

func (s *sidecar) Commit(t *placementclient.Table) {
	s.mu.Lock()
	s.table = t
	s.mu.Unlock()
	s.log.add(s.name, "commit", t.Version())
}

func (s *sidecar) LeaseLost() { s.log.add(s.name, "lease-lost", 0) }

func (s *sidecar) current() *placementclient.Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.table
}

// hasMembers reports whether the sidecar's committed table has exactly names.
func (s *sidecar) hasMembers(names ...string) bool {
	var got []string
	for _, m := range s.current().Members() {
		got = append(got, m.Name)
	}
	slices.Sort(names)
	return slices.Equal(got, names)
}

// startSidecar runs a client with test timings for host name against addrs until the
// test ends.
func startSidecar(t testing.TB, log *eventLog, name string, addrs ...string) *sidecar {
	t.Helper()
	return startSidecarConfig(t, log, placementclient.Config{
		Addresses:    addrs,
		Self:         placementclient.Member{Name: name, AppID: "app", Entities: []string{"T"}},
		Heartbeat:    testHeartbeat,
		Lease:        testLease,
		LeaveTimeout: 5 * time.Second,
	})
}

func startSidecarConfig(t testing.TB, log *eventLog, cfg placementclient.Config) *sidecar {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{name: cfg.Self.Name, log: log, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- placementclient.Run(ctx, cfg, s) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the client and returns what Run returned.
func (s *sidecar) stop(t testing.TB) error {
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // later calls see the same result
		return err
	case <-time.After(waitFor):
		t.Errorf("sidecar %s did not stop", s.name)
		return nil
	}
}

func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, waitFor, pollEvery, fmt.Sprintf(format, args...))
}

// proxy forwards TCP connections to a target and can stall or cut them, to simulate
// a paused sidecar or a partition.
type proxy struct {
	lis    net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex // guards the fields below
	conns  []net.Conn
	thawed chan struct{} // closed while not frozen
	dead   bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	p := &proxy{lis: lis, target: target, thawed: make(chan struct{})}
	close(p.thawed)
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.lis.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(c, up) {
			c.Close()
			if up != nil {
				up.Close()
			}
			continue
		}
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze stalls every byte in both directions until thaw.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.thawed = make(chan struct{})
}

func (p *proxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

// kill cuts every connection and refuses new ones, like a crashed host.
func (p *proxy) kill() {
	p.mu.Lock()
	p.dead = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (p *proxy) close() {
	p.lis.Close()
	p.kill()
	p.thaw()
	p.wg.Wait()
}
