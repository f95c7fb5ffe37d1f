package placement_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	pb "github.com/troupe-dev/troupe/internal/placementpb"
	"github.com/troupe-dev/troupe/internal/testutil"
)

func hello(name string) *pb.SidecarMessage {
	return &pb.SidecarMessage{Msg: &pb.SidecarMessage_Hello{Hello: &pb.Hello{
		ProtocolVersion: pb.ProtocolVersion, Name: name, AppId: "app", Entities: []string{"T"},
	}}}
}

func TestBadInputGetsErrorAndStatus(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p := startPlacement(t, opts)
	a := startSidecar(t, &eventLog{}, "a:1", p.Addr())
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a joins")

	wrongVersion := hello("b:1")
	wrongVersion.GetHello().ProtocolVersion = 9
	tests := []struct {
		name     string
		send     *pb.SidecarMessage
		wantCode codes.Code
		wantText string
	}{
		{"unknown protocol version", wrongVersion, codes.FailedPrecondition, "protocol version 9"},
		{"empty name", hello(""), codes.InvalidArgument, "no name"},
		{"name not host:port", hello("b"), codes.InvalidArgument, "not host:port"},
		{"hello not first", &pb.SidecarMessage{Msg: &pb.SidecarMessage_Heartbeat{
			Heartbeat: &pb.Heartbeat{Seq: 1},
		}}, codes.InvalidArgument, "first message must be hello"},
		{"empty message", &pb.SidecarMessage{}, codes.InvalidArgument, "first message"},
		{"another live sidecar's name", hello("a:1"), codes.AlreadyExists, "another live stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := openStream(t, p.Addr())
			require.NoError(t, stream.Send(tt.send))

			msg, err := stream.Recv()
			require.NoError(t, err)
			require.Contains(t, msg.GetError().GetMessage(), tt.wantText)

			_, err = stream.Recv()
			require.Equal(t, tt.wantCode, status.Code(err), "status: %v", err)
			require.Contains(t, status.Convert(err).Message(), tt.wantText)
		})
	}

	st := p.state(t)
	require.Equal(t, []string{"a:1"}, memberNames(st), "bad input changed the membership")
	require.True(t, st.Members[0].Connected, "the impostor displaced a:1's stream")
}

func TestMalformedBytesAreRejected(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p := startPlacement(t, opts)
	cc, err := grpc.NewClient(p.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })

	for range 3 {
		desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
		stream, err := cc.NewStream(context.Background(), desc,
			pb.Placement_Connect_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
		require.NoError(t, err)
		require.NoError(t, stream.SendMsg(&[]byte{0xff, 0xff, 0xff, 0x07, 0x01}))

		var reply []byte
		err = stream.RecvMsg(&reply)
		require.Equal(t, codes.Internal, status.Code(err), "status: %v", err)
		require.Contains(t, status.Convert(err).Message(), "unmarshal")
	}

	// The server is still fine, and complained once.
	a := startSidecar(t, &eventLog{}, "a:1", p.Addr())
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a joins after the garbage")
	require.Equal(t, 1, strings.Count(logs.String(), "malformed message"), logs.String())
}

func TestRepeatedBadInputIsLoggedOnce(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p := startPlacement(t, opts)

	for range 5 {
		stream := openStream(t, p.Addr())
		require.NoError(t, stream.Send(hello("")))
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
	}
	require.Equal(t, 1, strings.Count(logs.String(), "hello has no name"), logs.String())
}

func openStream(t *testing.T, addr string) grpc.BidiStreamingClient[pb.SidecarMessage, pb.PlacementMessage] {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := pb.NewPlacementClient(cc).Connect(ctx)
	require.NoError(t, err)
	return stream
}

// rawCodec sends and receives message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
