// Package redisstore is the actor state store on Redis. It keeps Dapr's state.redis layout
// (a hash per key with fields "data" and "version"), so daprd and troupe can read each
// other's actor state, but applies a transaction with one Lua script, all or nothing,
// where daprd's MULTI applies whatever passed its checks.
package redisstore

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/troupe-dev/troupe/components"
)

// Hash fields of a stored key, as Dapr's state.redis writes them.
const (
	fieldData    = "data"
	fieldVersion = "version"
)

//go:embed script.lua
var transactSource string

// transactScript runs with EVALSHA, falling back to EVAL when Redis does not have it
// cached (after a restart or SCRIPT FLUSH).
var transactScript = redis.NewScript(transactSource)

// Reply codes of transactScript.
const (
	replyApplied  = 0
	replyMismatch = 1
	replyFenced   = 2
)

// Store is a components.Store on one Redis server. It is safe for concurrent use; its
// client keeps a connection pool and reconnects by itself after an outage.
type Store struct {
	client *redis.Client

	// stateWrites and reminderWrites coalesce concurrent writes into pipelines.
	stateWrites    scriptBatcher
	reminderWrites scriptBatcher
}

var _ components.Store = (*Store)(nil)

// New returns a Store for the server in opts. It does not connect; call Ping to check the
// server is reachable.
func New(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("redis options: %w", err)
	}

	ro := &redis.Options{
		Addr:                  opts.Host,
		Username:              opts.Username,
		Password:              opts.Password,
		DB:                    opts.DB,
		DialTimeout:           opts.DialTimeout,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		PoolSize:              opts.PoolSize,
		MaxRetries:            opts.MaxRetries,
		ContextTimeoutEnabled: true,
		// One quick redial per attempt: command retries already cover a flapping server.
		DialerRetries: 1,
		// Maintenance notifications are a Redis Enterprise feature; asking an open-source
		// server for them only costs a round trip per connection.
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	if opts.EnableTLS {
		// As Dapr's enableTLS: encrypt, but accept the server's certificate unverified.
		ro.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}

	return &Store{
		client:         redis.NewClient(ro),
		stateWrites:    scriptBatcher{script: transactScript},
		reminderWrites: scriptBatcher{script: reminderScript},
	}, nil
}

// Get reads key with a single HGETALL. It leaves Item.Expires zero even for a key with a
// TTL: reading the TTL would take a second command on the hottest path.
func (s *Store) Get(ctx context.Context, key string) (components.Item, bool, error) {
	fields, err := s.client.HGetAll(ctx, key).Result()
	if err != nil {
		if isWrongType(err) {
			return s.getString(ctx, key)
		}
		return components.Item{}, false, fmt.Errorf("redis get %q: %w", key, err)
	}
	if len(fields) == 0 {
		return components.Item{}, false, nil
	}

	return itemFromHash(key, fields)
}

// itemFromHash builds an Item from a stored hash. Other fields (Dapr's "first-write") are
// ignored.
func itemFromHash(key string, fields map[string]string) (components.Item, bool, error) {
	data, ok := fields[fieldData]
	if !ok {
		return components.Item{}, false, fmt.Errorf("redis key %q: hash has no %q field",
			key, fieldData)
	}
	version, ok := fields[fieldVersion]
	if !ok {
		return components.Item{}, false, fmt.Errorf("redis key %q: hash has no %q field",
			key, fieldVersion)
	}

	return components.Item{Value: []byte(data), ETag: version}, true, nil
}

// getString reads a key that holds a plain string, as old Dapr versions wrote. Like
// daprd, it returns the value without an ETag; the next upsert replaces it with a hash.
func (s *Store) getString(ctx context.Context, key string) (components.Item, bool, error) {
	data, err := s.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return components.Item{}, false, nil
	}
	if err != nil {
		return components.Item{}, false, fmt.Errorf("redis get %q: %w", key, err)
	}

	return components.Item{Value: data}, true, nil
}

// isWrongType reports whether err is Redis refusing a command for the key's type.
func isWrongType(err error) bool {
	return strings.HasPrefix(err.Error(), "WRONGTYPE")
}

// Transact applies txn with one script run: every ETag and the fence are checked before
// anything is written. Transactions made at the same time share a pipeline.
func (s *Store) Transact(ctx context.Context, txn components.Txn) error {
	if len(txn.Ops) == 0 && txn.Fence == nil {
		return nil
	}

	keys, args, err := scriptArgs(txn)
	if err != nil {
		return err
	}

	reply, err := s.stateWrites.run(ctx, s.client, keys, args...)
	if err != nil {
		return fmt.Errorf("redis transaction: %w", err)
	}
	return replyError(txn, reply)
}

// scriptArgs lays out txn as transactScript expects it, rejecting ETags that are not
// versions this store could have issued.
func scriptArgs(txn components.Txn) (keys []string, args []any, err error) {
	keys = make([]string, 0, len(txn.Ops)+1)
	args = make([]any, 0, 2+4*len(txn.Ops))

	fenceToken := ""
	if txn.Fence != nil {
		fenceToken = strconv.FormatUint(txn.Fence.Token, 10)
	}
	args = append(args, len(txn.Ops), fenceToken)

	for _, op := range txn.Ops {
		etag, err := normalizeETag(op.ETag)
		if err != nil {
			return nil, nil, fmt.Errorf("key %q: %w", op.Key, err)
		}

		kind, ttl := "u", op.TTL.Milliseconds()
		if op.Delete {
			kind = "d"
		}
		if op.TTL > 0 && ttl == 0 {
			ttl = 1 // a sub-millisecond TTL still expires; 0 would mean none
		}
		keys = append(keys, op.Key)
		args = append(args, kind, etag, ttl, op.Value)
	}

	if txn.Fence != nil {
		keys = append(keys, txn.Fence.Key)
	}
	return keys, args, nil
}

// normalizeETag returns etag in the form versions are stored ("7", not "07"), or "" for
// no ETag.
func normalizeETag(etag string) (string, error) {
	if etag == "" {
		return "", nil
	}

	v, err := strconv.ParseUint(etag, 10, 63)
	if err != nil {
		return "", fmt.Errorf("%w: %q", components.ErrInvalidETag, etag)
	}
	return strconv.FormatUint(v, 10), nil
}

// replyError turns transactScript's reply into nil or a wrapped sentinel error.
func replyError(txn components.Txn, reply []any) error {
	if len(reply) == 0 {
		return errors.New("redis transaction: empty reply")
	}

	code, _ := reply[0].(int64)
	switch {
	case code == replyApplied:
		return nil

	case code == replyMismatch && len(reply) == 2:
		i, _ := reply[1].(int64)
		if i < 1 || int(i) > len(txn.Ops) {
			return fmt.Errorf("redis transaction: bad op index in reply %v", reply)
		}
		return fmt.Errorf("key %q: %w", txn.Ops[i-1].Key, components.ErrETagMismatch)

	case code == replyFenced && len(reply) == 2 && txn.Fence != nil:
		return fmt.Errorf("fence %q holds token %v, above %d: %w",
			txn.Fence.Key, reply[1], txn.Fence.Token, components.ErrFenced)

	default:
		return fmt.Errorf("redis transaction: unexpected reply %v", reply)
	}
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	return s.client.Close()
}
