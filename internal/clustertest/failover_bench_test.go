package clustertest

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFailover reports how long an actor is unreachable after its sidecar is killed
// with SIGKILL, and after it is stopped with SIGTERM: the median of five of each, in a
// three-sidecar cluster, measured by calling the actor through another sidecar.
//
//	go test -run XXX -bench Failover -benchtime 1x ./internal/clustertest
func BenchmarkFailover(b *testing.B) {
	for range b.N {
		kill, term := measureFailovers(b, 5)
		b.ReportMetric(kill.Seconds()*1000, "ms-after-kill-9")
		b.ReportMetric(term.Seconds()*1000, "ms-after-sigterm")
	}
}

func measureFailovers(b *testing.B, rounds int) (kill, term time.Duration) {
	c := startCluster(b, 3)
	var kills, terms []time.Duration
	for i := range 2 * rounds {
		graceful := i%2 == 1
		victim, caller := c.nodes[2], c.nodes[0]
		if callAll(b, c.nodes, 50) != 0 {
			b.Fatal("calls failed before the failover")
		}
		active := victim.status(b).Active
		if len(active) == 0 {
			b.Fatalf("round %d: the victim hosts no actor (kills %v, terms %v)", i, kills, terms)
		}
		id := strings.TrimPrefix(active[0], "Counter/")

		began := time.Now()
		if graceful {
			victim.proc().cmd.Process.Signal(syscall.SIGTERM)
		} else {
			victim.proc().kill()
		}
		for {
			status, _, err := caller.invoke(context.Background(), id, "echo", "f")
			if err == nil && status == 200 {
				break
			}
			if time.Since(began) > 15*time.Second {
				b.Fatal("the actor never moved")
			}
		}
		took := time.Since(began)
		if graceful {
			terms = append(terms, took)
		} else {
			kills = append(kills, took)
		}

		waitFor(b, "victim stopped", func() bool { return !victim.proc().running() })
		victim.restartSidecar(b)
		c.waitConverged()
	}
	b.Logf("after kill -9: %v; after SIGTERM: %v", kills, terms)
	return median(kills), median(terms)
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
