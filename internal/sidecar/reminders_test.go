package sidecar_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/troupe-dev/troupe/internal/testapp"
)

func (e *env) reminderPath(actorType, id, name string) string {
	return "/v1.0/actors/" + actorType + "/" + id + "/reminders/" + name
}

func (e *env) putReminder(actorType, id, name, body string) reply {
	return e.do(http.MethodPut, e.reminderPath(actorType, id, name), body)
}

func (e *env) getReminder(actorType, id, name string) reply {
	return e.do(http.MethodGet, e.reminderPath(actorType, id, name), "")
}

func (e *env) putTimer(actorType, id, name, body string) reply {
	return e.do(http.MethodPut, "/v1.0/actors/"+actorType+"/"+id+"/timers/"+name, body)
}

// callbacks returns the app's reminder or timer calls for one actor and name.
func (e *env) callbacks(kind, actor, name string) []testapp.Callback {
	var out []testapp.Callback
	for _, c := range e.app.Callbacks() {
		if c.Kind == kind && c.Actor == actor && c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// waitCallbacks waits until the app has at least n calls of the reminder or timer.
func (e *env) waitCallbacks(kind, actor, name string, n int) []testapp.Callback {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return len(e.callbacks(kind, actor, name)) >= n },
		10*time.Second, 10*time.Millisecond, "%s %s of %s: fewer than %d calls", kind, name,
		actor, n)
	return e.callbacks(kind, actor, name)
}

// waitReminderGone waits until GET answers null: the reminder was deleted.
func (e *env) waitReminderGone(actorType, id, name string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		return e.getReminder(actorType, id, name).body == "null"
	}, 10*time.Second, 10*time.Millisecond, "reminder %s was not deleted", name)
}

func TestReminderAPI(t *testing.T) {
	e := startEnv(t)

	r := e.putReminder("Counter", "a1", "r1",
		`{"dueTime":"1h","period":"R5/PT1S","data":{ "a" : 1 },"unknown":true}`)
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	r = e.getReminder("Counter", "a1", "r1")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Equal(t, `{"period":"R5/PT1S","data":{"a":1},"dueTime":"1h"}`, r.body)

	require.Equal(t, http.StatusNoContent, e.putReminder("Counter", "a1", "r2", `{}`).status)
	require.Equal(t, `{}`, e.getReminder("Counter", "a1", "r2").body)

	r = e.getReminder("Counter", "a1", "unknown")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "null", r.body)

	path := e.reminderPath("Counter", "a1", "r1")
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, path, "").status)
	require.Equal(t, "null", e.getReminder("Counter", "a1", "r1").body)
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, path, "").status,
		"deleting an unknown reminder")
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, path, `{"x":1}`).status)
	requireAPIError(t, e.do(http.MethodDelete, path, `{x`), 400, "ERR_MALFORMED_REQUEST")
}

func TestReminderAPIErrors(t *testing.T) {
	e := startEnv(t)

	for _, r := range []reply{
		e.putReminder("Nobody", "a1", "r", `{}`),
		e.getReminder("Nobody", "a1", "r"),
		e.do(http.MethodDelete, e.reminderPath("Nobody", "a1", "r"), ""),
	} {
		requireAPIError(t, r, 403, "ERR_ACTOR_REMINDER_NON_HOSTED")
	}

	requireAPIError(t, e.putReminder("Counter", "a1", "r", ``), 400, "ERR_MALFORMED_REQUEST")
	requireAPIError(t, e.putReminder("Counter", "a1", "r", `{"dueTime":`), 400,
		"ERR_MALFORMED_REQUEST")
	requireAPIError(t, e.putReminder("Counter", "a1", "r", `{"dueTime":5}`), 400,
		"ERR_MALFORMED_REQUEST")

	for body, message := range map[string]string{
		`{"period":"often"}`:    "error creating actor reminder: invalid reminder period: parse error",
		`{"period":"R0/PT1S"}`:  "has zero repetitions",
		`{"period":"PT0.5S"}`:   "invalid reminder period",
		`{"dueTime":"R2/PT1S"}`: "error parsing reminder due time",
		`{"dueTime":"soon"}`:    "error parsing reminder due time",
		`{"ttl":"x"}`:           "error parsing reminder TTL",
		`{"ttl":"-1s"}`:         "reminder Counter||a1||r has already expired",
		`{"dueTime":"10s","ttl":"2020-01-01T00:00:00Z"}`: "has already expired",
	} {
		r := e.putReminder("Counter", "a1", "r", body)
		requireAPIError(t, r, 500, "ERR_ACTOR_REMINDER_CREATE")
		require.Contains(t, r.body, message, body)
	}
	require.Equal(t, "null", e.getReminder("Counter", "a1", "r").body, "nothing was stored")
}

