// Package storetest is the contract every components.Store must meet, as a test suite and
// benchmarks that a store's own tests run against a real instance.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
)

// shortTTL is long enough to read a key back before it expires, and short enough to keep
// the expiry cases fast.
const shortTTL = 300 * time.Millisecond

// expiryWait bounds how long an expired key may stay visible.
const expiryWait = 5 * time.Second

// contractCase is one behaviour of the contract. Each case gets its own key prefix, so
// the cases share one store.
type contractCase struct {
	name string
	run  func(t *testing.T, s components.Store, key func(string) string)
}

var contractCases = []contractCase{
	{"get missing", testGetMissing},
	{"upsert and get", testUpsertGet},
	{"version increments", testVersionIncrements},
	{"etag match", testETagMatch},
	{"etag mismatch writes nothing", testETagMismatch},
	{"etag of a missing key passes", testETagMissingKey},
	{"invalid etag writes nothing", testInvalidETag},
	{"ops see earlier ops of the transaction", testSameKeyTwice},
	{"delete without etag", testDelete},
	{"delete with etag", testDeleteETag},
	{"ttl expiry", testTTLExpiry},
	{"ttl cleared by upsert", testTTLCleared},
	{"fence raise and reject", testFence},
	{"fence compares all 64 bits", testFenceLargeTokens},
	{"fence is checked before etags", testFenceBeforeETag},
	{"binary values round-trip", testBinaryValues},
	{"many ops in one transaction", testManyOps},
	{"concurrent increments lose nothing", testConcurrentIncrements},
}

// Run runs the contract suite against s, which must be empty of the keys the suite uses
// (they are prefixed with the test name).
func Run(t *testing.T, s components.Store) {
	for _, c := range contractCases {
		t.Run(c.name, func(t *testing.T) {
			key := func(k string) string { return t.Name() + "||" + k }
			c.run(t, s, key)
		})
	}
}

// Upsert writes value to key with no ETag and no TTL.
func Upsert(t testing.TB, s components.Store, key string, value []byte) {
	t.Helper()

	op := components.Op{Key: key, Value: value}
	require.NoError(t, s.Transact(context.Background(), components.Txn{Ops: []components.Op{op}}))
}

// RequireItem asserts that key holds value with etag.
func RequireItem(t testing.TB, s components.Store, key, value, etag string) {
	t.Helper()

	item, found, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	require.True(t, found, "key %q not found", key)
	assert.Equal(t, value, string(item.Value), "value of %q", key)
	assert.Equal(t, etag, item.ETag, "etag of %q", key)
}

// RequireMissing asserts that key is absent.
func RequireMissing(t testing.TB, s components.Store, key string) {
	t.Helper()

	_, found, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	require.False(t, found, "key %q should be absent", key)
}

func transact(s components.Store, ops ...components.Op) error {
	return s.Transact(context.Background(), components.Txn{Ops: ops})
}

func testGetMissing(t *testing.T, s components.Store, key func(string) string) {
	item, found, err := s.Get(context.Background(), key("nothing"))
	require.NoError(t, err)
	assert.False(t, found)
	assert.Empty(t, item.Value)
}

func testUpsertGet(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte(`{"n":1}`))

	RequireItem(t, s, key("a"), `{"n":1}`, "1")
}

func testVersionIncrements(t *testing.T, s components.Store, key func(string) string) {
	for i := 1; i <= 3; i++ {
		Upsert(t, s, key("a"), []byte(strconv.Itoa(i)))
		RequireItem(t, s, key("a"), strconv.Itoa(i), strconv.Itoa(i))
	}
}

func testETagMatch(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte("v1"))

	require.NoError(t, transact(s, components.Op{Key: key("a"), Value: []byte("v2"), ETag: "1"}))

	RequireItem(t, s, key("a"), "v2", "2")
}

func testETagMismatch(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("b"), []byte("b1"))
	Upsert(t, s, key("b"), []byte("b2"))

	err := transact(s,
		components.Op{Key: key("a"), Value: []byte("new")},
		components.Op{Key: key("c"), Delete: true},
		components.Op{Key: key("b"), Value: []byte("stale"), ETag: "1"},
	)

	require.ErrorIs(t, err, components.ErrETagMismatch)
	assert.Contains(t, err.Error(), key("b"), "the error names the key")
	RequireMissing(t, s, key("a"))
	RequireItem(t, s, key("b"), "b2", "2")
}

