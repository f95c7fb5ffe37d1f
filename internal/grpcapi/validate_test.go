package grpcapi

import (
	"bytes"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestHeaderName(t *testing.T) {
	for key, want := range map[string]string{
		":method":      "dapr-method",
		":authority":   "dapr-authority",
		"grpc-timeout": "dapr-grpc-timeout",
		"GRPC-Status":  "dapr-grpc-status",
		"X-Custom":     "x-custom",
		"my-grpc-x":    "my-grpc-x",
	} {
		assert.Equal(t, want, headerName(key), key)
	}
}

// The transport's receive limit hides this check end to end; it matters when the service
// shares a server with a larger limit.
func TestParseChecksDataSize(t *testing.T) {
	_, err := parseInvoke(&runtimev1pb.InvokeActorRequest{
		ActorType: "t", ActorId: "i", Method: "m", Data: make([]byte, 11),
	}, 10)
	requireStatus(t, toStatus(err), codes.ResourceExhausted, "larger than 10 bytes")

	_, err = parseTransaction(&runtimev1pb.ExecuteActorStateTransactionRequest{
		ActorType: "t", ActorId: "i", Operations: []*runtimev1pb.TransactionalActorStateOperation{
			upsert("a", "123456", nil), upsert("b", "123456", nil),
		},
	}, 10)
	requireStatus(t, toStatus(err), codes.ResourceExhausted, "larger than 10 bytes")

	_, err = parseScheduled(&runtimev1pb.RegisterActorReminderRequest{
		ActorType: "t", ActorId: "i", Name: "r", Data: make([]byte, 11),
	}, 10)
	requireStatus(t, toStatus(err), codes.ResourceExhausted, "larger than 10 bytes")
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"60": time.Minute, "0": 0, "-5": 0} {
		got, err := parseTTL(map[string]string{"ttlInSeconds": in})
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "1.5", "9999999999999", "1e3"} {
		_, err := parseTTL(map[string]string{"ttlInSeconds": in})
		assert.Error(t, err, in)
	}
}

const fuzzLimit = 64

// FuzzValidateInvokeActor: any InvokeActor request is either refused with a client error
// or turned into an app call whose headers net/http can send.
func FuzzValidateInvokeActor(f *testing.F) {
	f.Add("counter", "a", "echo", []byte("{}"), "x-custom", "v")
	f.Add("", "a", "m", []byte(nil), ":method", "POST")
	f.Add("t", "a/b%2F", "m e", []byte("x"), "grpc-x", "a\r\nb")
	f.Add("t", "i", "m", make([]byte, fuzzLimit+1), "k-bin", "\x00")

	f.Fuzz(func(t *testing.T, typ, id, method string, data []byte, key, value string) {
		in := &runtimev1pb.InvokeActorRequest{
			ActorType: typ, ActorId: id, Method: method, Data: data,
			Metadata: map[string]string{key: value},
		}
		req, err := parseInvoke(in, fuzzLimit)
		if err != nil {
			code := status.Code(toStatus(err))
			require.Contains(t, []codes.Code{codes.InvalidArgument, codes.ResourceExhausted},
				code, err.Error())
			return
		}

		require.NotEmpty(t, typ)
		require.NotEmpty(t, id)
		require.NotEmpty(t, method)
		require.LessOrEqual(t, len(data), fuzzLimit)
		require.Equal(t, typ, req.ActorType)
		require.Equal(t, id, req.ActorID)
		require.True(t, bytes.Equal(data, req.Body))
		for name, values := range req.Header {
			require.True(t, httpguts.ValidHeaderFieldName(name), "name %q", name)
			require.Len(t, values, 1)
			require.True(t, httpguts.ValidHeaderFieldValue(values[0]), "value %q", values[0])
		}
	})
}

// FuzzValidateStateTransaction: an operation is refused with a clear status or kept with
// its bytes untouched.
func FuzzValidateStateTransaction(f *testing.F) {
	f.Add("t", "i", "upsert", "k", []byte(`{"a": 1}`), "10")
	f.Add("t", "i", "delete", "k", []byte(nil), "")
	f.Add("t", "i", "Upsert", "", []byte("x"), "x")
	f.Add("", "i", "merge", "k", make([]byte, fuzzLimit+1), "-1")

	f.Fuzz(func(t *testing.T, typ, id, opType, key string, value []byte, ttl string) {
		op := &runtimev1pb.TransactionalActorStateOperation{
			OperationType: opType, Key: key, Value: &anypb.Any{Value: value},
		}
		if ttl != "" {
			op.Metadata = map[string]string{"ttlInSeconds": ttl}
		}
		ops, err := parseTransaction(&runtimev1pb.ExecuteActorStateTransactionRequest{
			ActorType: typ, ActorId: id,
			Operations: []*runtimev1pb.TransactionalActorStateOperation{op},
		}, fuzzLimit)
		if err != nil {
			code := status.Code(toStatus(err))
			require.Contains(t, []codes.Code{codes.InvalidArgument, codes.ResourceExhausted,
				codes.Unimplemented, codes.Internal}, code, err.Error())
			return
		}

		require.Len(t, ops, 1)
		require.Equal(t, key, ops[0].Key)
		require.GreaterOrEqual(t, ops[0].TTL, time.Duration(0))
		switch opType {
		case opUpsert:
			require.False(t, ops[0].Delete)
			require.True(t, bytes.Equal(value, ops[0].Value), "stored as sent")
		case opDelete:
			require.True(t, ops[0].Delete)
		default:
			t.Fatalf("operation type %q was accepted", opType)
		}
	})
}
