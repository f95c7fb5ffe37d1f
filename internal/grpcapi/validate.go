package grpcapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// maxNameLength bounds actor types, ids, method names, state keys and reminder and timer
// names, as the HTTP API does.
const maxNameLength = 4096

// maxTTLSeconds bounds ttlInSeconds to about a hundred years, far from any overflow.
const maxTTLSeconds = 100 * 365 * 24 * 3600

// State transaction operation types (contract §3.1); daprd matches them exactly.
const (
	opUpsert = "upsert"
	opDelete = "delete"
)

// checkName rejects an empty or oversized request field; field is its proto name.
func checkName(field, v string) error {
	switch {
	case v == "":
		return apierr.New(apierr.BadRequest, "%s is empty", field)
	case len(v) > maxNameLength:
		return apierr.New(apierr.BadRequest, "%s is longer than %d bytes", field, maxNameLength)
	}
	return nil
}

// checkActor rejects a request whose actor type or id is missing or oversized.
func checkActor(actorType, actorID string) error {
	if err := checkName("actor_type", actorType); err != nil {
		return err
	}
	return checkName("actor_id", actorID)
}

func checkSize(n int, limit int64) error {
	if int64(n) > limit {
		return apierr.New(apierr.BodyTooLarge, "actor data is larger than %d bytes", limit)
	}
	return nil
}

// parseInvoke validates an InvokeActor request and builds the app call: a PUT with the
// request's data, no content type, and its metadata map as headers.
func parseInvoke(in *runtimev1pb.InvokeActorRequest, limit int64) (*appchannel.Request, error) {
	if err := checkActor(in.GetActorType(), in.GetActorId()); err != nil {
		return nil, err
	}
	if err := checkName("method", in.GetMethod()); err != nil {
		return nil, err
	}
	if err := checkSize(len(in.GetData()), limit); err != nil {
		return nil, err
	}

	header, err := appHeaders(in.GetMetadata())
	if err != nil {
		return nil, err
	}
	return &appchannel.Request{
		ActorType: in.GetActorType(),
		ActorID:   in.GetActorId(),
		Path:      url.PathEscape(in.GetMethod()),
		Body:      in.GetData(),
		Header:    header,
	}, nil
}

// appHeaders turns InvokeActor's metadata map into the headers the app receives, one value
// per key. Names are lowercased and gRPC's reserved ones renamed as daprd does (§2.9);
// binary (-bin) entries are dropped. The app channel drops the headers it owns.
func appHeaders(md map[string]string) (http.Header, error) {
	if len(md) == 0 {
		return nil, nil
	}

	h := make(http.Header, len(md))
	for key, value := range md {
		name := headerName(key)
		if strings.HasSuffix(name, "-bin") {
			continue
		}
		if !validHeaderName(name) {
			return nil, apierr.New(apierr.BadRequest,
				"metadata key %q is not a valid header name", key)
		}
		if !validHeaderValue(value) {
			return nil, apierr.New(apierr.BadRequest,
				"metadata value of %q holds a control character", key)
		}
		h.Add(name, value)
	}
	return h, nil
}

// headerName maps a metadata key to its header name: gRPC pseudo-headers and grpc-*
// names, which an HTTP app could not be sent, get a dapr- prefix.
func headerName(key string) string {
	key = strings.ToLower(key)
	switch key {
	case ":method", ":scheme", ":path", ":authority":
		return "dapr-" + key[1:]
	}
	if strings.HasPrefix(key, "grpc-") {
		return "dapr-" + key
	}
	return key
}

// validHeaderName reports whether name is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		isAlnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !isAlnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v holds no control character but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// parseGetState validates a GetActorState request.
func parseGetState(in *runtimev1pb.GetActorStateRequest) error {
	if err := checkActor(in.GetActorType(), in.GetActorId()); err != nil {
		return err
	}
	return checkName("key", in.GetKey())
}

