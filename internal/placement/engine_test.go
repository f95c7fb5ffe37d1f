package placement

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of scenario files")

// TestScenarios drives the engine with the scripts in testdata/scenarios. A script is
// a list of steps: a line "> command args" followed by the outputs it must produce.
// Run with -rewrite to regenerate the expected outputs, then review the diff.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)

	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

func runScenario(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	require.NoError(t, err)

	h := &harness{t: t, ids: map[string]sessionID{}, labels: map[sessionID]string{}}
	var got strings.Builder
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		want.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "> "):
			got.WriteString(line + "\n")
			for _, out := range h.run(strings.Fields(line[2:])) {
				got.WriteString(out + "\n")
			}
		case line == "" || strings.HasPrefix(line, "#"):
			got.WriteString(line + "\n")
		}
	}

	if *rewrite {
		require.NoError(t, os.WriteFile(file, []byte(got.String()), 0o644))
		return
	}
	require.Equal(t, want.String(), got.String(), "scenario %s (run with -rewrite to update)", file)
}

// harness runs scenario commands against one engine with a virtual clock.
type harness struct {
	t      *testing.T
	e      *engine
	now    time.Time
	ids    map[string]sessionID
	labels map[sessionID]string
}

func (h *harness) run(args []string) []string {
	cmd, args := args[0], args[1:]
	if cmd != "start" && h.e == nil {
		h.t.Fatalf("scenario must begin with start")
	}

	switch cmd {
	case "start":
		h.start(options(args))
	case "hello":
		h.hello(args)
	case "hb":
		h.receive(args[0], &pb.SidecarMessage{Msg: &pb.SidecarMessage_Heartbeat{
			Heartbeat: &pb.Heartbeat{Seq: uint64(h.number(args, 1))},
		}})
	case "ack":
		h.receive(args[0], &pb.SidecarMessage{Msg: &pb.SidecarMessage_PrepareAck{
			PrepareAck: &pb.PrepareAck{Version: uint64(h.number(args, 1))},
		}})
	case "leave":
		h.receive(args[0], &pb.SidecarMessage{Msg: &pb.SidecarMessage_Leave{Leave: &pb.Leave{}}})
	case "empty":
		h.receive(args[0], &pb.SidecarMessage{})
	case "close":
		h.e.closed(h.session(args[0]), args[1] == "clean", h.now)
	case "tick":
		d, err := time.ParseDuration(args[0])
		require.NoError(h.t, err)
		h.now = h.now.Add(d)
		h.e.tick(h.now)
	case "state":
		return h.state()
	default:
		h.t.Fatalf("unknown scenario command %q", cmd)
	}
	return h.render(h.e.takeOutputs())
}

func (h *harness) start(opts map[string]string) {
	cfg := engineConfig{
		heartbeat:      200 * time.Millisecond,
		lease:          800 * time.Millisecond,
		memberTimeout:  1200 * time.Millisecond,
		batchWindow:    50 * time.Millisecond,
		prepareTimeout: 5 * time.Second,
	}
	for key, field := range map[string]*time.Duration{
		"settle": &cfg.settleWindow, "batch": &cfg.batchWindow, "prepare": &cfg.prepareTimeout,
	} {
		if v, ok := opts[key]; ok {
			d, err := time.ParseDuration(v)
			require.NoError(h.t, err)
			*field = d
		}
	}
	h.now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h.e = newEngine(cfg, h.now)
}

// hello sends a Hello on session label (opened on first use): hello s1 a:1 [v=7]
// [app=x] [types=A,B] [proto=1].
func (h *harness) hello(args []string) {
	opts := options(args[2:])
	hello := &pb.Hello{
		ProtocolVersion: pb.ProtocolVersion,
		Name:            args[1],
		AppId:           "app",
		Entities:        []string{"T"},
	}
	if v, ok := opts["v"]; ok {
		hello.LastTableVersion = uint64(h.number([]string{v}, 0))
	}
	if v, ok := opts["app"]; ok {
		hello.AppId = v
	}
	if v, ok := opts["types"]; ok {
		hello.Entities = strings.Split(v, ",")
	}
	if v, ok := opts["proto"]; ok {
		hello.ProtocolVersion = uint32(h.number([]string{v}, 0))
	}
	if args[1] == `""` {
		hello.Name = ""
	}
	h.receive(args[0], &pb.SidecarMessage{Msg: &pb.SidecarMessage_Hello{Hello: hello}})
}

