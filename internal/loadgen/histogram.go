package loadgen

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The histograms are log-linear, like an HDR histogram: values are whole microseconds, exact
// below 2*subBuckets, and above that every power of two is split into subBuckets equal
// buckets, so a bucket is never wider than 1/subBuckets of its values (1.6 %).
const (
	subBucketBits = 6
	subBuckets    = 1 << subBucketBits

	// maxTrackable is the largest latency a histogram tells apart, in microseconds (about
	// 134 s); larger ones count in the last bucket. Config.Validate keeps Timeout below it.
	maxTrackableBits = 27
	maxTrackable     = 1<<maxTrackableBits - 1

	numBuckets = (maxTrackableBits-subBucketBits)*subBuckets + subBuckets
)

// bucketOf returns the index of the bucket that counts us microseconds.
func bucketOf(us uint64) int {
	us = min(us, maxTrackable)
	shift := max(bits.Len64(us)-subBucketBits-1, 0)
	return shift*subBuckets + int(us>>shift)
}

// bucketRange returns the smallest and largest microsecond values that bucket i counts.
func bucketRange(i int) (low, high uint64) {
	if i < 2*subBuckets {
		return uint64(i), uint64(i)
	}
	shift := i/subBuckets - 1
	sub := uint64(i%subBuckets + subBuckets)
	return sub << shift, (sub+1)<<shift - 1
}

// Histogram counts latencies. It is safe for concurrent use: Record only does atomic adds,
// so recording never waits for a lock, and Snapshot may run while others record (it then
// sees some of the concurrent records and not others).
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	sumUS  atomic.Uint64
	maxUS  atomic.Uint64
}

// Record counts one latency.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))

	h.counts[bucketOf(us)].Add(1)
	h.total.Add(1)
	h.sumUS.Add(us)

	for {
		old := h.maxUS.Load()
		if us <= old || h.maxUS.CompareAndSwap(old, us) {
			return
		}
	}
}

// Snapshot adds the histogram's counts to d.
func (h *Histogram) Snapshot(d *Distribution) {
	if d.Counts == nil {
		d.Counts = make([]uint64, numBuckets)
	}
	for i := range h.counts {
		d.Counts[i] += h.counts[i].Load()
	}
	d.Total += h.total.Load()
	d.SumUS += h.sumUS.Load()
	d.MaxUS = max(d.MaxUS, h.maxUS.Load())
}

// Distribution is a plain copy of one or more histograms, for computing figures. Its zero
// value is an empty distribution.
type Distribution struct {
	// Counts[i] is how many latencies fell in bucket i (see bucketRange). It is nil or
	// numBuckets long.
	Counts []uint64

	// Total is the sum of Counts; SumUS and MaxUS are the sum and the largest of the
	// recorded latencies in microseconds.
	Total uint64
	SumUS uint64
	MaxUS uint64
}

// Mean returns the average latency, or 0 for an empty distribution.
func (d *Distribution) Mean() time.Duration {
	if d.Total == 0 {
		return 0
	}
	return time.Duration(d.SumUS/d.Total) * time.Microsecond
}

// Max returns the largest latency.
func (d *Distribution) Max() time.Duration {
	return time.Duration(d.MaxUS) * time.Microsecond
}

// Percentile returns the latency that q of the recorded latencies (0 < q <= 1) do not exceed,
// rounded up to the end of its bucket but never above the largest one recorded. It returns 0
// for an empty distribution.
func (d *Distribution) Percentile(q float64) time.Duration {
	if d.Total == 0 {
		return 0
	}

	rank := max(uint64(q*float64(d.Total)+0.5), 1)
	var seen uint64
	for i, c := range d.Counts {
		seen += c
		if seen >= rank {
			_, high := bucketRange(i)
			return time.Duration(min(high, d.MaxUS)) * time.Microsecond
		}
	}
	return d.Max()
}

// Buckets returns the non-empty buckets as [low, high, count] triples, low and high in
// microseconds, in increasing order: the raw figures for the JSON report.
func (d *Distribution) Buckets() [][3]uint64 {
	var out [][3]uint64
	for i, c := range d.Counts {
		if c == 0 {
			continue
		}
		low, high := bucketRange(i)
		out = append(out, [3]uint64{low, high, c})
	}
	return out
}

// reset empties d, keeping its storage.
func (d *Distribution) reset() {
	clear(d.Counts)
	d.Total, d.SumUS, d.MaxUS = 0, 0, 0
}
