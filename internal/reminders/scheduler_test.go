package reminders

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/internal/appchannel"
)

// fakeHost runs deliveries through call, one at a time per actor, for the actors it owns.
type fakeHost struct {
	mu       sync.Mutex
	disowned map[string]bool // actor ids another sidecar owns
	moving   bool            // InTurn answers ErrNotOwner
	token    uint64          // the token of turns; Owns reports 0
	beforeFn func()          // runs in the turn before the delivery
	turns    map[string]*sync.Mutex
	call     func(actorID, path string, body []byte) (*appchannel.Response, error)
}

func (h *fakeHost) Owns(_, actorID string) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return 0, !h.disowned[actorID]
}

func (h *fakeHost) InTurn(ctx context.Context, _, actorID string, fn func(Turn) error) error {
	h.mu.Lock()
	if h.moving {
		h.mu.Unlock()
		return ErrNotOwner
	}
	turn := h.turns[actorID]
	if turn == nil {
		turn = &sync.Mutex{}
		h.turns[actorID] = turn
	}
	h.mu.Unlock()

	turn.Lock()
	defer turn.Unlock()
	h.mu.Lock()
	token, before := h.token, h.beforeFn
	h.mu.Unlock()
	if before != nil {
		before()
	}
	return fn(Turn{Token: token, Call: func(_ context.Context, path string, body []byte) (
		*appchannel.Response, error) {
		return h.call(actorID, path, body)
	}})
}

// calls records the deliveries the host made.
type calls struct {
	mu  sync.Mutex
	log []string // "actorID path body"
}

func (c *calls) add(actorID, path string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, actorID+" "+path+" "+string(body))
}

func (c *calls) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.log {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

var ok200 = &appchannel.Response{Status: http.StatusOK, Header: http.Header{}}

type harness struct {
	s     *Scheduler
	store components.ReminderStore
	host  *fakeHost
	calls *calls
}

// startScheduler runs a scheduler for type T over a fresh embedded store until the test
// ends. answer decides the app's answer to each call.
func startScheduler(t *testing.T, answer func(actorID string, n int) *appchannel.Response) *harness {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "actors.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	h := &harness{store: store, calls: &calls{}}
	h.host = &fakeHost{disowned: map[string]bool{}, turns: map[string]*sync.Mutex{}}
	h.host.call = func(actorID, path string, body []byte) (*appchannel.Response, error) {
		h.calls.add(actorID, path, body)
		return answer(actorID, h.calls.count(actorID+" ")), nil
	}
	h.s = New(Options{AppID: "app", Types: []string{"T"}, Store: store, Host: h.host,
		PollInterval: 10 * time.Millisecond, ClaimLease: time.Minute,
		MinBackoff: 30 * time.Millisecond, MaxBackoff: time.Second})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func always200(string, int) *appchannel.Response { return ok200 }

func (h *harness) register(t *testing.T, actorID, name, dueTime, period string) {
	t.Helper()
	require.NoError(t, h.s.Register(context.Background(), Request{ActorType: "T",
		ActorID: actorID, Name: name, DueTime: dueTime, Period: period}))
}

func (h *harness) waitGone(t *testing.T, actorID, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		r, err := h.s.Get(context.Background(), "T", actorID, name)
		return err == nil && r == nil
	}, 5*time.Second, 5*time.Millisecond)
}

