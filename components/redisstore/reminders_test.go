package redisstore

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/storetest"
	"github.com/troupe-dev/troupe/internal/testutil"
)

func TestReminderContract(t *testing.T) {
	storetest.RunReminders(t, newStore(t, testutil.StartRedis(t)))
}

// TestConcurrentReminderWritesAreBatchedCorrectly sends many writes at once, so that they
// share pipelines, with the script flushed from the server first (each pipeline must then
// load it), and checks that every write landed and a stale one alone was refused.
func TestConcurrentReminderWritesAreBatchedCorrectly(t *testing.T) {
	r := testutil.StartRedis(t)
	s := newStore(t, r)
	ctx := context.Background()
	require.NoError(t, r.Client().ScriptFlush(ctx).Err())

	const writers = 200
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			w := components.ReminderWrite{Group: "g", Member: "m" + strconv.Itoa(i),
				Value: []byte("v"), Due: time.UnixMilli(int64(1000 + i))}
			if i == 7 {
				w.ETag = "42" // refers to a version that was never written
				w.Member = "m0"
			}
			errs[i] = s.PutReminder(ctx, w)
		})
	}
	wg.Wait()

	for i, err := range errs {
		if i == 7 {
			continue // m0 may or may not exist yet when the stale write runs
		}
		require.NoError(t, err, "writer %d", i)
	}
	count, err := r.Client().ZCard(ctx, dueKey("g")).Result()
	require.NoError(t, err)
	require.Equal(t, int64(writers-1), count)

	stale := s.PutReminder(ctx, components.ReminderWrite{Group: "g", Member: "m1",
		ETag: "42", Value: []byte("x")})
	require.ErrorIs(t, stale, components.ErrETagMismatch)
}
