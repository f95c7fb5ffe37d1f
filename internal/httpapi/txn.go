package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/apierr"
)

// maxTTLSeconds bounds ttlInSeconds to about a hundred years, far from any overflow.
const maxTTLSeconds = 100 * 365 * 24 * 3600

// txnOperation is one element of the actor state transaction body.
type txnOperation struct {
	Operation string      `json:"operation"`
	Request   *txnRequest `json:"request"`
}

type txnRequest struct {
	Key      string            `json:"key"`
	Value    json.RawMessage   `json:"value"`
	ETag     *string           `json:"etag"`
	Metadata map[string]string `json:"metadata"`
}

// ParseTransaction decodes the body of POST /v1.0/actors/{type}/{id}/state: a JSON array of
// {"operation":"upsert"|"delete","request":{"key","value","etag","metadata"}}. Values are
// stored as compact JSON. The errors have daprd's codes: a body that is not such an array
// is ERR_MALFORMED_REQUEST; an operation that is not valid is ERR_ACTOR_STATE_TRANSACTION_SAVE.
func ParseTransaction(body []byte) ([]actors.StateOp, error) {
	var raw []txnOperation
	if err := decodeStrict(body, &raw); err != nil {
		return nil, apierr.New(apierr.MalformedRequest,
			"failed deserializing HTTP body: %v", err)
	}

	ops := make([]actors.StateOp, 0, len(raw))
	for i, r := range raw {
		op, err := r.toStateOp()
		if err != nil {
			return nil, apierr.New(apierr.ActorStateTransaction,
				"error saving actor state: operation %d: %v", i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// decodeStrict decodes one JSON value; json.Unmarshal already rejects anything after it.
// An empty body reads as EOF, as daprd reports it.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("EOF")
	}
	return json.Unmarshal(body, v)
}

func (r txnOperation) toStateOp() (actors.StateOp, error) {
	if r.Request == nil {
		return actors.StateOp{}, fmt.Errorf("request data is empty")
	}
	req := r.Request
	if req.Key == "" {
		return actors.StateOp{}, fmt.Errorf("missing key")
	}

	op := actors.StateOp{Key: req.Key}
	if req.ETag != nil {
		op.ETag = *req.ETag
	}

	switch strings.ToLower(r.Operation) {
	case "upsert":
		ttl, err := parseTTL(req.Metadata)
		if err != nil {
			return actors.StateOp{}, err
		}
		op.TTL = ttl
		op.Value = compactValue(req.Value)
	case "delete":
		op.Delete = true
	default:
		return actors.StateOp{}, fmt.Errorf("operation type %s not supported", r.Operation)
	}
	return op, nil
}

// compactValue stores the value as compact JSON; a missing value is stored as null.
func compactValue(v json.RawMessage) []byte {
	if len(v) == 0 {
		return []byte("null")
	}
	var buf bytes.Buffer
	buf.Grow(len(v))
	if err := json.Compact(&buf, v); err != nil {
		// Unreachable: the decoder already validated v.
		return append([]byte(nil), v...)
	}
	return buf.Bytes()
}

func parseTTL(metadata map[string]string) (time.Duration, error) {
	s, ok := metadata["ttlInSeconds"]
	if !ok {
		return 0, nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid ttlInSeconds %q: not an integer", s)
	}
	if secs > maxTTLSeconds {
		return 0, fmt.Errorf("invalid ttlInSeconds %q: over %d", s, maxTTLSeconds)
	}
	// Zero or negative means no expiry, as in Dapr's state.redis.
	return time.Duration(max(secs, 0)) * time.Second, nil
}
