package actors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTurnSerialisesHolders(t *testing.T) {
	var tn turn
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			require.NoError(t, tn.acquire(context.Background(), "", false, 1))
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond) // widen the window an overlap would need
			inside.Add(-1)
			tn.release()
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), maxInside.Load())
	require.False(t, tn.busy())
}

func TestTurnHandsOverInArrivalOrder(t *testing.T) {
	var tn turn
	require.NoError(t, tn.acquire(context.Background(), "", false, 1))

	order := make(chan int, 3)
	for i := range 3 {
		queued := make(chan struct{})
		go func() {
			go func() {
				for !tn.hasWaiters(i + 1) {
					time.Sleep(time.Millisecond)
				}
				close(queued)
			}()
			require.NoError(t, tn.acquire(context.Background(), "", false, 1))
			order <- i
			tn.release()
		}()
		<-queued
	}
	tn.release()
	require.Equal(t, []int{0, 1, 2}, []int{<-order, <-order, <-order})
}

func (t *turn) hasWaiters(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiters) >= n
}

func TestTurnReentrancy(t *testing.T) {
	var tn turn
	ctx := context.Background()
	require.NoError(t, tn.acquire(ctx, "chain-a", true, 3))
	require.NoError(t, tn.acquire(ctx, "chain-a", true, 3))
	require.NoError(t, tn.acquire(ctx, "chain-a", true, 3))
	require.ErrorIs(t, tn.acquire(ctx, "chain-a", true, 3), ErrMaxStackDepth)

	// Another chain waits until the whole first chain has unwound.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tn.acquire(short, "chain-b", true, 3), context.DeadlineExceeded)
	for range 3 {
		tn.release()
	}
	require.NoError(t, tn.acquire(ctx, "chain-b", true, 3))
}

func TestTurnWithoutReentrancyIgnoresIDs(t *testing.T) {
	var tn turn
	require.NoError(t, tn.acquire(context.Background(), "same", false, 32))
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tn.acquire(short, "same", false, 32), context.DeadlineExceeded)
	require.False(t, tn.hasWaiters(1), "a waiter that gave up leaves the queue")
}

func TestTurnDisposeWakesWaiters(t *testing.T) {
	var tn turn
	require.True(t, tn.tryAcquireIdle())
	require.False(t, tn.tryAcquireIdle())

	errs := make(chan error)
	go func() { errs <- tn.acquire(context.Background(), "", false, 1) }()
	for !tn.hasWaiters(1) {
		time.Sleep(time.Millisecond)
	}
	tn.dispose()
	require.True(t, errors.Is(<-errs, errDisposed))
	require.ErrorIs(t, tn.acquire(context.Background(), "", false, 1), errDisposed)
}
