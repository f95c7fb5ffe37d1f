package grpcapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/httpapi"
)

// requireStatus asserts err is a status with code and a message containing msg.
func requireStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status error: %v", err)
	assert.Equal(t, code, st.Code(), st.Message())
	assert.Contains(t, st.Message(), msg)
}

func invoke(h *harness, typ, id, method string,
	data []byte) (*runtimev1pb.InvokeActorResponse, error) {
	return h.client.InvokeActor(context.Background(), &runtimev1pb.InvokeActorRequest{
		ActorType: typ, ActorId: id, Method: method, Data: data,
	})
}

func TestInvokeActorReturnsAppBody(t *testing.T) {
	h := newHarness(t, nil)

	resp, err := invoke(h, "counter", "a", "echo", []byte(`{"n": 1}`))
	require.NoError(t, err)
	assert.Equal(t, `{"n": 1}`, string(resp.GetData()))
}

func TestInvokeActorPassesOnlyRequestMetadata(t *testing.T) {
	h := newHarness(t, nil)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-incoming", "dropped")
	resp, err := h.client.InvokeActor(ctx, &runtimev1pb.InvokeActorRequest{
		ActorType: "counter", ActorId: "a", Method: "headers",
		Metadata: map[string]string{
			"X-Custom":     "v1",
			":method":      "POST",
			"grpc-timeout": "1S",
			"trace-bin":    "\x00binary",
		},
	})
	require.NoError(t, err)

	var got struct {
		Method string
		Header http.Header
	}
	require.NoError(t, json.Unmarshal(resp.GetData(), &got))
	assert.Equal(t, http.MethodPut, got.Method)
	assert.Equal(t, []string{"v1"}, got.Header["X-Custom"])
	assert.Equal(t, []string{"POST"}, got.Header["Dapr-Method"])
	assert.Equal(t, []string{"1S"}, got.Header["Dapr-Grpc-Timeout"])
	assert.NotContains(t, got.Header, "Trace-Bin")
	assert.NotContains(t, got.Header, "X-Incoming", "gRPC call metadata is not passed on")
	assert.NotContains(t, got.Header, "Content-Type")
}

func TestInvokeActorAppFailureIsInternal(t *testing.T) {
	h := newHarness(t, nil)

	_, err := invoke(h, "counter", "a", "fail", nil)
	requireStatus(t, err, codes.Internal,
		"error invoke actor method: error from actor service: boom")

	_, err = invoke(h, "counter", "a", "created", nil)
	requireStatus(t, err, codes.Internal, "error from actor service")

	_, err = invoke(h, "nothosted", "a", "echo", nil)
	requireStatus(t, err, codes.Internal, "did not find address for actor nothosted/a")
}

func TestInvokeActorActorErrorIsOK(t *testing.T) {
	h := newHarness(t, nil)

	resp, err := invoke(h, "counter", "a", "actorerror", nil)
	require.NoError(t, err)
	assert.Equal(t, "actor exploded", string(resp.GetData()))
}

