package redisstore

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/storetest"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// TestConcurrentStateWritesEachGetTheirOwnAnswer sends many transactions at once, so that
// they share pipelines, and checks that each got its own answer: the writes landed once
// each, and the one stale ETag among them was refused without touching its key.
func TestConcurrentStateWritesEachGetTheirOwnAnswer(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	ctx := context.Background()
	storetest.Upsert(t, s, "k0", []byte("first"))
	require.NoError(t, r.Client().ScriptFlush(ctx).Err())

	const writers = 200
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			op := components.Op{Key: "k" + strconv.Itoa(i), Value: []byte("v" + strconv.Itoa(i))}
			if i == 0 {
				op.ETag = "42" // k0 is at version 1
			}
			errs[i] = s.Transact(ctx, components.Txn{Ops: []components.Op{op}})
		})
	}
	wg.Wait()

	require.ErrorIs(t, errs[0], components.ErrETagMismatch)
	storetest.RequireItem(t, s, "k0", "first", "1")
	for i := 1; i < writers; i++ {
		require.NoError(t, errs[i], "writer %d", i)
		storetest.RequireItem(t, s, "k"+strconv.Itoa(i), "v"+strconv.Itoa(i), "1")
	}
}

// TestAbandonedStateWriteIsNeverSent queues a write behind a pipeline that Redis holds
// back, gives up on it, and checks that it never lands: a caller told its write failed
// must not find it applied later.
func TestAbandonedStateWriteIsNeverSent(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	ctx := context.Background()
	storetest.Upsert(t, s, "warm", []byte("x")) // loads the script and a connection

	admin := r.Client()
	require.NoError(t, admin.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err())
	unpaused := false
	unpause := func() {
		if !unpaused {
			unpaused = true
			require.NoError(t, admin.Do(ctx, "CLIENT", "UNPAUSE").Err())
		}
	}
	defer unpause()

	held := make(chan error, 1)
	go func() { held <- transactOne(ctx, s, "held") }()
	waitForQueued(t, &s.stateWrites, 0, true)

	abandonCtx, abandon := context.WithCancel(ctx)
	abandoned := make(chan error, 1)
	go func() { abandoned <- transactOne(abandonCtx, s, "abandoned") }()
	waitForQueued(t, &s.stateWrites, 1, true)
	abandon()
	require.ErrorIs(t, <-abandoned, context.Canceled)

	unpause()
	require.NoError(t, <-held)
	require.NoError(t, transactOne(ctx, s, "after")) // flushes run in order: all done now

	storetest.RequireItem(t, s, "held", "v", "1")
	storetest.RequireItem(t, s, "after", "v", "1")
	storetest.RequireMissing(t, s, "abandoned")
}

// TestWritesQueuedBehindAPipelineShareTheNext holds one write in Redis, queues more behind
// it, and checks that they all travel in one further pipeline rather than one each.
func TestWritesQueuedBehindAPipelineShareTheNext(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	ctx := context.Background()
	storetest.Upsert(t, s, "warm", []byte("x"))
	pipelines := &pipelineCounter{}
	s.client.AddHook(pipelines)

	admin := r.Client()
	require.NoError(t, admin.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err())
	const queued = 20
	errs := make(chan error, queued+1)
	go func() { errs <- transactOne(ctx, s, "held") }()
	waitForQueued(t, &s.stateWrites, 0, true)
	for i := range queued {
		go func() { errs <- transactOne(ctx, s, "q"+strconv.Itoa(i)) }()
	}
	waitForQueued(t, &s.stateWrites, queued, true)
	require.NoError(t, admin.Do(ctx, "CLIENT", "UNPAUSE").Err())

	for range queued + 1 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, []int{1, queued}, pipelines.sizes())
}

// pipelineCounter is a go-redis hook that records the size of every pipeline sent.
type pipelineCounter struct {
	mu       sync.Mutex
	recorded []int
}

func (c *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (c *pipelineCounter) ProcessPipelineHook(
	next redis.ProcessPipelineHook) redis.ProcessPipelineHook {

	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.recorded = append(c.recorded, len(cmds))
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *pipelineCounter) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recorded)
}

func transactOne(ctx context.Context, s *Store, key string) error {
	return s.Transact(ctx, components.Txn{Ops: []components.Op{{Key: key, Value: []byte("v")}}})
}

// waitForQueued waits until b has n calls queued behind a flush in progress.
func waitForQueued(t *testing.T, b *scriptBatcher, n int, flushing bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.flushing == flushing && len(b.queue) == n
	}, 5*time.Second, time.Millisecond)
}
