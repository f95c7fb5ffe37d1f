package placement

import (
	"log/slog"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

// engineConfig holds the timings the engine enforces; Options documents each one.
type engineConfig struct {
	heartbeat      time.Duration
	lease          time.Duration
	memberTimeout  time.Duration
	batchWindow    time.Duration
	settleWindow   time.Duration
	prepareTimeout time.Duration
}

// staleAfter is how long a stream may stay silent before a new Hello for the same name
// replaces it instead of being rejected as a duplicate.
func (c engineConfig) staleAfter() time.Duration { return 2 * c.heartbeat }

type sessionID uint64

// session is one Connect stream.
type session struct {
	id       sessionID
	name     string // set once its Hello is accepted
	left     bool   // the sidecar sent Leave
	lastRecv time.Time
}

// round is one two-phase dissemination: Prepare sent, waiting for PrepareAcks.
type round struct {
	table     Table
	prepare   *pb.PlacementMessage // shared by every send of this round
	awaiting  map[string]bool      // names that have not acknowledged yet
	acked     map[string]sessionID // the stream each acknowledgement came on
	startedAt time.Time
}

type outputKind int

const (
	outSend      outputKind = iota // send msg on session
	outClose                       // end session with err, after the messages before it
	outNote                        // log note
	outCommitted                   // a round committed its table after took (metrics)
)

// output is one thing the engine wants done; the server carries outputs out in order.
type output struct {
	kind    outputKind
	session sessionID
	msg     *pb.PlacementMessage
	err     error
	note    note
	took    time.Duration // outCommitted
}

// note is a log line. Notes with a limitKey are protocol complaints whose repeats the
// server rate-limits.
type note struct {
	level    slog.Level
	msg      string
	attrs    []any
	limitKey string
}

// engine is placement's decision logic: membership, leases, failure detection and
// dissemination rounds. It is deterministic: time comes in with every input, and
// effects go out as outputs, so scenario tests can drive it without a network or clock.
// One goroutine owns it.
//
// Safety rests on three rules:
//   - a table commits only when every sidecar that may hold a lease under the old
//     table has acknowledged its Prepare, or has expired (silent for memberTimeout,
//     longer than any lease it can hold), or has left and closed its stream cleanly;
//   - placement grants leases (Welcome, HeartbeatAck) only to names it still tracks;
//   - a name that is being removed cannot reconnect until the table without it commits.
type engine struct {
	cfg engineConfig
	fsm *Membership

	sessions map[sessionID]*session
	byName   map[string]*session // the stream each accepted name is attached to

	// seen is when placement last heard from each sidecar that may still hold a lease
	// the next round has to wait for: every member of fsm, and leavers whose removal has
	// not committed. Invariant: every fsm member is in seen, and round.awaiting ⊆ seen.
	seen map[string]time.Time
	// fenced are names whose Prepare timed out. Their streams are closed, their Hellos
	// refused and their seen time frozen, so they expire after memberTimeout.
	fenced map[string]bool

	round       *round
	changedAt   time.Time // first membership change no round has picked up yet
	settleUntil time.Time // no round starts before this
	nextVersion uint64    // the version of the next round's table

	out []output
}

func newEngine(cfg engineConfig, now time.Time) *engine {
	return &engine{
		cfg:         cfg,
		fsm:         NewMembership(),
		sessions:    make(map[sessionID]*session),
		byName:      make(map[string]*session),
		seen:        make(map[string]time.Time),
		fenced:      make(map[string]bool),
		settleUntil: now.Add(cfg.settleWindow),
		nextVersion: 1,
	}
}

// takeOutputs returns the outputs accumulated since the last call.
func (e *engine) takeOutputs() []output {
	out := e.out
	e.out = nil
	return out
}

// open registers a new stream.
func (e *engine) open(id sessionID, now time.Time) {
	e.sessions[id] = &session{id: id, lastRecv: now}
}

// receive handles one message from stream id.
func (e *engine) receive(id sessionID, msg *pb.SidecarMessage, now time.Time) {
	s := e.sessions[id]
	if s == nil {
		return // the engine closed it already
	}
	s.lastRecv = now

	if hello := msg.GetHello(); hello != nil {
		e.hello(s, hello, now)
	} else if s.name == "" {
		e.reject(s, "", status.Error(codes.InvalidArgument, "the first message must be hello"))
	} else {
		e.memberMessage(s, msg, now)
	}
	e.advance(now)
}

func (e *engine) memberMessage(s *session, msg *pb.SidecarMessage, now time.Time) {
	if _, tracked := e.seen[s.name]; tracked {
		e.seen[s.name] = now
	}

	switch m := msg.Msg.(type) {
	case *pb.SidecarMessage_Heartbeat:
		e.send(s, &pb.PlacementMessage{Msg: &pb.PlacementMessage_HeartbeatAck{
			HeartbeatAck: &pb.HeartbeatAck{Seq: m.Heartbeat.GetSeq()},
		}})
	case *pb.SidecarMessage_PrepareAck:
		e.ack(s, m.PrepareAck.GetVersion())
	case *pb.SidecarMessage_Leave:
		e.leave(s, now)
	default:
		e.reject(s, s.name, status.Error(codes.InvalidArgument, "message has no content"))
	}
}

// closed handles the end of stream id; clean means the sidecar closed its side.
func (e *engine) closed(id sessionID, clean bool, now time.Time) {
	s := e.sessions[id]
	if s == nil {
		return
	}
	delete(e.sessions, id)

	if s.name == "" || e.byName[s.name] != s {
		return
	}
	delete(e.byName, s.name)

	// Leave followed by a clean end of stream promises that the sidecar admits no more
	// turns, so the round need not wait for its lease to lapse.
	if s.left && clean {
		if _, member := e.fsm.Member(s.name); !member {
			e.forget(s.name)
		}
	}
	e.advance(now)
}

// tick lets time-driven rules run: expiry, prepare timeouts, batching, settling.
func (e *engine) tick(now time.Time) { e.advance(now) }

func (e *engine) hello(s *session, h *pb.Hello, now time.Time) {
	if s.name != "" {
		e.reject(s, s.name, status.Error(codes.InvalidArgument, "hello sent twice on one stream"))
		return
	}
	if err := validateHello(h); err != nil {
		e.reject(s, h.GetName(), err)
		return
	}
	if err := e.admissible(h.GetName(), now); err != nil {
		e.reject(s, h.GetName(), err)
		return
	}

	e.attach(s, memberFromHello(h), now)
	if v := h.GetLastTableVersion(); v >= e.nextVersion {
		e.nextVersion = v + 1
	}
	e.greet(s)
}

// admissible decides whether a Hello for name may open a session now.
func (e *engine) admissible(name string, now time.Time) error {
	if e.fenced[name] {
		return status.Errorf(codes.Unavailable,
			"member %s missed a prepare deadline and is being removed; retry later", name)
	}

	_, member := e.fsm.Member(name)
	_, tracked := e.seen[name]
	if !member && (tracked || e.fsm.Committed().Contains(name)) {
		return status.Errorf(codes.Unavailable,
			"member %s is being removed; retry once the table without it commits", name)
	}

	old := e.byName[name]
	if old == nil {
		return nil
	}
	if now.Sub(old.lastRecv) < e.cfg.staleAfter() {
		return status.Errorf(codes.AlreadyExists,
			"another live stream is connected as %s", name)
	}
	e.closeSession(old, status.Error(codes.Aborted, "replaced by a newer stream of the same member"))
	return nil
}

func (e *engine) attach(s *session, m Member, now time.Time) {
	_, existed := e.fsm.Member(m.Name)
	s.name = m.Name
	e.byName[m.Name] = s
	e.seen[m.Name] = now

	changed, _ := e.fsm.Apply(Join{Member: m})
	switch {
	case !existed:
		e.changed(now)
		e.notef(slog.LevelInfo, "member joined", "host", m.Name, "app_id", m.AppID,
			"entities", m.Entities)
	case changed:
		e.changed(now)
		e.notef(slog.LevelInfo, "member updated", "host", m.Name, "entities", m.Entities)
	default:
		e.notef(slog.LevelDebug, "member reconnected", "host", m.Name)
	}
}

// greet welcomes an accepted session and brings it up to date: the committed table,
// and the Prepare of the running round if the member is part of it. A member that
// reconnects must acknowledge that Prepare again, on this stream: on resync it resumes
// the committed table, and may admit turns for actors it had already drained.
func (e *engine) greet(s *session) {
	e.send(s, &pb.PlacementMessage{Msg: &pb.PlacementMessage_Welcome{Welcome: &pb.Welcome{
		LeaseMs:          uint32(e.cfg.lease.Milliseconds()),
		HeartbeatMs:      uint32(e.cfg.heartbeat.Milliseconds()),
		PrepareTimeoutMs: uint32(e.cfg.prepareTimeout.Milliseconds()),
	}}})

	if c := e.fsm.Committed(); c.Version > 0 {
		e.send(s, commitMessage(c, true))
	}

	if r := e.round; r != nil && r.table.Contains(s.name) {
		r.awaiting[s.name] = true
		delete(r.acked, s.name)
		e.send(s, r.prepare)
	}
}

func (e *engine) ack(s *session, version uint64) {
	r := e.round
	if r == nil || version != r.table.Version || !r.awaiting[s.name] {
		e.notef(slog.LevelDebug, "ignored stale prepare ack", "host", s.name,
			"table_version", version)
		return
	}
	delete(r.awaiting, s.name)
	r.acked[s.name] = s.id
}

func (e *engine) leave(s *session, now time.Time) {
	s.left = true
	if changed, _ := e.fsm.Apply(Leave{Name: s.name}); !changed {
		return
	}
	e.changed(now)
	e.notef(slog.LevelInfo, "member leaving", "host", s.name)

	// A member that owns nothing in any table that may commit has nothing to hand over.
	inRound := e.round != nil && e.round.table.Contains(s.name)
	if !inRound && !e.fsm.Committed().Contains(s.name) {
		e.forget(s.name)
	}
}

// advance applies every rule that depends on time or on the inputs just handled.
func (e *engine) advance(now time.Time) {
	e.expireSilentMembers(now)
	e.dropSilentLeavers(now)
	e.fenceSlowMembers(now)

	if e.round != nil && len(e.round.awaiting) == 0 {
		e.commit(now)
	}
	if e.roundDue(now) {
		e.startRound(now)
	}
}

func (e *engine) expireSilentMembers(now time.Time) {
	for _, name := range e.silent(now, true) {
		silent := now.Sub(e.seen[name])
		_, _ = e.fsm.Apply(Expire{Name: name})
		e.changed(now)
		e.notef(slog.LevelInfo, "member expired", "host", name, "silent_for", silent.String())
		e.forget(name)
		e.closeMember(name, status.Errorf(codes.Unavailable,
			"nothing received for %s; member removed", silent))

		if e.round != nil && e.round.table.Contains(name) {
			e.notef(slog.LevelInfo, "round aborted", "table_version", e.round.table.Version,
				"host", name)
			e.round = nil
		}
	}
}

func (e *engine) dropSilentLeavers(now time.Time) {
	for _, name := range e.silent(now, false) {
		e.notef(slog.LevelInfo, "leaving member went silent", "host", name)
		e.forget(name)
		e.closeMember(name, status.Error(codes.Unavailable, "nothing received; member removed"))
	}
}

// silent returns, sorted, the tracked names that have been silent for memberTimeout:
// members if members is set, leavers otherwise. It runs after every input, so it
// sorts only what it finds.
func (e *engine) silent(now time.Time, members bool) []string {
	var names []string
	for name, seen := range e.seen {
		if now.Sub(seen) < e.cfg.memberTimeout {
			continue
		}
		if _, member := e.fsm.Member(name); member == members {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// fenceSlowMembers stops renewing the lease of every member that has not acknowledged
// a Prepare within prepareTimeout; they expire memberTimeout after their last message.
func (e *engine) fenceSlowMembers(now time.Time) {
	r := e.round
	if r == nil || now.Sub(r.startedAt) < e.cfg.prepareTimeout {
		return
	}

	for _, name := range sortedKeys(r.awaiting) {
		if e.fenced[name] {
			continue
		}
		e.fenced[name] = true
		e.notef(slog.LevelWarn, "member fenced: prepare not acknowledged", "host", name,
			"table_version", r.table.Version, "timeout", e.cfg.prepareTimeout.String())
		e.closeMember(name, status.Errorf(codes.DeadlineExceeded,
			"prepare of table %d not acknowledged within %s; member will be removed",
			r.table.Version, e.cfg.prepareTimeout))
	}
}

// forget stops tracking name's lease: no round waits for it any more.
func (e *engine) forget(name string) {
	delete(e.seen, name)
	delete(e.fenced, name)
	if e.round != nil {
		delete(e.round.awaiting, name)
	}
}

func (e *engine) roundDue(now time.Time) bool {
	if e.round != nil || e.changedAt.IsZero() || now.Before(e.settleUntil) {
		return false
	}
	if now.Sub(e.changedAt) < e.cfg.batchWindow {
		return false
	}
	// A fenced member expires soon and changes the membership again; a round now would
	// only wait for it and then abort.
	for name := range e.fenced {
		if _, member := e.fsm.Member(name); member {
			return false
		}
	}
	if !e.fsm.Pending() {
		e.changedAt = time.Time{}
		return false
	}
	return true
}

func (e *engine) startRound(now time.Time) {
	t := Table{Version: e.nextVersion, Members: e.fsm.Members()}
	e.nextVersion++
	e.changedAt = time.Time{}

	r := &round{
		table: t,
		prepare: &pb.PlacementMessage{Msg: &pb.PlacementMessage_Prepare{
			Prepare: &pb.Prepare{Table: tableToProto(t)},
		}},
		awaiting:  make(map[string]bool, len(e.seen)),
		acked:     make(map[string]sessionID, len(e.seen)),
		startedAt: now,
	}
	for name := range e.seen {
		r.awaiting[name] = true
	}
	e.round = r

	e.notef(slog.LevelDebug, "round started", "table_version", t.Version,
		"members", len(t.Members), "awaiting", len(r.awaiting))
	for _, name := range sortedKeys(r.awaiting) {
		if s := e.byName[name]; s != nil {
			e.send(s, r.prepare)
		}
	}
	if len(r.awaiting) == 0 {
		e.commit(now)
	}
}

func (e *engine) commit(now time.Time) {
	r := e.round
	e.round = nil
	if _, err := e.fsm.Apply(CommitTable{Table: r.table}); err != nil {
		panic(err) // versions come from nextVersion, which only grows
	}

	short := commitMessage(r.table, false)
	full := commitMessage(r.table, true)
	for _, name := range sortedKeys(e.byName) {
		s := e.byName[name]
		if id, ok := r.acked[name]; ok && id == s.id {
			e.send(s, short)
		} else {
			e.send(s, full)
		}
	}

	for _, name := range sortedKeys(e.seen) {
		if _, member := e.fsm.Member(name); !member && !r.table.Contains(name) {
			e.forget(name) // its removal is committed
		}
	}
	e.out = append(e.out, output{kind: outCommitted, took: now.Sub(r.startedAt)})
	e.notef(slog.LevelInfo, "table committed", "table_version", r.table.Version,
		"members", len(r.table.Members), "took", now.Sub(r.startedAt).String())
}

func (e *engine) changed(now time.Time) {
	if e.changedAt.IsZero() {
		e.changedAt = now
	}
}

func (e *engine) send(s *session, msg *pb.PlacementMessage) {
	e.out = append(e.out, output{kind: outSend, session: s.id, msg: msg})
}

// closeMember ends the stream name is attached to, if any.
func (e *engine) closeMember(name string, err error) {
	if s := e.byName[name]; s != nil {
		e.closeSession(s, err)
	}
}

// closeSession sends err's message as an Error and ends the stream with err.
func (e *engine) closeSession(s *session, err error) {
	e.send(s, &pb.PlacementMessage{Msg: &pb.PlacementMessage_Error{Error: &pb.Error{
		Message: status.Convert(err).Message(),
	}}})
	e.out = append(e.out, output{kind: outClose, session: s.id, err: err})

	delete(e.sessions, s.id)
	if s.name != "" && e.byName[s.name] == s {
		delete(e.byName, s.name)
	}
}

// reject ends a stream that broke the protocol, or that cannot join now, and logs why
// (rate-limited); host is the name the stream claimed, if any.
func (e *engine) reject(s *session, host string, err error) {
	st := status.Convert(err)
	e.out = append(e.out, output{kind: outNote, note: note{
		level:    slog.LevelWarn,
		msg:      "rejected sidecar stream",
		attrs:    []any{"host", host, "code", st.Code().String(), "reason", st.Message()},
		limitKey: st.Code().String() + " " + st.Message(),
	}})
	e.closeSession(s, err)
}

func (e *engine) notef(level slog.Level, msg string, attrs ...any) {
	e.out = append(e.out, output{kind: outNote, note: note{level: level, msg: msg, attrs: attrs}})
}

func commitMessage(t Table, withTable bool) *pb.PlacementMessage {
	c := &pb.Commit{Version: t.Version}
	if withTable {
		c.Table = tableToProto(t)
	}
	return &pb.PlacementMessage{Msg: &pb.PlacementMessage_Commit{Commit: c}}
}

func tableToProto(t Table) *pb.Table {
	members := make([]*pb.Member, len(t.Members))
	for i, m := range t.Members {
		members[i] = &pb.Member{Name: m.Name, AppId: m.AppID, Entities: m.Entities}
	}
	return &pb.Table{Version: t.Version, Members: members}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
