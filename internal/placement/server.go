// Package placement is troupe's placement service. It assigns every actor to exactly
// one sidecar: sidecars connect over a gRPC stream (package placementpb), placement
// keeps the membership and disseminates each new table in two phases, and every
// sidecar computes actor owners from the table by consistent hashing.
//
// The decisions live in a deterministic engine (engine.go) driven by one goroutine;
// the membership itself is a pure state machine (Membership) so that it can later be
// replicated. Server wires the engine to gRPC, an HTTP status port and the clock.
package placement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

const (
	// tickInterval is the resolution of expiry, batching and prepare deadlines.
	tickInterval = 10 * time.Millisecond
	// outBuffer is how many messages may queue for one stream before placement gives
	// up on it as a consumer that does not read.
	outBuffer = 256
	// logRepeatEvery is how often one kind of protocol complaint is logged.
	logRepeatEvery = time.Minute
)

// errShuttingDown is the status streams get when placement stops.
var errShuttingDown = status.Error(codes.Unavailable, "placement is shutting down")

// Server is a placement service. Create it with New, run it with Serve; a Server
// serves once.
type Server struct {
	pb.UnimplementedPlacementServer

	opts    Options
	log     *slog.Logger
	grpc    *grpc.Server
	lis     net.Listener
	http    *http.Server
	httpLis net.Listener

	events   chan any      // inputs for the loop goroutine
	loopDone chan struct{} // closed when the loop has stopped
	nextID   atomic.Uint64
	serving  atomic.Bool

	// receivers are the goroutines reading streams; the gRPC server does not track them.
	receivers sync.WaitGroup

	// Owned by the loop goroutine.
	engine  *engine
	streams map[sessionID]*stream
	limiter *logLimiter

	metrics *metrics
}

// stream is the server side of one Connect call.
type stream struct {
	id       sessionID
	out      chan *pb.PlacementMessage
	kill     chan struct{}
	killErr  error // set before kill is closed
	killOnce sync.Once
}

func (st *stream) close(err error) {
	st.killOnce.Do(func() {
		st.killErr = err
		close(st.kill)
	})
}

// Loop inputs.
type (
	openEvent    struct{ st *stream }
	messageEvent struct {
		st  *stream
		msg *pb.SidecarMessage
	}
	closedEvent struct {
		st  *stream
		err error // io.EOF for a clean end
	}
	stateQuery struct{ reply chan State }
)

// New validates opts and binds both ports.
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("placement options: %w", err)
	}

	lis, err := net.Listen("tcp", net.JoinHostPort(opts.ListenAddress, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen for sidecars: %w", err)
	}
	httpLis, err := net.Listen("tcp",
		net.JoinHostPort(opts.ListenAddress, strconv.Itoa(opts.HealthzPort)))
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("listen for healthz: %w", err)
	}

	s := &Server{
		opts:     opts,
		log:      opts.logger(),
		lis:      lis,
		httpLis:  httpLis,
		events:   make(chan any, 64),
		loopDone: make(chan struct{}),
		streams:  make(map[sessionID]*stream),
		limiter:  newLogLimiter(logRepeatEvery),
	}
	s.grpc = grpc.NewServer(
		grpc.WaitForHandlers(true),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: 5 * time.Second, PermitWithoutStream: true,
		}),
	)
	pb.RegisterPlacementServer(s.grpc, s)
	s.metrics = newMetrics(s.State)
	s.http = &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Run serves placement with opts until ctx ends.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Addr is the address sidecars connect to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// HealthzAddr is the address of the HTTP status port.
func (s *Server) HealthzAddr() string { return s.httpLis.Addr().String() }

// Serve runs the service until ctx ends or a listener fails. Sidecars keep their
// tables while placement is down and reconnect when it is back.
func (s *Server) Serve(ctx context.Context) error {
	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()

	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(s.loopDone)
		s.loop(loopCtx)
	})
	failed := make(chan error, 2)
	wg.Go(func() { failed <- s.grpc.Serve(s.lis) })
	wg.Go(func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	})
	s.serving.Store(true)
	s.log.Info("placement serving", "address", s.Addr(), "healthz_address", s.HealthzAddr(),
		"lease", s.opts.Lease.String(), "member_timeout", s.opts.MemberTimeout.String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
		err = fmt.Errorf("placement listener: %w", err)
	}

	s.serving.Store(false)
	s.grpc.Stop() // ends every stream; sidecars reconnect elsewhere or later
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.http.Shutdown(shutdownCtx)
	stopLoop()
	wg.Wait()
	s.receivers.Wait()
	s.log.Info("placement stopped")
	return err
}