func TestSchedulerFiresOnlyOwnedActors(t *testing.T) {
	h := startScheduler(t, always200)
	h.host.mu.Lock()
	h.host.disowned["theirs"] = true
	h.host.mu.Unlock()

	h.register(t, "mine", "r", "", "")
	h.register(t, "theirs", "r", "", "")
	h.waitGone(t, "mine", "r")

	require.Equal(t, 1, h.calls.count("mine remind/r "))
	require.Zero(t, h.calls.count("theirs"))
	due, err := h.store.DueReminders(context.Background(), "app||T", time.Now(), 0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the other owner's reminder is still due and unclaimed")
}

func TestSchedulerReleasesClaimWhenActorMoves(t *testing.T) {
	h := startScheduler(t, always200)
	h.host.mu.Lock()
	h.host.moving = true
	h.host.mu.Unlock()
	h.register(t, "a", "r", "", "")

	// The claim lease is a minute, so the entry is due again only if the scheduler gave
	// the claim back.
	require.Eventually(t, func() bool {
		due, err := h.store.DueReminders(context.Background(), "app||T",
			time.Now().Add(time.Second), 0, 10)
		return err == nil && len(due) == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.Zero(t, h.calls.count("a"))

	h.host.mu.Lock()
	h.host.moving = false
	h.host.mu.Unlock()
	h.waitGone(t, "a", "r")
	require.Equal(t, 1, h.calls.count("a "))
}

func TestSchedulerRetriesFailedDeliveriesWithBackoff(t *testing.T) {
	h := startScheduler(t, func(_ string, n int) *appchannel.Response {
		if n <= 3 {
			return &appchannel.Response{Status: http.StatusInternalServerError}
		}
		return ok200
	})
	h.register(t, "a", "once", "", "")
	h.waitGone(t, "a", "once")
	require.Equal(t, 4, h.calls.count("a "), "three failures, then one success")
}

func TestSchedulerCancelHeaderDeletes(t *testing.T) {
	h := startScheduler(t, func(string, int) *appchannel.Response {
		return &appchannel.Response{Status: http.StatusOK,
			Header: http.Header{CancelHeader: []string{"Yes"}}}
	})
	h.register(t, "a", "r", "", "10ms")
	h.waitGone(t, "a", "r")
	require.Equal(t, 1, h.calls.count("a "))
}

func TestSchedulerDeleteDuringDeliveryIsFinal(t *testing.T) {
	var h *harness
	h = startScheduler(t, func(actorID string, _ int) *appchannel.Response {
		if err := h.s.Delete(context.Background(), "T", actorID, "r"); err != nil {
			t.Error(err)
		}
		return ok200
	})
	h.register(t, "a", "r", "", "20ms")
	require.Eventually(t, func() bool { return h.calls.count("a ") > 0 },
		5*time.Second, 5*time.Millisecond)
	h.waitGone(t, "a", "r")
	require.Never(t, func() bool {
		r, _ := h.s.Get(context.Background(), "T", "a", "r")
		return r != nil
	}, 200*time.Millisecond, 10*time.Millisecond, "the delivery's write revived the reminder")
}

func TestSchedulerSlowActorDelaysNoOther(t *testing.T) {
	release := make(chan struct{})
	h := startScheduler(t, func(actorID string, _ int) *appchannel.Response {
		if actorID == "slow" {
			<-release
		}
		return ok200
	})
	defer close(release)

	h.register(t, "slow", "r", "", "10ms")
	h.register(t, "fast", "r", "", "20ms")
	require.Eventually(t, func() bool { return h.calls.count("fast ") >= 5 },
		5*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, h.calls.count("slow "), "the slow actor's first fire still runs")
}

func TestReregisterUnchangedKeepsSchedule(t *testing.T) {
	h := startScheduler(t, always200)
	h.register(t, "a", "r", "1h", "1h")
	before, err := h.store.DueReminders(context.Background(), "app||T",
		time.Now().Add(2*time.Hour), 0, 10)
	require.NoError(t, err)

	h.register(t, "a", "r", "1h", "1h")
	after, err := h.store.DueReminders(context.Background(), "app||T",
		time.Now().Add(2*time.Hour), 0, 10)
	require.NoError(t, err)
	require.Equal(t, before, after)

	h.register(t, "a", "r", "2h", "1h")
	r, err := h.s.Get(context.Background(), "T", "a", "r")
	require.NoError(t, err)
	require.Equal(t, "2h", r.DueTime)
}

func TestMemberRoundTrip(t *testing.T) {
	for _, tc := range [][2]string{{"a", "b"}, {"a:1", "2:x"}, {"", "r"}, {"id||x", ""}} {
		id, name, ok := parseMember(member(tc[0], tc[1]))
		require.True(t, ok)
		require.Equal(t, tc, [2]string{id, name})
	}
	for _, bad := range []string{"", "x", "5:ab", "-1:a", "a:b"} {
		_, _, ok := parseMember(bad)
		require.False(t, ok, bad)
	}
}

func TestSchedulerRereadsAfterOwnershipChange(t *testing.T) {
	h := startScheduler(t, always200)
	h.host.mu.Lock()
	h.host.token = 7 // the turn runs under a newer table than the claim
	h.host.beforeFn = func() {
		// Meanwhile another owner fired the reminder and moved it an hour on.
		r, etag, err := h.s.get(context.Background(), "app||T", member("a", "r"))
		if err != nil || r == nil {
			t.Errorf("reading the reminder: %v", err)
			return
		}
		r.Scheduled, r.Due = r.Due.Add(time.Hour), r.Due.Add(time.Hour)
		err = h.s.write(context.Background(), "app||T", member("a", "r"), r,
			components.ReminderWrite{ETag: etag})
		if err != nil {
			t.Error(err)
		}
	}
	h.host.mu.Unlock()

	h.register(t, "a", "r", "", "1h")
	require.Eventually(t, func() bool {
		due, err := h.store.DueReminders(context.Background(), "app||T",
			time.Now().Add(90*time.Minute), 0, 10)
		return err == nil && len(due) == 1 && due[0].Due.After(time.Now().Add(30*time.Minute))
	}, 5*time.Second, 5*time.Millisecond)
	require.Zero(t, h.calls.count("a "), "the stale claim was not delivered")
}