// parseTransaction validates an ExecuteActorStateTransaction request and returns its
// operations. Values are the Any's bytes, stored as given (type_url is ignored); gRPC
// callers cannot send ETags.
func parseTransaction(in *runtimev1pb.ExecuteActorStateTransactionRequest,
	limit int64) ([]actors.StateOp, error) {
	if err := checkActor(in.GetActorType(), in.GetActorId()); err != nil {
		return nil, err
	}

	ops := make([]actors.StateOp, 0, len(in.GetOperations()))
	size := 0
	for i, raw := range in.GetOperations() {
		op, err := parseStateOp(i, raw)
		if err != nil {
			return nil, err
		}
		size += len(op.Value)
		if err := checkSize(size, limit); err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseStateOp(i int,
	raw *runtimev1pb.TransactionalActorStateOperation) (actors.StateOp, error) {
	if err := checkName("key", raw.GetKey()); err != nil {
		return actors.StateOp{}, apierr.New(apierr.BadRequest, "operations[%d]: %v", i, err)
	}

	op := actors.StateOp{Key: raw.GetKey()}
	switch raw.GetOperationType() {
	case opUpsert:
		ttl, err := parseTTL(raw.GetMetadata())
		if err != nil {
			return actors.StateOp{}, apierr.New(apierr.ActorStateTransaction,
				"error saving actor state: operation %d: %w", i, err)
		}
		op.Value = raw.GetValue().GetValue()
		op.TTL = ttl
	case opDelete:
		op.Delete = true
	default:
		// daprd answers this one over gRPC with Unimplemented, outside its error table.
		return actors.StateOp{}, status.Errorf(codes.Unimplemented,
			"operation type %s not supported", raw.GetOperationType())
	}
	return op, nil
}

// parseTTL reads metadata ttlInSeconds: an integer, where zero or less means no expiry, as
// in Dapr's state.redis.
func parseTTL(metadata map[string]string) (time.Duration, error) {
	s, ok := metadata["ttlInSeconds"]
	if !ok {
		return 0, nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("invalid ttlInSeconds %q: not an integer", s)
	case secs > maxTTLSeconds:
		return 0, fmt.Errorf("invalid ttlInSeconds %q: over %d", s, maxTTLSeconds)
	}
	return time.Duration(max(secs, 0)) * time.Second, nil
}

// scheduledRequest is what the RegisterActorReminder and RegisterActorTimer requests share.
type scheduledRequest interface {
	GetActorType() string
	GetActorId() string
	GetName() string
	GetDueTime() string
	GetPeriod() string
	GetTtl() string
	GetData() []byte
}

// parseScheduled validates a reminder or timer registration.
func parseScheduled(in scheduledRequest, limit int64) (reminders.Request, error) {
	if err := checkTarget(in.GetActorType(), in.GetActorId(), in.GetName()); err != nil {
		return reminders.Request{}, err
	}
	data, err := encodeData(in.GetData(), limit)
	if err != nil {
		return reminders.Request{}, err
	}
	return reminders.Request{
		ActorType: in.GetActorType(),
		ActorID:   in.GetActorId(),
		Name:      in.GetName(),
		DueTime:   in.GetDueTime(),
		Period:    in.GetPeriod(),
		TTL:       in.GetTtl(),
		Data:      data,
	}, nil
}

// checkTarget validates the actor and name of a reminder or timer request.
func checkTarget(actorType, actorID, name string) error {
	if err := checkActor(actorType, actorID); err != nil {
		return err
	}
	return checkName("name", name)
}

// encodeData turns gRPC reminder or timer bytes into the JSON the app receives: a base64
// string, or nil when there are none (protobuf does not tell empty from absent).
func encodeData(data []byte, limit int64) (json.RawMessage, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if err := checkSize(len(data), limit); err != nil {
		return nil, err
	}
	encoded, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding actor data: %w", err)
	}
	return encoded, nil
}