// receive delivers msg on session label, opening the session on first use.
func (h *harness) receive(label string, msg *pb.SidecarMessage) {
	if _, ok := h.ids[label]; !ok {
		id := sessionID(len(h.ids) + 1)
		h.ids[label] = id
		h.labels[id] = label
		h.e.open(id, h.now)
	}
	h.e.receive(h.ids[label], msg, h.now)
}

func (h *harness) session(label string) sessionID {
	id, ok := h.ids[label]
	require.True(h.t, ok, "unknown session %s", label)
	return id
}

func (h *harness) number(args []string, i int) int {
	n, err := strconv.Atoi(args[i])
	require.NoError(h.t, err)
	return n
}

func (h *harness) render(outs []output) []string {
	var lines []string
	for _, o := range outs {
		switch o.kind {
		case outSend:
			lines = append(lines, h.labels[o.session]+" <- "+renderMessage(o.msg))
		case outClose:
			lines = append(lines, fmt.Sprintf("%s closed: %s", h.labels[o.session],
				status.Code(o.err)))
		case outNote:
			if o.note.level > slog.LevelDebug {
				lines = append(lines, renderNote(o.note))
			}
		}
	}
	return lines
}

func (h *harness) state() []string {
	st := h.e.snapshot(h.now)
	lines := []string{fmt.Sprintf("table v%d phase=%s", st.TableVersion, st.Phase)}
	if st.Round != nil {
		lines = append(lines, fmt.Sprintf("round v%d awaiting %v", st.Round.Version,
			st.Round.Awaiting))
	}
	for _, m := range st.Members {
		lines = append(lines, fmt.Sprintf("member %s app=%s types=%v seen=%s connected=%t fenced=%t",
			m.Name, m.AppID, m.Entities, m.LastHeartbeat.Format("05.000"), m.Connected, m.Fenced))
	}
	return lines
}

func renderMessage(m *pb.PlacementMessage) string {
	switch m := m.Msg.(type) {
	case *pb.PlacementMessage_Welcome:
		return fmt.Sprintf("welcome lease=%dms heartbeat=%dms prepare=%dms", m.Welcome.LeaseMs,
			m.Welcome.HeartbeatMs, m.Welcome.PrepareTimeoutMs)
	case *pb.PlacementMessage_HeartbeatAck:
		return fmt.Sprintf("heartbeat-ack %d", m.HeartbeatAck.Seq)
	case *pb.PlacementMessage_Prepare:
		return "prepare " + renderTable(m.Prepare.Table)
	case *pb.PlacementMessage_Commit:
		if m.Commit.Table != nil {
			return "commit " + renderTable(m.Commit.Table)
		}
		return fmt.Sprintf("commit v%d", m.Commit.Version)
	case *pb.PlacementMessage_Error:
		return "error: " + m.Error.Message
	default:
		return fmt.Sprintf("unknown %T", m)
	}
}

func renderTable(t *pb.Table) string {
	names := make([]string, len(t.Members))
	for i, m := range t.Members {
		names[i] = m.Name
	}
	return fmt.Sprintf("v%d %v", t.Version, names)
}

func renderNote(n note) string {
	var b strings.Builder
	fmt.Fprintf(&b, "log %s %s", n.level, n.msg)
	for i := 0; i+1 < len(n.attrs); i += 2 {
		fmt.Fprintf(&b, " %v=%v", n.attrs[i], n.attrs[i+1])
	}
	return b.String()
}

// options parses key=value arguments.
func options(args []string) map[string]string {
	opts := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		opts[k] = v
	}
	return opts
}
