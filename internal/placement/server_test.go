package placement_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/placement"
	"github.com/troupe-dev/troupe/internal/placementclient"
)

func TestJoinLeaveExpire(t *testing.T) {
	p := startPlacement(t, testOptions())
	log := &eventLog{}
	a := startSidecar(t, log, "a:1", p.Addr())
	b := startSidecar(t, log, "b:1", p.Addr())
	cProxy := newProxy(t, p.Addr())
	c := startSidecar(t, log, "c:1", cProxy.addr())

	eventually(t, func() bool {
		return a.hasMembers("a:1", "b:1", "c:1") && b.hasMembers("a:1", "b:1", "c:1") &&
			c.hasMembers("a:1", "b:1", "c:1")
	}, "all three sidecars commit the table of three")
	requireSameOwners(t, a.current(), b.current(), c.current())

	// Graceful leave: b hands over and Run returns nil once the table without it commits.
	require.NoError(t, b.stop(t))
	eventually(t, func() bool { return a.hasMembers("a:1", "c:1") && c.hasMembers("a:1", "c:1") },
		"a and c commit the table without b")
	v := a.current().Version()
	require.Less(t, log.index("b:1", "prepared", v), log.index("a:1", "commit", v),
		"b drained before anyone committed the table without it")

	// A crashed host expires after the member timeout.
	cProxy.kill()
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a commits the table without c")
	require.Equal(t, []string{"a:1"}, memberNames(p.state(t)))
}

func TestPausedSidecarLosesLeaseBeforeItsActorsMove(t *testing.T) {
	p := startPlacement(t, testOptions())
	log := &eventLog{}
	a := startSidecar(t, log, "a:1", p.Addr())
	bProxy := newProxy(t, p.Addr())
	startSidecar(t, log, "b:1", bProxy.addr())
	eventually(t, func() bool { return a.hasMembers("a:1", "b:1") }, "a commits the table of two")

	frozenAt := time.Now()
	bProxy.freeze()
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a commits the table without b")

	lost := log.index("b:1", "lease-lost", 0)
	moved := log.index("a:1", "commit", a.current().Version())
	require.NotEqual(t, -1, lost, "b was told its lease was lost")
	require.Less(t, lost, moved, "b stopped serving before a took its actors")

	events := log.snapshot()
	t.Logf("lease lost after %s, actors moved after %s (lease %s, member timeout %s)",
		events[lost].at.Sub(frozenAt).Round(time.Millisecond),
		events[moved].at.Sub(frozenAt).Round(time.Millisecond), testLease, testMemberTimeout)

	// Back from the pause, b rejoins and gets its share again.
	bProxy.thaw()
	eventually(t, func() bool { return a.hasMembers("a:1", "b:1") }, "b rejoins")
}

func TestCommitWaitsForEveryPrepareAck(t *testing.T) {
	p, log, a, b := startTwo(t, testOptions())

	gate := make(chan struct{})
	b.mu.Lock()
	b.gate = gate
	b.mu.Unlock()
	c := startSidecar(t, log, "c:1", p.Addr())

	var round uint64
	eventually(t, func() bool {
		st := p.state(t)
		if st.Round == nil || !slices.Equal(st.Round.Awaiting, []string{"b:1"}) {
			return false
		}
		round = st.Round.Version
		return true
	}, "only b's acknowledgement is missing")
	require.Equal(t, -1, log.index("a:1", "commit", round), "a committed before b acknowledged")
	require.Equal(t, -1, log.index("c:1", "commit", round), "c committed before b acknowledged")

	close(gate)
	eventually(t, func() bool {
		return a.current().Version() == round && b.current().Version() == round &&
			c.current().Version() == round
	}, "everyone commits once b acknowledges")
	requireCommitsAfterPrepares(t, log.snapshot(), round)
}

func TestSidecarThatCannotDrainIsFencedAndRemoved(t *testing.T) {
	opts := testOptions()
	opts.PrepareTimeout = time.Second
	p, log, a, b := startTwo(t, opts)

	b.mu.Lock()
	b.gate = make(chan struct{}) // b's drains never finish
	b.mu.Unlock()
	startSidecar(t, log, "c:1", p.Addr())

	eventually(t, func() bool { return a.hasMembers("a:1", "c:1") }, "b is fenced and removed")
	require.Less(t, log.index("b:1", "lease-lost", 0), log.index("a:1", "commit", a.current().Version()),
		"b stopped serving before its actors moved")

	b.mu.Lock()
	budget := b.deadline
	b.mu.Unlock()
	require.InDelta(t, 800*time.Millisecond, budget, float64(100*time.Millisecond),
		"Prepare's deadline is the prepare timeout less a margin")
}