func TestInvokeActorRejectsBadRequests(t *testing.T) {
	h := newHarness(t, nil)

	for _, tc := range []struct {
		name string
		req  *runtimev1pb.InvokeActorRequest
		code codes.Code
		msg  string
	}{
		{"no type", &runtimev1pb.InvokeActorRequest{ActorId: "a", Method: "echo"},
			codes.InvalidArgument, "actor_type is empty"},
		{"no id", &runtimev1pb.InvokeActorRequest{ActorType: "counter", Method: "echo"},
			codes.InvalidArgument, "actor_id is empty"},
		{"no method", &runtimev1pb.InvokeActorRequest{ActorType: "counter", ActorId: "a"},
			codes.InvalidArgument, "method is empty"},
		{"long id", &runtimev1pb.InvokeActorRequest{ActorType: "counter",
			ActorId: strings.Repeat("x", maxNameLength+1), Method: "echo"},
			codes.InvalidArgument, "actor_id is longer than"},
		{"bad header", &runtimev1pb.InvokeActorRequest{ActorType: "counter", ActorId: "a",
			Method: "echo", Metadata: map[string]string{"a b": "v"}},
			codes.InvalidArgument, `metadata key "a b" is not a valid header name`},
		{"bad value", &runtimev1pb.InvokeActorRequest{ActorType: "counter", ActorId: "a",
			Method: "echo", Metadata: map[string]string{"k": "v\r\nX-Evil: 1"}},
			codes.InvalidArgument, "control character"},
		{"too large", &runtimev1pb.InvokeActorRequest{ActorType: "counter", ActorId: "a",
			Method: "echo", Data: make([]byte, 65<<10)},
			codes.ResourceExhausted, "larger than max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.InvokeActor(context.Background(), tc.req)
			requireStatus(t, err, tc.code, tc.msg)
		})
	}
	assert.Equal(t, 0, h.runtime.ActiveCounts()["counter"], "no bad request activated an actor")
}

func TestGetActorState(t *testing.T) {
	h := newHarness(t, nil)
	get := func(id, key string) (*runtimev1pb.GetActorStateResponse, error) {
		return h.client.GetActorState(context.Background(), &runtimev1pb.GetActorStateRequest{
			ActorType: "counter", ActorId: id, Key: key,
		})
	}

	_, err := get("a", "count")
	requireStatus(t, err, codes.Internal, "actor instance is missing")

	_, err = invoke(h, "counter", "a", "echo", nil)
	require.NoError(t, err)
	resp, err := get("a", "count")
	require.NoError(t, err, "a missing key is OK")
	assert.Empty(t, resp.GetData())

	// The runtime caches what it read, so store the value under a key not yet read.
	ctx := context.Background()
	require.NoError(t, h.redis.Client().HSet(ctx, stateKey("counter", "a", "preset"),
		"data", "41", "version", "1").Err())
	resp, err = get("a", "preset")
	require.NoError(t, err)
	assert.Equal(t, "41", string(resp.GetData()))

	_, err = get("a", "")
	requireStatus(t, err, codes.InvalidArgument, "key is empty")
}

func transact(h *harness, id string, ops ...*runtimev1pb.TransactionalActorStateOperation) error {
	_, err := h.client.ExecuteActorStateTransaction(context.Background(),
		&runtimev1pb.ExecuteActorStateTransactionRequest{
			ActorType: "counter", ActorId: id, Operations: ops,
		})
	return err
}

func upsert(key, value string, md map[string]string) *runtimev1pb.TransactionalActorStateOperation {
	return &runtimev1pb.TransactionalActorStateOperation{
		OperationType: "upsert", Key: key, Metadata: md,
		Value: &anypb.Any{TypeUrl: "ignored", Value: []byte(value)},
	}
}

func TestExecuteActorStateTransactionStoresRawBytes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	rdb := h.redis.Client()
	_, err := invoke(h, "counter", "a", "echo", nil)
	require.NoError(t, err)

	raw := `{ "spaced" : "json" }`
	err = transact(h, "a",
		upsert("doc", raw, nil),
		upsert("short", "x", map[string]string{"ttlInSeconds": "100"}))
	require.NoError(t, err)

	assert.Equal(t, raw, rdb.HGet(ctx, stateKey("counter", "a", "doc"), "data").Val(),
		"the bytes are stored as sent, not re-encoded")
	ttl := rdb.TTL(ctx, stateKey("counter", "a", "short")).Val()
	assert.True(t, ttl > 90*time.Second && ttl <= 100*time.Second, "ttl %v", ttl)

	err = transact(h, "a", &runtimev1pb.TransactionalActorStateOperation{
		OperationType: "delete", Key: "doc",
	})
	require.NoError(t, err)
	assert.Zero(t, rdb.Exists(ctx, stateKey("counter", "a", "doc")).Val())
}