// State returns a snapshot of the membership and the dissemination phase.
func (s *Server) State(ctx context.Context) (State, error) {
	q := stateQuery{reply: make(chan State, 1)}
	select {
	case s.events <- q:
	case <-s.loopDone:
		return State{}, errShuttingDown
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
	select {
	case st := <-q.reply:
		return st, nil
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}

// Connect serves one sidecar's stream.
func (s *Server) Connect(ss grpc.BidiStreamingServer[pb.SidecarMessage, pb.PlacementMessage]) error {
	st := &stream{
		id:   sessionID(s.nextID.Add(1)),
		out:  make(chan *pb.PlacementMessage, outBuffer),
		kill: make(chan struct{}),
	}
	if !s.post(openEvent{st: st}) {
		return errShuttingDown
	}

	recvErr := make(chan error, 1)
	s.receivers.Go(func() { recvErr <- s.receive(ss, st) })
	return s.send(ss, st, recvErr)
}

// receive forwards the stream's messages to the loop until the stream ends.
func (s *Server) receive(ss pb.Placement_ConnectServer, st *stream) error {
	for {
		msg, err := ss.Recv()
		if err != nil {
			s.post(closedEvent{st: st, err: err})
			return err
		}
		if !s.post(messageEvent{st: st, msg: msg}) {
			return errShuttingDown
		}
	}
}

// send writes what the loop queues for the stream until the stream must end.
func (s *Server) send(ss grpc.BidiStreamingServer[pb.SidecarMessage, pb.PlacementMessage],
	st *stream, recvErr <-chan error) error {
	for {
		select {
		case msg := <-st.out:
			if err := ss.Send(msg); err != nil {
				return err
			}
		case <-st.kill:
			flush(ss, st)
			return st.killErr
		case err := <-recvErr:
			return endOfStream(err)
		case <-ss.Context().Done():
			return ss.Context().Err()
		case <-s.loopDone:
			return errShuttingDown
		}
	}
}

// flush sends what is already queued, such as the Error that precedes a close.
func flush(ss grpc.ServerStream, st *stream) {
	for {
		select {
		case msg := <-st.out:
			if ss.SendMsg(msg) != nil {
				return
			}
		default:
			return
		}
	}
}

// endOfStream chooses the status a stream ends with once its receive side ended. For
// bytes that are not a SidecarMessage gRPC has already ended the stream with Internal
// ("failed to unmarshal"), so no Error message can precede it.
func endOfStream(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// malformed reports whether a receive error means the peer sent bytes that are not a
// SidecarMessage; gRPC reports a failed unmarshal as Internal.
func malformed(err error) bool { return status.Code(err) == codes.Internal }

// post hands ev to the loop; false when the loop has stopped.
func (s *Server) post(ev any) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.loopDone:
		return false
	}
}

// loop owns the engine: it feeds it inputs and the clock and carries out its outputs.
func (s *Server) loop(ctx context.Context) {
	s.engine = newEngine(s.opts.engineConfig(), time.Now())
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.events:
			s.handle(ev, time.Now())
		case now := <-ticker.C:
			s.engine.tick(now)
		}
		s.carryOut()
	}
}

func (s *Server) handle(ev any, now time.Time) {
	switch ev := ev.(type) {
	case openEvent:
		s.streams[ev.st.id] = ev.st
		s.engine.open(ev.st.id, now)
	case messageEvent:
		s.engine.receive(ev.st.id, ev.msg, now)
	case closedEvent:
		delete(s.streams, ev.st.id)
		if malformed(ev.err) {
			s.logLimited("malformed", slog.LevelWarn, "malformed message from sidecar",
				"error", ev.err)
		}
		s.engine.closed(ev.st.id, errors.Is(ev.err, io.EOF), now)
	case stateQuery:
		ev.reply <- s.engine.snapshot(now)
	default:
		panic(fmt.Sprintf("placement: unknown loop event %T", ev))
	}
}

// carryOut performs the engine's outputs, including those that performing them causes.
func (s *Server) carryOut() {
	for outs := s.engine.takeOutputs(); len(outs) > 0; outs = s.engine.takeOutputs() {
		for _, o := range outs {
			s.perform(o)
		}
	}
}

func (s *Server) perform(o output) {
	switch o.kind {
	case outNote:
		if o.note.limitKey != "" {
			s.logLimited(o.note.limitKey, o.note.level, o.note.msg, o.note.attrs...)
		} else {
			s.log.Log(context.Background(), o.note.level, o.note.msg, o.note.attrs...)
		}
	case outSend:
		st := s.streams[o.session]
		if st == nil {
			return
		}
		select {
		case st.out <- o.msg:
		default:
			s.log.Warn("sidecar stream is not reading; closing it", "session", o.session)
			s.drop(st, status.Error(codes.ResourceExhausted, "stream is not reading"))
			s.engine.closed(st.id, false, time.Now())
		}
	case outClose:
		if st := s.streams[o.session]; st != nil {
			s.drop(st, o.err)
		}
	case outCommitted:
		s.metrics.committed(o.took)
	}
}

func (s *Server) drop(st *stream, err error) {
	delete(s.streams, st.id)
	st.close(err)
}

func (s *Server) logLimited(key string, level slog.Level, msg string, attrs ...any) {
	ok, suppressed := s.limiter.allow(key, time.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed_repeats", suppressed)
	}
	s.log.Log(context.Background(), level, msg, attrs...)
}

func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.serving.Load() {
			http.Error(w, "placement is not serving", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /placement/state", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.State(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

// logLimiter lets one log line per key through every interval and counts the rest.
// The loop goroutine owns it.
type logLimiter struct {
	every      time.Duration
	last       map[string]time.Time
	suppressed map[string]int
}

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, last: map[string]time.Time{}, suppressed: map[string]int{}}
}

// allow reports whether a line for key may be logged now, and how many were
// suppressed since the last one that was.
func (l *logLimiter) allow(key string, now time.Time) (bool, int) {
	if last, ok := l.last[key]; ok && now.Sub(last) < l.every {
		l.suppressed[key]++
		return false, 0
	}
	if len(l.last) > 1000 {
		clear(l.last) // bounded memory against a stream of distinct bad names
		clear(l.suppressed)
	}
	n := l.suppressed[key]
	delete(l.suppressed, key)
	l.last[key] = now
	return true, n
}
