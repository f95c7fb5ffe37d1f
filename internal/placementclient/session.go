package placementclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

// sendBuffer is how many messages may wait for the stream; a full buffer means the
// connection is stuck and the session ends.
const sendBuffer = 64

var (
	errLeaseLost = errors.New("lease lost")
	errSendStuck = errors.New("send buffer full")
)

// sessionResult says how a session ended.
type sessionResult struct {
	welcomed bool  // placement accepted the Hello
	left     bool  // the graceful leave is over; Run must return err
	dropConn bool  // the connection looks dead; dial a new one
	err      error // why the session ended
}

type received struct {
	msg *pb.PlacementMessage
	err error
}

// session is one Connect stream. Its fields are owned by the session loop.
type session struct {
	c      *client
	ctx    context.Context // ends with the stream
	stream grpc.BidiStreamingClient[pb.SidecarMessage, pb.PlacementMessage]
	in     chan received
	out    chan *pb.SidecarMessage

	welcomed bool
	leaving  bool
	lastErr  string // the Error placement sent before ending the stream

	seq    uint64
	sentAt map[uint64]time.Time // heartbeats awaiting acknowledgement

	pending       *Table     // the table of the last Prepare, until its Commit
	prepareDone   chan error // result of pending's Prepare; nil when not running
	cancelPrepare context.CancelFunc
}

func (c *client) session(ctx context.Context, addr string) sessionResult {
	cc, err := c.conn(addr)
	if err != nil {
		return sessionResult{err: err, dropConn: true}
	}
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := pb.NewPlacementClient(cc).Connect(sctx)
	if err != nil {
		return sessionResult{err: fmt.Errorf("open stream: %w", err)}
	}

	s := &session{
		c:      c,
		ctx:    sctx,
		stream: stream,
		in:     make(chan received, 16),
		out:    make(chan *pb.SidecarMessage, sendBuffer),
		sentAt: make(map[uint64]time.Time),
	}
	var wg sync.WaitGroup
	wg.Go(s.receive)
	wg.Go(s.send)

	res := s.loop(ctx)
	s.stopPrepare()
	if res.left && res.err == nil {
		s.closeCleanly()
	}
	cancel()
	close(s.out)
	wg.Wait()
	return res
}

