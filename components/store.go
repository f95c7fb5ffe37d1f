// Package components defines the actor state store that a sidecar persists actor state to,
// and loads the Dapr component files (apiVersion dapr.io/v1alpha1, kind Component) that
// choose and configure it.
//
// Two stores implement Store: redisstore, which keeps Dapr's state.redis layout so that
// daprd and troupe can read each other's data, and sqlitestore, the embedded default that
// needs no server and that several sidecars on one machine can share through one file.
package components

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns for conditions that callers branch on. Implementations wrap them
// (test with errors.Is), so the message can name the key.
var (
	// ErrETagMismatch means an operation's ETag did not match the stored version. The whole
	// transaction was rejected; nothing was written.
	ErrETagMismatch = errors.New("components: etag mismatch")

	// ErrInvalidETag means an ETag was not a version this store could have issued (for
	// example not a decimal integer). Nothing was written.
	ErrInvalidETag = errors.New("components: invalid etag")

	// ErrFenced means the transaction carried a fencing token older than the one already
	// stored for its fence key: a newer owner has claimed the actor. Nothing was written.
	ErrFenced = errors.New("components: fenced by a newer owner")
)

// Store is an actor state store. Keys are built by the actor runtime
// (appId||actorType||actorId||key, as Dapr does); the store treats them as opaque.
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the item stored under key. found is false, with a nil error, when the key
	// is absent or expired.
	Get(ctx context.Context, key string) (item Item, found bool, err error)

	// Transact applies every operation of txn atomically: either all are written or none
	// is. It fails with ErrETagMismatch, ErrInvalidETag or ErrFenced (wrapped) when a check
	// fails, and then has written nothing.
	Transact(ctx context.Context, txn Txn) error

	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error

	// Close releases the store's connections.
	Close() error
}

// Item is a stored value with its version.
type Item struct {
	// Value is the stored bytes, exactly as written.
	Value []byte

	// ETag is the item's version: a decimal integer that starts at "1" and grows by one on
	// every write, as in Dapr's state.redis.
	ETag string

	// Expires is when the item's TTL ends; zero when it has none.
	Expires time.Time
}

// Txn is a group of operations applied all or nothing.
type Txn struct {
	// Ops are applied in order. An empty list is valid (useful with Fence alone).
	Ops []Op

	// Fence, when not nil, makes the transaction conditional on ownership: it fails with
	// ErrFenced when the token stored under Fence.Key is greater than Fence.Token, and
	// otherwise stores Fence.Token there (raising it) together with the ops.
	Fence *Fence
}

// Op is one write of a transaction.
type Op struct {
	// Key is the full store key.
	Key string

	// Delete removes the key instead of writing Value.
	Delete bool

	// Value is the bytes to store (ignored for a delete).
	Value []byte

	// ETag, when not empty, must equal the stored version. As in Dapr's state.redis, a key
	// that does not exist passes the check.
	ETag string

	// TTL, when positive, makes an upsert expire after that long; an upsert with no TTL
	// clears any expiry the key had.
	TTL time.Duration
}

// Fence is a monotonically increasing ownership token stored under its own key.
type Fence struct {
	// Key is where the token is kept; it must not collide with state keys.
	Key string

	// Token is the writer's ownership token.
	Token uint64
}