func testETagMissingKey(t *testing.T, s components.Store, key func(string) string) {
	require.NoError(t, transact(s, components.Op{Key: key("a"), Value: []byte("v"), ETag: "7"}))

	RequireItem(t, s, key("a"), "v", "1")
}

func testInvalidETag(t *testing.T, s components.Store, key func(string) string) {
	for _, etag := range []string{"abc", "-1", "1.5", " 1"} {
		err := transact(s,
			components.Op{Key: key("a"), Value: []byte("v")},
			components.Op{Key: key("b"), Value: []byte("v"), ETag: etag},
		)

		require.ErrorIs(t, err, components.ErrInvalidETag, "etag %q", etag)
		RequireMissing(t, s, key("a"))
		RequireMissing(t, s, key("b"))
	}
}

func testSameKeyTwice(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte("v1"))

	err := transact(s,
		components.Op{Key: key("a"), Value: []byte("v2"), ETag: "1"},
		components.Op{Key: key("a"), Value: []byte("v3"), ETag: "1"},
	)
	require.ErrorIs(t, err, components.ErrETagMismatch, "the second op must see version 2")
	RequireItem(t, s, key("a"), "v1", "1")

	err = transact(s,
		components.Op{Key: key("a"), Value: []byte("v2"), ETag: "1"},
		components.Op{Key: key("a"), Value: []byte("v3"), ETag: "2"},
	)
	require.NoError(t, err)
	RequireItem(t, s, key("a"), "v3", "3")
}

func testDelete(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte("v"))
	Upsert(t, s, key("a"), []byte("v"))

	require.NoError(t, transact(s, components.Op{Key: key("a"), Delete: true}))
	RequireMissing(t, s, key("a"))

	require.NoError(t, transact(s, components.Op{Key: key("a"), Delete: true}),
		"deleting a missing key")

	Upsert(t, s, key("a"), []byte("again"))
	RequireItem(t, s, key("a"), "again", "1")
}

func testDeleteETag(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte("v"))
	Upsert(t, s, key("a"), []byte("v"))

	err := transact(s, components.Op{Key: key("a"), Delete: true, ETag: "1"})
	require.ErrorIs(t, err, components.ErrETagMismatch)
	RequireItem(t, s, key("a"), "v", "2")

	require.NoError(t, transact(s, components.Op{Key: key("a"), Delete: true, ETag: "2"}))
	RequireMissing(t, s, key("a"))
}

func testTTLExpiry(t *testing.T, s components.Store, key func(string) string) {
	require.NoError(t, transact(s, components.Op{Key: key("a"), Value: []byte("v"), TTL: shortTTL}))
	RequireItem(t, s, key("a"), "v", "1")

	awaitExpiry(t, s, key("a"))
}

func testTTLCleared(t *testing.T, s components.Store, key func(string) string) {
	require.NoError(t, transact(s, components.Op{Key: key("a"), Value: []byte("v"), TTL: shortTTL}))
	Upsert(t, s, key("a"), []byte("kept"))

	// A key written afterwards with the same TTL expires later than the first TTL would
	// have ended: once it is gone, so would the first write's TTL have been.
	probe := components.Op{Key: key("probe"), Value: []byte("v"), TTL: shortTTL}
	require.NoError(t, transact(s, probe))
	awaitExpiry(t, s, key("probe"))

	RequireItem(t, s, key("a"), "kept", "2")
}

// awaitExpiry waits until key is no longer visible.
func awaitExpiry(t *testing.T, s components.Store, key string) {
	t.Helper()

	require.Eventually(t, func() bool {
		_, found, err := s.Get(context.Background(), key)
		return err == nil && !found
	}, expiryWait, 20*time.Millisecond, "key %q did not expire", key)
}