func TestPlacementRestartKeepsVersionsGrowing(t *testing.T) {
	opts := testOptions()
	p, log, a, b := startTwo(t, opts)
	before := a.current()

	// While placement is down the sidecars keep their table but stop admitting turns
	// once their lease lapses; a Commit from the next placement resumes them.
	p.stop()
	eventually(t, func() bool {
		return log.index("a:1", "lease-lost", 0) != -1 && log.index("b:1", "lease-lost", 0) != -1
	}, "both sidecars lose their lease while placement is down")
	require.Equal(t, before, a.current(), "a dropped its table during the outage")
	_, port, _ := strings.Cut(p.Addr(), ":")
	opts.Port, _ = strconv.Atoi(port)
	opts.SettleWindow = testMemberTimeout
	p2 := startPlacement(t, opts)

	// A sidecar whose backoff grew during the outage may miss the settle window and
	// join one round later; wait for the table with both.
	eventually(t, func() bool {
		return a.current().Version() > before.Version() && a.hasMembers("a:1", "b:1") &&
			b.current().Version() == a.current().Version()
	}, "both sidecars commit a newer table of both from the new placement")
	requireSameOwners(t, before, a.current(), b.current())
	require.Less(t, log.index("a:1", "lease-lost", 0), log.index("a:1", "commit", a.current().Version()),
		"a resumed with the new placement's commit")
	require.Greater(t, p2.state(t).TableVersion, before.Version())
}

func TestClientTriesAddressesInTurn(t *testing.T) {
	p := startPlacement(t, testOptions())
	dead := newProxy(t, p.Addr())
	dead.kill()

	a := startSidecar(t, &eventLog{}, "a:1", dead.addr(), p.Addr())
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a joins through the second address")
}

func TestStateAndHealthz(t *testing.T) {
	p := startPlacement(t, testOptions())
	a := startSidecar(t, &eventLog{}, "a:1", p.Addr())
	eventually(t, func() bool { return a.hasMembers("a:1") }, "a joins")

	resp, err := http.Get("http://" + p.HealthzAddr() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get("http://" + p.HealthzAddr() + "/placement/state")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var st map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	require.Equal(t, placement.PhaseStable, st["phase"])
	require.EqualValues(t, a.current().Version(), st["table_version"])
	member := st["members"].([]any)[0].(map[string]any)
	require.Equal(t, "a:1", member["name"])
	require.Equal(t, "app", member["app_id"])
	require.Equal(t, []any{"T"}, member["entities"])
	lastHeartbeat, err := time.Parse(time.RFC3339Nano, member["last_heartbeat"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), lastHeartbeat, 5*time.Second)
}

func TestOptionsValidate(t *testing.T) {
	for name, change := range map[string]func(*placement.Options){
		"member timeout not above lease": func(o *placement.Options) { o.MemberTimeout = o.Lease },
		"lease under two heartbeats":     func(o *placement.Options) { o.Lease = o.Heartbeat },
		"port out of range":              func(o *placement.Options) { o.Port = 70000 },
		"negative batch window":          func(o *placement.Options) { o.BatchWindow = -1 },
		"unknown log level":              func(o *placement.Options) { o.LogLevel = "loud" },
	} {
		t.Run(name, func(t *testing.T) {
			opts := placement.DefaultOptions()
			change(&opts)
			require.Error(t, opts.Validate())
		})
	}
	require.NoError(t, placement.DefaultOptions().Validate())
}

func memberNames(st placement.State) []string {
	var names []string
	for _, m := range st.Members {
		names = append(names, m.Name)
	}
	return names
}

// requireSameOwners checks that every table places a sample of actors alike.
func requireSameOwners(t *testing.T, tables ...*placementclient.Table) {
	t.Helper()
	for i := range 200 {
		id := "actor-" + strconv.Itoa(i)
		want, ok := tables[0].Owner("T", id)
		require.True(t, ok)
		for _, tab := range tables[1:] {
			got, _ := tab.Owner("T", id)
			require.Equal(t, want, got, "owner of %s", id)
		}
	}
}

// requireCommitsAfterPrepares checks that no sidecar committed version before every
// sidecar had finished preparing it.
func requireCommitsAfterPrepares(t *testing.T, events []event, version uint64) {
	t.Helper()
	lastPrepared, firstCommit := -1, -1
	for i, e := range events {
		switch {
		case e.version != version:
		case e.kind == "prepared":
			lastPrepared = i
		case e.kind == "commit" && firstCommit == -1:
			firstCommit = i
		}
	}
	require.NotEqual(t, -1, lastPrepared)
	require.Less(t, lastPrepared, firstCommit, "a commit of v%d preceded a prepare", version)
}

// startTwo starts placement with opts and sidecars a:1 and b:1, and waits until both
// have committed the table of two.
func startTwo(t *testing.T, opts placement.Options) (*runningPlacement, *eventLog, *sidecar, *sidecar) {
	t.Helper()
	p := startPlacement(t, opts)
	log := &eventLog{}
	a := startSidecar(t, log, "a:1", p.Addr())
	b := startSidecar(t, log, "b:1", p.Addr())
	eventually(t, func() bool { return a.hasMembers("a:1", "b:1") && b.hasMembers("a:1", "b:1") },
		"the table of two commits")
	return p, log, a, b
}