func TestExecuteActorStateTransactionRejectsBadOperations(t *testing.T) {
	h := newHarness(t, nil)
	rdb := h.redis.Client()
	_, err := invoke(h, "counter", "a", "echo", nil)
	require.NoError(t, err)

	err = transact(h, "a", upsert("k", "1", nil),
		&runtimev1pb.TransactionalActorStateOperation{OperationType: "merge", Key: "k"})
	requireStatus(t, err, codes.Unimplemented, "operation type merge not supported")

	err = transact(h, "a", upsert("k", "1", map[string]string{"ttlInSeconds": "soon"}))
	requireStatus(t, err, codes.Internal, `invalid ttlInSeconds "soon"`)

	err = transact(h, "a", upsert("k", "1", nil), upsert("", "2", nil))
	requireStatus(t, err, codes.InvalidArgument, "operations[1]: key is empty")

	err = transact(h, "b", upsert("k", "1", nil))
	requireStatus(t, err, codes.Internal, "actor instance is missing")

	assert.Zero(t, rdb.DBSize(context.Background()).Val(), "no rejected write reached the store")
}

// TestClientDisconnectReleasesTurn: a caller that goes away mid-call does not leave the
// actor locked; the app's answer ends the turn and the next call runs.
func TestClientDisconnectReleasesTurn(t *testing.T) {
	h := newHarness(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	quitter := runtimev1pb.NewDaprClient(dial(t, h.addr))
	firstDone := make(chan error, 1)
	go func() {
		_, err := quitter.InvokeActor(ctx, &runtimev1pb.InvokeActorRequest{
			ActorType: "counter", ActorId: "held", Method: "block",
		})
		firstDone <- err
	}()
	require.Equal(t, "held", <-h.app.entered)

	cancel()
	requireStatus(t, <-firstDone, codes.Canceled, "")

	nextDone := make(chan error, 1)
	go func() {
		_, err := invoke(h, "counter", "held", "echo", nil)
		nextDone <- err
	}()
	close(h.app.release)

	select {
	case err := <-nextDone:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the next call on the actor did not run after the caller left")
	}
	assert.Zero(t, h.app.overlapCount(), "the next call waited for the abandoned turn")
}

func TestGetMetadata(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Metadata = func() httpapi.ActorRuntimeStatus {
			return httpapi.ActorRuntimeStatus{
				RuntimeStatus: "RUNNING",
				ActiveActors:  []httpapi.ActiveCount{{Type: "counter", Count: 2}, {Type: "other"}},
				HostReady:     true,
				Placement:     "placement: connected",
			}
		}
	})

	md, err := h.client.GetMetadata(context.Background(), &runtimev1pb.GetMetadataRequest{})
	require.NoError(t, err)
	assert.Equal(t, testAppID, md.GetId())
	assert.Equal(t, httpapi.RuntimeVersion, md.GetRuntimeVersion())

	ar := md.GetActorRuntime()
	assert.Equal(t, runtimev1pb.ActorRuntime_RUNNING, ar.GetRuntimeStatus())
	assert.True(t, ar.GetHostReady())
	assert.Equal(t, "placement: connected", ar.GetPlacement())
	require.Len(t, ar.GetActiveActors(), 2)
	assert.Equal(t, "counter", ar.GetActiveActors()[0].GetType())
	assert.Equal(t, int32(2), ar.GetActiveActors()[0].GetCount())
	assert.Len(t, md.GetActiveActorsCount(), 2, "the deprecated alias is filled too")
}

func TestRuntimeNotReady(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Runtime = func(ctx context.Context) (*actors.Runtime, error) {
			return nil, context.DeadlineExceeded
		}
	})

	_, err := invoke(h, "counter", "a", "echo", nil)
	requireStatus(t, err, codes.Internal, "the actor runtime is not ready")
}