func TestReminderCallbackBodies(t *testing.T) {
	e := startEnv(t)

	for name, tc := range map[string]struct{ register, want string }{
		"object": {`{"dueTime":"0s","data":{ "a" : [1, 2] }}`,
			`{"data":{"a":[1,2]},"dueTime":"0s","period":""}`},
		"string": {`{"data":"someData"}`, `{"data":"someData","dueTime":"","period":""}`},
		"none":   {`{"period":"","dueTime":""}`, `{"dueTime":"","period":""}`},
		"null":   {`{"data":null,"dueTime":"0h0m0s0ms"}`, `{"dueTime":"0h0m0s0ms","period":""}`},
	} {
		require.Equal(t, 204, e.putReminder("Counter", "b1", name, tc.register).status)
		calls := e.waitCallbacks("remind", "Counter/b1", name, 1)
		require.Equal(t, tc.want, calls[0].Body, name)
		require.Equal(t, "application/json", calls[0].ContentType)
		e.waitReminderGone("Counter", "b1", name)
	}
}

func TestReminderDataFromGRPCIsBase64(t *testing.T) {
	e := startEnv(t)
	conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(e.opts.GRPCPort)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := runtimev1pb.NewDaprClient(conn)

	_, err = client.RegisterActorReminder(context.Background(),
		&runtimev1pb.RegisterActorReminderRequest{ActorType: "Counter", ActorId: "g1",
			Name: "r", DueTime: "0s", Data: []byte(`"hello"`)})
	require.NoError(t, err)
	calls := e.waitCallbacks("remind", "Counter/g1", "r", 1)
	require.Equal(t, `{"data":"ImhlbGxvIg==","dueTime":"0s","period":""}`, calls[0].Body)

	_, err = client.RegisterActorReminder(context.Background(),
		&runtimev1pb.RegisterActorReminderRequest{ActorType: "Nobody", ActorId: "g1", Name: "r"})
	require.ErrorContains(t, err, "PermissionDenied")
}

func TestReminderRepetitionsTTLAndCancel(t *testing.T) {
	e := startEnv(t)

	require.Equal(t, 204, e.putReminder("Counter", "c1", "reps", `{"period":"R2/PT1S"}`).status)
	require.Equal(t, 204, e.putReminder("Counter", "c1", "ttl",
		`{"period":"200ms","ttl":"700ms"}`).status)
	require.Equal(t, 204, e.putReminder("Counter", "c1", "cancel-me", `{"period":"100ms"}`).status)

	e.waitReminderGone("Counter", "c1", "reps")
	e.waitReminderGone("Counter", "c1", "ttl")
	e.waitReminderGone("Counter", "c1", "cancel-me")
	require.Len(t, e.callbacks("remind", "Counter/c1", "reps"), 2, "R2 fires twice")
	require.Len(t, e.callbacks("remind", "Counter/c1", "ttl"), 4, "fires at 0, 200, 400, 600 ms")
	require.Len(t, e.callbacks("remind", "Counter/c1", "cancel-me"), 1, "cancelled by the app")
}

func TestReregisteringUnchangedReminderKeepsSchedule(t *testing.T) {
	e := startEnv(t)
	body := `{"dueTime":"1s","period":"1s"}`
	require.Equal(t, 204, e.putReminder("Counter", "k1", "r", body).status)

	// Re-registering the same reminder every 300 ms would push a new due time past each
	// fire; unchanged, it fires on its first schedule.
	start := time.Now()
	for len(e.callbacks("remind", "Counter/k1", "r")) == 0 {
		require.Less(t, time.Since(start), 5*time.Second, "never fired")
		require.Equal(t, 204, e.putReminder("Counter", "k1", "r", body).status)
		time.Sleep(300 * time.Millisecond) // the pace of the re-registrations
	}
}

func TestOneShotReminderRetriedUntilDelivered(t *testing.T) {
	e := startEnv(t)

	require.Equal(t, 204, e.putReminder("Counter", "f1", "fail-2-once", `{}`).status)
	calls := e.waitCallbacks("remind", "Counter/f1", "fail-2-once", 3)
	e.waitReminderGone("Counter", "f1", "fail-2-once")

	require.Equal(t, []int{500, 500, 200}, statuses(calls))
	require.Len(t, e.callbacks("remind", "Counter/f1", "fail-2-once"), 3, "no call after the 200")
	gap := calls[2].At.Sub(calls[1].At)
	require.Greater(t, gap, calls[1].At.Sub(calls[0].At), "backoff grows: %v", gap)
}

func statuses(calls []testapp.Callback) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}

