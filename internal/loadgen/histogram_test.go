package loadgen

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucketsCoverValuesInOrder(t *testing.T) {
	prevIndex := -1
	for _, us := range sampleValues() {
		i := bucketOf(us)
		low, high := bucketRange(i)

		require.Less(t, i, numBuckets, "value %d", us)
		require.GreaterOrEqual(t, i, prevIndex, "bucketOf is not monotonic at %d", us)
		require.LessOrEqual(t, low, us, "value %d below its bucket %d", us, i)
		require.GreaterOrEqual(t, high, us, "value %d above its bucket %d", us, i)
		require.LessOrEqual(t, high-low, low/subBuckets, "bucket %d too wide", i)
		prevIndex = i
	}
}

func TestBucketsLeaveNoGaps(t *testing.T) {
	_, prevHigh := bucketRange(0)
	for i := 1; i < numBuckets; i++ {
		low, high := bucketRange(i)
		require.Equal(t, prevHigh+1, low, "gap before bucket %d", i)
		require.Equal(t, i, bucketOf(low))
		require.Equal(t, i, bucketOf(high))
		prevHigh = high
	}
	require.EqualValues(t, maxTrackable, prevHigh)
}

func TestBucketOfClampsLargeValues(t *testing.T) {
	require.Equal(t, numBuckets-1, bucketOf(maxTrackable))
	require.Equal(t, numBuckets-1, bucketOf(1<<40))
}

func TestPercentileMatchesSortedValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	values := make([]time.Duration, 20000)
	for i := range values {
		// Log-normal-ish latencies from 50µs to about a second.
		values[i] = time.Duration(50*(1+rng.ExpFloat64()*rng.ExpFloat64()*200)) *
			time.Microsecond
		h.Record(values[i])
	}
	slices.Sort(values)

	var d Distribution
	h.Snapshot(&d)
	for _, q := range []float64{0.5, 0.75, 0.95, 0.99, 0.999} {
		exact := values[int(q*float64(len(values))+0.5)-1]
		got := d.Percentile(q)
		require.InEpsilon(t, float64(exact), float64(got), 1.0/subBuckets+0.001,
			"p%v: exact %v, got %v", q*100, exact, got)
		require.GreaterOrEqual(t, got, exact.Truncate(time.Microsecond), "p%v rounds down", q)
	}
	require.Equal(t, values[len(values)-1].Truncate(time.Microsecond), d.Max())
	require.Equal(t, d.Max(), d.Percentile(1))
}

func TestEmptyDistribution(t *testing.T) {
	var d Distribution
	require.Zero(t, d.Percentile(0.99))
	require.Zero(t, d.Mean())
	require.Empty(t, d.Buckets())
}

func TestHistogramRecordsConcurrently(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				h.Record(time.Duration(g*5000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()

	var d Distribution
	h.Snapshot(&d)
	require.EqualValues(t, 20000, d.Total)
	require.EqualValues(t, 19999, d.MaxUS)

	var bucketSum uint64
	for _, b := range d.Buckets() {
		bucketSum += b[2]
	}
	require.Equal(t, d.Total, bucketSum)
}

// sampleValues returns every value up to 4096 and a spread of larger ones.
func sampleValues() []uint64 {
	var out []uint64
	for us := range uint64(4096) {
		out = append(out, us)
	}
	for us := uint64(4096); us < maxTrackable; us = us*17/16 + 1 {
		out = append(out, us-1, us, us+1)
	}
	return append(out, maxTrackable)
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(0)
		for pb.Next() {
			d = (d + 7919*time.Microsecond) % time.Second
			h.Record(d)
		}
	})
}
