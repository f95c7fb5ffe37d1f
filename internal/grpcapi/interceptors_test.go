package grpcapi

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/troupe-dev/troupe/internal/httpapi"
)

func TestTokenIsEnforced(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Token = "s3cret" })
	req := &runtimev1pb.GetMetadataRequest{}

	for _, tc := range []struct {
		name, token, detail string
	}{
		{"missing", "", "missing api token in request metadata"},
		{"wrong", "guess", "authentication error: api token mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, tokenKey, tc.token)
			}
			_, err := h.client.GetMetadata(ctx, req)

			st := status.Convert(err)
			require.Equal(t, codes.Unauthenticated, st.Code())
			assert.Equal(t, "Unauthorized", st.Message())
			require.Len(t, st.Details(), 1)
			info, ok := st.Details()[0].(*errdetails.ErrorInfo)
			require.True(t, ok, "detail is %T", st.Details()[0])
			assert.Equal(t, "dapr.io", info.GetDomain())
			assert.Equal(t, tc.detail, info.GetMetadata()["http.error_message"])
		})
	}

	ctx := metadata.AppendToOutgoingContext(context.Background(), tokenKey, "s3cret")
	_, err := h.client.GetMetadata(ctx, req)
	require.NoError(t, err)

	// Streams are guarded too, before the RPC's own answer.
	stream, err := h.client.SubscribeConfiguration(context.Background(),
		&runtimev1pb.SubscribeConfigurationRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
}

func TestUnimplementedRPCsAreNamed(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()

	_, err := h.client.GetState(ctx, &runtimev1pb.GetStateRequest{})
	requireStatus(t, err, codes.Unimplemented, "troupe does not implement Dapr RPC GetState")

	stream, err := h.client.SubscribeConfiguration(ctx, &runtimev1pb.SubscribeConfigurationRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	requireStatus(t, err, codes.Unimplemented,
		"troupe does not implement Dapr RPC SubscribeConfiguration")

	// An RPC that v1.14 does not declare, as a newer SDK might call.
	conn := dial(t, h.addr)
	err = conn.Invoke(ctx, "/dapr.proto.runtime.v1.Dapr/ConverseAlpha1",
		&emptypb.Empty{}, &emptypb.Empty{})
	requireStatus(t, err, codes.Unimplemented, "troupe does not implement Dapr RPC ConverseAlpha1")
}

func TestPanicBecomesInternal(t *testing.T) {
	var logs bytes.Buffer
	var calls atomic.Int32
	h := newHarness(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Metadata = func() httpapi.ActorRuntimeStatus {
			if calls.Add(1) == 1 {
				panic("metadata exploded")
			}
			return httpapi.ActorRuntimeStatus{RuntimeStatus: "RUNNING"}
		}
	})
	ctx := context.Background()

	_, err := h.client.GetMetadata(ctx, &runtimev1pb.GetMetadataRequest{})
	requireStatus(t, err, codes.Internal, "internal error in GetMetadata")
	assert.Contains(t, logs.String(), "metadata exploded")
	assert.Contains(t, logs.String(), "rpc=/dapr.proto.runtime.v1.Dapr/GetMetadata")

	_, err = h.client.GetMetadata(ctx, &runtimev1pb.GetMetadataRequest{})
	require.NoError(t, err, "the server keeps serving after a panic")
}

func TestToStatus(t *testing.T) {
	assert.NoError(t, toStatus(nil))

	err := toStatus(status.Error(codes.PermissionDenied, "from a remote sidecar"))
	requireStatus(t, err, codes.PermissionDenied, "from a remote sidecar")

	err = toStatus(assert.AnError)
	requireStatus(t, err, codes.Internal, assert.AnError.Error())
}