func TestRestartResumesRemindersWithOneCatchUpFire(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 204, e.putReminder("Counter", "s1", "tick", `{"period":"200ms"}`).status)
	require.Equal(t, 204, e.putReminder("Counter", "s1", "reps", `{"period":"R3/PT1S"}`).status)
	e.waitCallbacks("remind", "Counter/s1", "tick", 2)
	e.waitCallbacks("remind", "Counter/s1", "reps", 1)

	e.stop()
	before := len(e.callbacks("remind", "Counter/s1", "tick"))
	stopped := time.Now()
	time.Sleep(time.Second) // the downtime: five periods of "tick" are missed
	e.run()

	// The catch-up fire stands for all five missed periods; the schedule then keeps its
	// 200 ms grid, so a window shorter than a period holds at most one more fire.
	calls := e.waitCallbacks("remind", "Counter/s1", "tick", before+3)
	catchUp := calls[before]
	require.True(t, catchUp.At.After(stopped.Add(time.Second)))
	inWindow := 0
	for _, c := range calls[before:] {
		if c.At.Sub(catchUp.At) < 190*time.Millisecond {
			inWindow++
		}
	}
	require.LessOrEqual(t, inWindow, 2, "missed periods are not replayed back to back")

	e.waitReminderGone("Counter", "s1", "reps")
	require.Len(t, e.callbacks("remind", "Counter/s1", "reps"), 3,
		"repetitions stay exact across the restart")
}

func TestRemindersOnEmbeddedStore(t *testing.T) {
	storePath := t.TempDir() + "/actors.db"
	e := startSidecar(t, "", storePath)
	require.Equal(t, 204, e.putReminder("Counter", "e1", "r", `{"period":"100ms"}`).status)
	e.waitCallbacks("remind", "Counter/e1", "r", 2)

	e.stop()
	n := len(e.callbacks("remind", "Counter/e1", "r"))
	e.run()
	e.waitCallbacks("remind", "Counter/e1", "r", n+2)
	require.Equal(t, `{"period":"100ms"}`, e.getReminder("Counter", "e1", "r").body)
}

func TestTimers(t *testing.T) {
	e := startEnv(t)

	r := e.putTimer("Counter", "t1", "tick", `{"period":"100ms"}`)
	requireAPIError(t, r, 500, "ERR_ACTOR_TIMER_CREATE")
	require.Contains(t, r.body, "can't create timer for actor Counter||t1: actor not activated")

	require.Equal(t, 200, e.invoke("Counter", "t1", "echo", "").status)
	require.Equal(t, 204, e.putTimer("Counter", "t1", "tick",
		`{"period":"100ms","callback":"onTick"}`).status)
	require.Equal(t, 204, e.putTimer("Counter", "t1", "data",
		`{"dueTime":"0s","data":{"x": 1}}`).status)
	requireAPIError(t, e.putTimer("Counter", "t1", "bad", `{"period":"R0/PT1S"}`), 500,
		"ERR_ACTOR_TIMER_CREATE")

	calls := e.waitCallbacks("timer", "Counter/t1", "tick", 3)
	require.Equal(t, `{"data":null,"callback":"onTick","dueTime":"","period":"100ms"}`, calls[0].Body)
	require.Equal(t, "application/json", calls[0].ContentType)
	data := e.waitCallbacks("timer", "Counter/t1", "data", 1)
	require.Equal(t, `{"data":{"x":1},"callback":"","dueTime":"0s","period":""}`, data[0].Body)

	path := "/v1.0/actors/Counter/t1/timers/tick"
	require.Equal(t, 204, e.do(http.MethodDelete, path, "").status)
	require.Equal(t, 204, e.do(http.MethodDelete, path, "").status, "deleting an unknown timer")
	n := len(e.callbacks("timer", "Counter/t1", "tick"))
	require.Never(t, func() bool { return len(e.callbacks("timer", "Counter/t1", "tick")) > n },
		400*time.Millisecond, 20*time.Millisecond, "the deleted timer fired")
}

func TestTimerEndsWithActivation(t *testing.T) {
	e := startEnv(t)

	// Idle actors are deactivated after 300 ms; the timer would first fire at 800 ms.
	require.Equal(t, 200, e.invoke("Idle", "i1", "echo", "").status)
	require.Equal(t, 204, e.putTimer("Idle", "i1", "late", `{"dueTime":"800ms"}`).status)
	require.Eventually(t, func() bool {
		return len(e.app.Deactivations()) > 0
	}, 5*time.Second, 10*time.Millisecond)
	require.Never(t, func() bool { return len(e.callbacks("timer", "Idle/i1", "late")) > 0 },
		time.Second, 20*time.Millisecond, "a timer outlived its activation")
}

func TestSlowTimerCallbackDelaysNoOtherActor(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "slow", "echo", "").status)
	require.Equal(t, 200, e.invoke("Counter", "fast", "echo", "").status)

	require.Equal(t, 204, e.putTimer("Counter", "slow", "slow-1500-t", `{"period":"50ms"}`).status)
	e.waitCallbacks("timer", "Counter/slow", "slow-1500-t", 0)
	require.Equal(t, 204, e.putTimer("Counter", "fast", "t", `{"period":"100ms"}`).status)

	calls := e.waitCallbacks("timer", "Counter/fast", "t", 5)
	require.Less(t, calls[4].At.Sub(calls[0].At), time.Second,
		"the fast actor's timer kept its pace")
	require.Empty(t, e.callbacks("timer", "Counter/slow", "slow-1500-t"),
		"the slow callback is still running")
}
