package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/storetest"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// outageLimit is how quickly an operation must fail while Redis is down.
const outageLimit = 5 * time.Second

func newStore(t testing.TB, r *testutil.Redis) *Store {
	t.Helper()

	s, err := New(DefaultOptions(r.Addr()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	r := testutil.StartRedis(t)

	storetest.Run(t, newStore(t, r))
}

func TestGetIsOneHGETALL(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	storetest.Upsert(t, s, "k", []byte("v"))
	before := r.CommandCalls(t, "hgetall")

	storetest.RequireItem(t, s, "k", "v", "1")
	storetest.RequireMissing(t, s, "missing")

	assert.Equal(t, before+2, r.CommandCalls(t, "hgetall"))
	assert.Zero(t, r.CommandCalls(t, "get"))
	assert.Zero(t, r.CommandCalls(t, "pttl"))
}

// TestReadsDaprWrites reads keys shaped exactly as daprd's state.redis leaves them.
func TestReadsDaprWrites(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	c := r.Client()

	// A transactional actor state write: HSET data, then HINCRBY version.
	key := "myapp||cat||hobbit||food"
	require.NoError(t, c.HSet(ctx, key, "data", `"second breakfast"`).Err())
	require.NoError(t, c.HIncrBy(ctx, key, "version", 1).Err())
	storetest.RequireItem(t, s, key, `"second breakfast"`, "1")

	// A reminder track written with first-write concurrency carries a third field.
	track := "cat||hobbit||nap"
	require.NoError(t, c.HSet(ctx, track, "data", `{"repetitionLeft":-1}`, "first-write", 0).Err())
	require.NoError(t, c.HIncrBy(ctx, track, "version", 1).Err())
	require.NoError(t, c.HIncrBy(ctx, track, "version", 1).Err())
	storetest.RequireItem(t, s, track, `{"repetitionLeft":-1}`, "2")

	// troupe's writes continue daprd's versions and keep its extra fields.
	op := components.Op{Key: track, Value: []byte("next"), ETag: "2"}
	require.NoError(t, s.Transact(ctx, components.Txn{Ops: []components.Op{op}}))
	assert.Equal(t, map[string]string{"data": "next", "version": "3", "first-write": "0"},
		c.HGetAll(ctx, track).Val())

	// Values from very old Dapr versions are plain strings; they are readable, without an
	// ETag, and an upsert replaces them with a hash.
	require.NoError(t, c.Set(ctx, "legacy", "old", 0).Err())
	storetest.RequireItem(t, s, "legacy", "old", "")
	storetest.Upsert(t, s, "legacy", []byte("new"))
	storetest.RequireItem(t, s, "legacy", "new", "1")
}

// TestWritesDaprShape checks that troupe leaves exactly what daprd would: a hash with data
// and version, an expiry only when a TTL was given, and no other keys.
func TestWritesDaprShape(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	c := r.Client()

	txn := components.Txn{Ops: []components.Op{
		{Key: "app||T||1||a", Value: []byte{0, 1, 0xff}},
		{Key: "app||T||1||b", Value: []byte("b"), TTL: time.Hour},
	}}
	require.NoError(t, s.Transact(ctx, txn))
	require.NoError(t, s.Transact(ctx, txn))

	assert.Equal(t, "hash", c.Type(ctx, "app||T||1||a").Val())
	assert.Equal(t, map[string]string{"data": "\x00\x01\xff", "version": "2"},
		c.HGetAll(ctx, "app||T||1||a").Val())
	assert.Equal(t, time.Duration(-1), c.TTL(ctx, "app||T||1||a").Val(), "no expiry")
	assert.InDelta(t, time.Hour.Seconds(), c.TTL(ctx, "app||T||1||b").Val().Seconds(), 5)

	keys, err := c.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"app||T||1||a", "app||T||1||b"}, keys)
}