func testFence(t *testing.T, s components.Store, key func(string) string) {
	fence := func(token uint64, value string) error {
		return s.Transact(context.Background(), components.Txn{
			Ops:   []components.Op{{Key: key("a"), Value: []byte(value)}},
			Fence: &components.Fence{Key: key("fence"), Token: token},
		})
	}

	require.NoError(t, fence(5, "by 5"))
	require.ErrorIs(t, fence(4, "by 4"), components.ErrFenced)
	RequireItem(t, s, key("a"), "by 5", "1")

	require.NoError(t, fence(5, "by 5 again"), "an equal token passes")
	require.NoError(t, fence(6, "by 6"))
	require.ErrorIs(t, fence(5, "by 5 late"), components.ErrFenced)
	RequireItem(t, s, key("a"), "by 6", "3")

	onlyFence := components.Txn{Fence: &components.Fence{Key: key("fence"), Token: 9}}
	require.NoError(t, s.Transact(context.Background(), onlyFence), "a fence without ops")
	require.ErrorIs(t, fence(8, "by 8"), components.ErrFenced)
}

func testFenceLargeTokens(t *testing.T, s components.Store, key func(string) string) {
	fence := func(token uint64) error {
		return s.Transact(context.Background(), components.Txn{
			Fence: &components.Fence{Key: key("fence"), Token: token},
		})
	}

	require.NoError(t, fence(math.MaxUint64-1))
	require.ErrorIs(t, fence(math.MaxUint64-2), components.ErrFenced)
	require.ErrorIs(t, fence(1<<53), components.ErrFenced)
	require.NoError(t, fence(math.MaxUint64))
	require.ErrorIs(t, fence(math.MaxUint64-1), components.ErrFenced)
}

func testFenceBeforeETag(t *testing.T, s components.Store, key func(string) string) {
	Upsert(t, s, key("a"), []byte("v"))
	Upsert(t, s, key("a"), []byte("v"))
	fence := components.Fence{Key: key("fence"), Token: 2}
	require.NoError(t, s.Transact(context.Background(), components.Txn{Fence: &fence}))

	fence.Token = 1
	err := s.Transact(context.Background(), components.Txn{
		Ops:   []components.Op{{Key: key("a"), Value: []byte("stale"), ETag: "1"}},
		Fence: &fence,
	})

	require.ErrorIs(t, err, components.ErrFenced)
	RequireItem(t, s, key("a"), "v", "2")
}

func testBinaryValues(t *testing.T, s components.Store, key func(string) string) {
	all := make([]byte, 0, 512)
	for i := range 512 {
		all = append(all, byte(i))
	}
	values := map[string][]byte{
		"all bytes":     all,
		"nul":           {0},
		"invalid utf-8": {0xff, 0xfe, 0xc3},
		"empty":         {},
	}

	for name, value := range values {
		Upsert(t, s, key(name), value)

		item, found, err := s.Get(context.Background(), key(name))
		require.NoError(t, err)
		require.True(t, found, name)
		assert.Equal(t, len(value), len(item.Value), name)
		if len(value) > 0 {
			assert.Equal(t, value, item.Value, name)
		}
	}
}

func testManyOps(t *testing.T, s components.Store, key func(string) string) {
	const n = 100

	ops := make([]components.Op, n)
	for i := range ops {
		ops[i] = components.Op{Key: key(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	require.NoError(t, transact(s, ops...))

	for i := range n {
		RequireItem(t, s, key(strconv.Itoa(i)), strconv.Itoa(i), "1")
	}
}

func testConcurrentIncrements(t *testing.T, s components.Store, key func(string) string) {
	const workers, perWorker = 8, 20

	// The counter exists before the race: an ETag on a missing key passes (as in Dapr),
	// so concurrent first writes could not be told apart.
	counter := key("counter")
	Upsert(t, s, counter, []byte("0"))

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if err := Increment(s, counter); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}
	total := workers * perWorker
	RequireItem(t, s, counter, strconv.Itoa(total), strconv.Itoa(total+1))
}

// Increment adds one to the decimal counter at key, retrying on ETag conflicts. The key
// must exist: an ETag on a missing key passes, so two first writes could both win.
func Increment(s components.Store, key string) error {
	ctx := context.Background()
	for {
		item, _, err := s.Get(ctx, key)
		if err != nil {
			return err
		}

		n, _ := strconv.Atoi(string(item.Value))
		op := components.Op{Key: key, Value: []byte(strconv.Itoa(n + 1)), ETag: item.ETag}
		err = s.Transact(ctx, components.Txn{Ops: []components.Op{op}})
		if err == nil {
			return nil
		}
		if !errors.Is(err, components.ErrETagMismatch) {
			return fmt.Errorf("increment %q: %w", key, err)
		}
	}
}
