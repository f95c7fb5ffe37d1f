package placement_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/placementclient"
)

// BenchmarkDissemination measures how long a membership change takes to reach 100
// sidecars: from a sidecar starting (join) or announcing Leave to the moment the last
// of the others has committed the table that carries the change. Iterations alternate
// leave and join of one more sidecar. It reports the median and the maximum; the
// batch=0 case is the baseline of the protocol alone, the other adds the default
// batch window.
func BenchmarkDissemination(b *testing.B) {
	for _, batch := range []time.Duration{0, placement.DefaultBatchWindow} {
		b.Run("sidecars=100/batch="+batch.String(), func(b *testing.B) {
			benchDissemination(b, 100, batch)
		})
	}
}

func benchDissemination(b *testing.B, n int, batch time.Duration) {
	opts := testOptions()
	opts.Heartbeat = placement.DefaultHeartbeat
	opts.Lease = placement.DefaultLease
	opts.MemberTimeout = placement.DefaultMemberTimeout
	opts.BatchWindow = batch
	p := startPlacement(b, opts)

	log := newEventLog()
	sidecars := make([]*sidecar, n)
	for i := range n {
		sidecars[i] = startDefaultSidecar(b, log, "10.0.0."+strconv.Itoa(i+1)+":50001", p.Addr())
	}
	allHave := func() bool {
		for _, s := range sidecars {
			if s.current().Version() == 0 || len(s.current().Members()) != n {
				return false
			}
		}
		return true
	}
	if !log.await(allHave, 30*time.Second) {
		b.Fatal("the first table did not reach every sidecar")
	}

	const extra = "10.0.1.1:50001"
	everyone := func(withExtra bool) func() bool {
		return func() bool {
			for _, s := range sidecars {
				if s.current().Contains(extra) != withExtra {
					return false
				}
			}
			return true
		}
	}
	took := map[string][]time.Duration{}
	var joined *sidecar

	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		kind := "leave"
		if i%2 == 0 {
			kind = "join"
			joined = startDefaultSidecar(b, log, extra, p.Addr())
		} else {
			joined.cancel()
		}
		if !log.await(everyone(kind == "join"), 30*time.Second) {
			b.Fatalf("%s %d did not reach every sidecar", kind, i)
		}
		took[kind] = append(took[kind], time.Since(start))
	}
	b.StopTimer()

	for kind, d := range took {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-"+kind+"-median")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "ms-"+kind+"-max")
	}
	b.ReportMetric(0, "ns/op")
	p.stop() // the sidecars' cleanups then end at once instead of leaving one by one
}

// BenchmarkFailover measures, with the default timings, how long after a sidecar is
// cut off (its traffic stalls) it loses its lease and how long until its actors have
// moved: the last of 10 other sidecars has committed the table without it. The lease
// must always be lost first; the benchmark fails otherwise.
func BenchmarkFailover(b *testing.B) {
	opts := testOptions()
	opts.Heartbeat = placement.DefaultHeartbeat
	opts.Lease = placement.DefaultLease
	opts.MemberTimeout = placement.DefaultMemberTimeout
	opts.BatchWindow = placement.DefaultBatchWindow
	p := startPlacement(b, opts)

	log := newEventLog()
	var others []*sidecar
	for i := range 10 {
		others = append(others, startDefaultSidecar(b, log, "10.0.0."+strconv.Itoa(i+1)+":1", p.Addr()))
	}
	var lost, moved []time.Duration

	b.ResetTimer()
	for i := range b.N {
		victim := "10.0.2." + strconv.Itoa(i+1) + ":1"
		px := newProxy(b, p.Addr())
		startDefaultSidecar(b, log, victim, px.addr())
		everyone := func(with bool) func() bool {
			return func() bool {
				for _, s := range others {
					if s.current().Contains(victim) != with {
						return false
					}
				}
				return true
			}
		}
		if !log.await(everyone(true), 30*time.Second) {
			b.Fatal("victim did not join")
		}

		cut := time.Now()
		px.freeze()
		if !log.await(everyone(false), 30*time.Second) {
			b.Fatal("victim's actors did not move")
		}
		moved = append(moved, time.Since(cut))

		events := log.snapshot()
		leaseLost := slices.IndexFunc(events, func(e event) bool {
			return e.host == victim && e.kind == "lease-lost" && e.at.After(cut)
		})
		reassigned := slices.IndexFunc(events, func(e event) bool {
			return e.kind == "commit" && e.version == others[0].current().Version()
		})
		if leaseLost == -1 || leaseLost > reassigned {
			b.Fatal("the victim's actors moved before it lost its lease")
		}
		lost = append(lost, events[leaseLost].at.Sub(cut))
		px.kill()
	}
	b.StopTimer()

	slices.Sort(lost)
	slices.Sort(moved)
	b.ReportMetric(float64(lost[len(lost)/2].Milliseconds()), "ms-lease-lost-median")
	b.ReportMetric(float64(moved[len(moved)/2].Milliseconds()), "ms-moved-median")
	b.ReportMetric(float64(moved[len(moved)-1].Milliseconds()), "ms-moved-max")
	b.ReportMetric(0, "ns/op")
	p.stop()
}

// startDefaultSidecar runs a client with the default timings.
func startDefaultSidecar(b *testing.B, log *eventLog, name, addr string) *sidecar {
	return startSidecarConfig(b, log, placementclient.Config{
		Addresses: []string{addr},
		Self:      placementclient.Member{Name: name, AppID: "app", Entities: []string{"T"}},
	})
}