func TestFenceShape(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)

	fence := &components.Fence{Key: "troupe||fence||T||1", Token: 42}
	require.NoError(t, s.Transact(ctx, components.Txn{Fence: fence}))

	assert.Equal(t, map[string]string{"token": "42"},
		r.Client().HGetAll(ctx, fence.Key).Val())
}

func TestReplacesNonHashOnUpsert(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	require.NoError(t, r.Client().RPush(ctx, "k", "x").Err())

	_, _, err := s.Get(ctx, "k")
	require.Error(t, err, "a list is neither a hash nor a string")

	storetest.Upsert(t, s, "k", []byte("v"))
	storetest.RequireItem(t, s, "k", "v", "1")
}

// TestReplacesNonHashesInOneTransaction writes twice to a key that holds a list and
// fences with a key that holds a string: each is replaced once, as a hash, and the
// versions count from there.
func TestReplacesNonHashesInOneTransaction(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	c := r.Client()
	require.NoError(t, c.RPush(ctx, "k", "x").Err())
	require.NoError(t, c.Set(ctx, "fence", "junk", 0).Err())

	require.NoError(t, s.Transact(ctx, components.Txn{
		Ops: []components.Op{
			{Key: "k", Value: []byte("first"), ETag: "3"}, // a list has no version to refuse
			{Key: "k", Value: []byte("second")},
		},
		Fence: &components.Fence{Key: "fence", Token: 7},
	}))

	assert.Equal(t, map[string]string{"data": "second", "version": "2"},
		c.HGetAll(ctx, "k").Val())
	assert.Equal(t, map[string]string{"token": "7"}, c.HGetAll(ctx, "fence").Val())
}

func TestScriptReloadedAfterRestart(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	storetest.Upsert(t, s, "k", []byte("v"))

	r.Stop()
	require.NoError(t, r.Start())

	storetest.Upsert(t, s, "k", []byte("v"))
	storetest.RequireItem(t, s, "k", "v", "1")
	assert.Equal(t, int64(1), r.CommandCalls(t, "eval"), "EVAL after EVALSHA missed")
}

func TestOutageAndRecovery(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	storetest.Upsert(t, s, "k", []byte("v"))

	r.Stop()
	for name, call := range map[string]func() error{
		"get":      func() error { _, _, err := s.Get(ctx, "k"); return err },
		"transact": func() error { return s.Transact(ctx, upsertTxn("k")) },
		"ping":     func() error { return s.Ping(ctx) },
	} {
		start := time.Now()
		err := call()
		require.Error(t, err, name)
		assert.Less(t, time.Since(start), outageLimit, "%s took too long to fail", name)
	}

	require.NoError(t, r.Start())
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, s.Transact(ctx, upsertTxn("k")))
	storetest.RequireItem(t, s, "k", "v", "1")
}

// TestHungServer checks that the timeouts bound every call when the server stops answering
// without closing connections. Short timeouts keep the test fast; the defaults are checked
// in TestDefaultOptions.
func TestHungServer(t *testing.T) {
	ctx := context.Background()
	r := testutil.StartRedis(t)
	opts := DefaultOptions(r.Addr())
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 300*time.Millisecond,
		300*time.Millisecond, 300*time.Millisecond
	s, err := New(opts)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Ping(ctx))

	require.NoError(t, r.Pause())
	start := time.Now()
	_, _, getErr := s.Get(ctx, "k")
	txnErr := s.Transact(ctx, upsertTxn("k"))
	elapsed := time.Since(start)
	require.NoError(t, r.Resume())

	require.Error(t, getErr)
	require.Error(t, txnErr)
	assert.Less(t, elapsed, outageLimit)
	require.NoError(t, s.Transact(ctx, upsertTxn("other")), "works again after the hang")
}

func upsertTxn(key string) components.Txn {
	return components.Txn{Ops: []components.Op{{Key: key, Value: []byte("v")}}}
}

func BenchmarkStore(b *testing.B) {
	r := testutil.StartRedis(b)

	storetest.Benchmark(b, newStore(b, r))
}
