package placementclient

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLeaseReportsLossOnceAndBlocksCommits(t *testing.T) {
	var losses atomic.Int32
	l := newLease(func() { losses.Add(1) })
	t.Cleanup(l.stop)
	require.False(t, l.whileValid(func() { t.Fatal("applied without a lease") }))

	l.extend(time.Now().Add(30 * time.Millisecond))
	applied := false
	require.True(t, l.whileValid(func() { applied = true }))
	require.True(t, applied)

	select {
	case <-l.lost:
	case <-time.After(5 * time.Second):
		t.Fatal("loss not reported")
	}
	require.Equal(t, int32(1), losses.Load())
	require.False(t, l.valid())
	require.False(t, l.whileValid(func() { t.Fatal("applied after the lease ended") }))

	// A renewed lease can be lost, and reported, again.
	l.extend(time.Now().Add(10 * time.Millisecond))
	require.Eventually(t, func() bool { return losses.Load() == 2 }, 5*time.Second, time.Millisecond)
}

func TestLeaseExtendNeverShortens(t *testing.T) {
	l := newLease(func() {})
	t.Cleanup(l.stop)
	l.extend(time.Now().Add(time.Hour))
	l.extend(time.Now().Add(-time.Hour))
	require.True(t, l.valid())
}