func (s *session) receive() {
	for {
		msg, err := s.stream.Recv()
		select {
		case s.in <- received{msg: msg, err: err}:
		case <-s.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *session) send() {
	for msg := range s.out {
		if msg == nil {
			_ = s.stream.CloseSend()
			continue
		}
		if s.stream.Send(msg) != nil {
			break
		}
	}
	for range s.out {
		// drain until the loop closes out
	}
}

// closeCleanly ends the stream without an error after Leave, which tells placement
// that this sidecar admits no more turns, and waits briefly for placement to end it.
func (s *session) closeCleanly() {
	s.queue(nil)
	timeout := time.NewTimer(time.Second)
	defer timeout.Stop()
	for {
		select {
		case r := <-s.in:
			if r.err != nil {
				return
			}
		case <-timeout.C:
			return
		}
	}
}

func (s *session) loop(ctx context.Context) sessionResult {
	c := s.c
	helloSent := time.Now()
	s.queue(&pb.SidecarMessage{Msg: &pb.SidecarMessage_Hello{Hello: &pb.Hello{
		ProtocolVersion:  pb.ProtocolVersion,
		Name:             c.cfg.Self.Name,
		AppId:            c.cfg.Self.AppID,
		Entities:         c.cfg.Self.Entities,
		LastTableVersion: c.maxSeen,
	}}})

	welcomeTimeout := time.NewTimer(3 * c.cfg.Lease)
	defer welcomeTimeout.Stop()
	ticker := time.NewTicker(time.Hour) // runs at c.heartbeat once welcomed
	defer ticker.Stop()
	var heartbeats <-chan time.Time
	var leaveTimeout <-chan time.Time
	done := ctx.Done()

	for {
		select {
		case r := <-s.in:
			if r.err != nil {
				return s.ended(r.err)
			}
			if res, end := s.handle(r.msg, helloSent); end {
				return res
			}
			if heartbeats == nil && s.welcomed {
				welcomeTimeout.Stop()
				ticker.Reset(c.heartbeat)
				heartbeats = ticker.C
			}
		case <-heartbeats:
			if !s.heartbeat() {
				return s.result(errSendStuck)
			}
		case err := <-s.prepareDone:
			s.prepared(err)
		case <-c.lease.lost:
			if s.welcomed && !c.lease.valid() {
				// Only a fresh session brings a Commit that may resume turns.
				return s.result(errLeaseLost)
			}
		case <-welcomeTimeout.C:
			return sessionResult{err: errors.New("no welcome from placement"), dropConn: true}
		case <-done:
			done = nil
			if !s.welcomed {
				return sessionResult{left: true}
			}
			s.leaving = true
			leaveTimeout = time.After(c.cfg.LeaveTimeout)
			s.queue(&pb.SidecarMessage{Msg: &pb.SidecarMessage_Leave{Leave: &pb.Leave{}}})
			c.log.Info("leaving placement", "host", c.cfg.Self.Name)
			if s.handedOver() {
				return sessionResult{welcomed: true, left: true}
			}
		case <-leaveTimeout:
			return sessionResult{welcomed: true, left: true, err: ErrLeaveTimeout}
		}
	}
}

// handle processes one message; end reports that the session is over.
func (s *session) handle(msg *pb.PlacementMessage, helloSent time.Time) (sessionResult, bool) {
	c := s.c
	switch m := msg.Msg.(type) {
	case *pb.PlacementMessage_Welcome:
		s.welcome(m.Welcome, helloSent)
	case *pb.PlacementMessage_HeartbeatAck:
		s.acknowledged(m.HeartbeatAck.GetSeq())
	case *pb.PlacementMessage_Prepare:
		s.prepare(tableFromProto(m.Prepare.GetTable()))
	case *pb.PlacementMessage_Commit:
		s.commit(m.Commit)
		if s.leaving && s.handedOver() {
			c.log.Info("left placement", "host", c.cfg.Self.Name,
				"table_version", c.committed.Version())
			return sessionResult{welcomed: true, left: true}, true
		}
	case *pb.PlacementMessage_Error:
		s.lastErr = m.Error.GetMessage()
	default:
		c.log.Debug("ignored unknown placement message", "type", fmt.Sprintf("%T", m))
	}
	return sessionResult{}, false
}

func (s *session) welcome(w *pb.Welcome, helloSent time.Time) {
	c := s.c
	if hb := time.Duration(w.GetHeartbeatMs()) * time.Millisecond; hb > 0 {
		c.heartbeat = min(c.cfg.Heartbeat, hb)
	}
	if l := time.Duration(w.GetLeaseMs()) * time.Millisecond; l > 0 {
		c.leaseFor = min(c.cfg.Lease, l)
	}
	pt := time.Duration(w.GetPrepareTimeoutMs()) * time.Millisecond
	c.prepareBudget = pt - min(time.Second, pt/5)

	s.welcomed = true
	c.failing = false
	c.lease.extend(helloSent.Add(c.leaseFor)) // Welcome acknowledges the Hello
	c.log.Info("connected to placement", "host", c.cfg.Self.Name,
		"table_version", c.committed.Version())
}

func (s *session) heartbeat() bool {
	s.seq++
	s.sentAt[s.seq] = time.Now()
	return s.queue(&pb.SidecarMessage{Msg: &pb.SidecarMessage_Heartbeat{
		Heartbeat: &pb.Heartbeat{Seq: s.seq},
	}})
}

func (s *session) acknowledged(seq uint64) {
	sent, ok := s.sentAt[seq]
	if !ok {
		return
	}
	for n := range s.sentAt {
		if n <= seq {
			delete(s.sentAt, n)
		}
	}
	s.c.lease.extend(sent.Add(s.c.leaseFor))
}

func (s *session) prepare(t *Table) {
	c := s.c
	c.maxSeen = max(c.maxSeen, t.Version())
	if t.Version() <= c.committed.Version() || t.Version() == s.pending.Version() {
		return // stale, or sent twice
	}

	s.stopPrepare()
	ctx, cancel := context.WithCancel(s.ctx)
	if c.prepareBudget > 0 {
		ctx, cancel = context.WithTimeout(s.ctx, c.prepareBudget)
	}
	result := make(chan error, 1)
	s.pending, s.prepareDone, s.cancelPrepare = t, result, cancel
	c.apply.push(job{kind: jobPrepare, ctx: ctx, table: t, result: result})
	c.log.Debug("preparing placement table", "table_version", t.Version())
}

// prepared acknowledges pending once the handler has drained for it.
func (s *session) prepared(err error) {
	s.prepareDone = nil
	if err != nil {
		if s.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			s.c.log.Warn("prepare failed; placement will fence this sidecar",
				"table_version", s.pending.Version(), "error", err)
		}
		return
	}
	s.queue(&pb.SidecarMessage{Msg: &pb.SidecarMessage_PrepareAck{
		PrepareAck: &pb.PrepareAck{Version: s.pending.Version()},
	}})
}

func (s *session) commit(m *pb.Commit) {
	c := s.c
	if m.GetTable() != nil {
		// A table this sidecar did not prepare (it is new, or reconnected): adopt it,
		// draining locally first. It replaces any Prepare in flight; placement resends
		// that Prepare if this sidecar is part of the round.
		s.stopPrepare()
		s.pending = nil
		c.committed = tableFromProto(m.GetTable())
		c.apply.push(job{kind: jobSync, ctx: s.ctx, table: c.committed})
	} else {
		if s.pending == nil || s.pending.Version() != m.GetVersion() {
			c.log.Warn("ignored commit of a table never prepared", "table_version", m.GetVersion())
			return
		}
		c.committed, s.pending = s.pending, nil
		c.apply.push(job{kind: jobCommit, ctx: s.ctx, table: c.committed})
	}
	c.maxSeen = max(c.maxSeen, c.committed.Version())
	c.log.Debug("placement table committed", "table_version", c.committed.Version())
}

// handedOver reports whether no table that may still commit assigns anything here.
func (s *session) handedOver() bool {
	self := s.c.cfg.Self.Name
	return !s.c.committed.Contains(self) && !s.pending.Contains(self)
}

func (s *session) stopPrepare() {
	if s.cancelPrepare != nil {
		s.cancelPrepare()
		s.cancelPrepare = nil
	}
	s.prepareDone = nil
}

// queue hands msg (nil: close the send side) to the sender; false if it is stuck.
func (s *session) queue(msg *pb.SidecarMessage) bool {
	select {
	case s.out <- msg:
		return true
	default:
		return false
	}
}

func (s *session) ended(err error) sessionResult {
	if errors.Is(err, io.EOF) {
		err = errors.New("placement ended the stream")
	}
	if s.lastErr != "" {
		err = fmt.Errorf("%w (placement said: %s)", err, s.lastErr)
	}
	return s.result(err)
}

func (s *session) result(err error) sessionResult {
	res := sessionResult{welcomed: s.welcomed, err: err}
	if s.leaving {
		res.left = true
		res.err = fmt.Errorf("%w: %w", ErrLeaveTimeout, err)
	}
	return res
}
