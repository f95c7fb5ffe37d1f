package hashring

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

var benchHostCounts = []int{3, 10, 100}

// BenchmarkOwner also reports owner/hash: the lookup's time over the time of
// only hashing the same IDs as often, measured right after it, which is less
// sensitive than ns/op to a busy machine.
func BenchmarkOwner(b *testing.B) {
	ids := actorIDs(1 << 12)

	for _, n := range benchHostCounts {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			r := New(hostNames(n))
			b.ReportAllocs()

			i := 0
			for b.Loop() {
				r.Owner(ids[i&(len(ids)-1)])
				i++
			}

			b.ReportMetric(float64(b.Elapsed())/float64(hashTime(ids, b.N)), "owner/hash")
		})
	}
}

// hashSink keeps the compiler from dropping the loop in hashTime.
var hashSink uint64

// hashTime returns how long hashing ops IDs, cycling through ids, takes.
func hashTime(ids []string, ops int) time.Duration {
	var sum uint64
	start := time.Now()
	for i := range ops {
		sum += xxhash.Sum64String(ids[i&(len(ids)-1)])
	}
	elapsed := time.Since(start)

	hashSink = sum
	return elapsed
}

func BenchmarkNew(b *testing.B) {
	for _, n := range benchHostCounts {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			hosts := hostNames(n)
			b.ReportAllocs()

			for b.Loop() {
				New(hosts)
			}
		})
	}
}

// BenchmarkDistribution reports, over 1M actor IDs, the quality figures the
// package doc quotes rather than a speed:
//
//   - max/mean: the busiest host's IDs over the mean;
//   - leave/ideal: IDs moved when the busiest host leaves, over the ideal
//     1/n (the worst single leave, since only the leaver's IDs move);
//   - join/ideal: IDs moved when a new host joins, over the ideal 1/(n+1).
//
// Run it with: go test -bench Distribution -run '^$' ./internal/hashring
func BenchmarkDistribution(b *testing.B) {
	ids := actorIDs(1_000_000)

	for _, n := range benchHostCounts {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			hosts := hostNames(n)
			var balance, leave, join float64

			for b.Loop() {
				before := owners(New(hosts), ids)
				balance = maxOverMean(before, n)

				busiest := slices.Index(hosts, busiestHost(before))
				left := New(slices.Delete(slices.Clone(hosts), busiest, busiest+1))
				leave = movedShare(before, owners(left, ids)) * float64(n)

				joined := New(append(slices.Clone(hosts), joiner))
				join = movedShare(before, owners(joined, ids)) * float64(n+1)
			}

			b.ReportMetric(balance, "max/mean")
			b.ReportMetric(leave, "leave/ideal")
			b.ReportMetric(join, "join/ideal")
		})
	}
}

// busiestHost returns the host that appears most often in owners.
func busiestHost(owners []string) string {
	count := make(map[string]int)
	busiest := ""
	for _, o := range owners {
		count[o]++
		if count[o] > count[busiest] {
			busiest = o
		}
	}
	return busiest
}

// movedShare returns the share of positions where before and after differ.
func movedShare(before, after []string) float64 {
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
		}
	}
	return float64(moved) / float64(len(before))
}
