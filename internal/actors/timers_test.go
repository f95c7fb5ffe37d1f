package actors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/internal/apierr"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
)

// recordingApp answers 200 and records the paths of the calls it gets.
type recordingApp struct {
	mu    sync.Mutex
	paths []string
}

func (a *recordingApp) Invoke(_ context.Context, r *appchannel.Request) (*appchannel.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paths = append(a.paths, r.ActorID+" "+r.Path)
	return &appchannel.Response{Status: http.StatusOK, Header: http.Header{}}, nil
}

func (a *recordingApp) Deactivate(context.Context, string, string) error { return nil }

func (a *recordingApp) count(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, p := range a.paths {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// newScheduleRuntime returns a single-node runtime hosting type T over an embedded store,
// running its schedules until the test ends.
func newScheduleRuntime(t *testing.T) (*Runtime, *recordingApp) {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "actors.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	cfg, _, err := ParseConfig([]byte(`{"entities":["T"]}`))
	require.NoError(t, err)

	app := &recordingApp{}
	rt := New(Options{AppID: "app", App: app, Store: store, Config: cfg,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Reminders: ReminderOptions{PollInterval: 10 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rt.RunSchedules(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rt, app
}

func activate(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	_, err := rt.Invoke(context.Background(), &appchannel.Request{ActorType: "T", ActorID: id,
		Path: "noop"})
	require.NoError(t, err)
}

func timerRequest(id, name, dueTime, period string) TimerRequest {
	return TimerRequest{Request: reminders.Request{ActorType: "T", ActorID: id, Name: name,
		DueTime: dueTime, Period: period}}
}

func TestTimerNeedsAnActiveActor(t *testing.T) {
	rt, _ := newScheduleRuntime(t)
	err := rt.RegisterTimer(context.Background(), timerRequest("a", "t", "", "10ms"))
	var apiErr *apierr.Error
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, apierr.ActorTimerCreate, apiErr.Kind)
}

func TestTimerFiresUntilDeletedAndEndsWithActivation(t *testing.T) {
	rt, app := newScheduleRuntime(t)
	activate(t, rt, "a")
	activate(t, rt, "b")
	ctx := context.Background()

	require.NoError(t, rt.RegisterTimer(ctx, timerRequest("a", "t", "", "10ms")))
	require.NoError(t, rt.RegisterTimer(ctx, timerRequest("b", "t", "", "10ms")))
	require.NoError(t, rt.RegisterTimer(ctx, timerRequest("b", "twice", "", "R2/PT0S")))
	require.Eventually(t, func() bool {
		return app.count("a timer/t") >= 3 && app.count("b timer/t") >= 3
	}, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, rt.UnregisterTimer(ctx, "T", "a", "t"))
	require.NoError(t, rt.Drain(ctx)) // deactivates b, ending its timer
	fired := app.count("a timer/t") + app.count("b timer/t")
	require.Never(t, func() bool { return app.count("a timer/t")+app.count("b timer/t") > fired },
		100*time.Millisecond, 10*time.Millisecond)
	require.Equal(t, 1, app.count("b timer/twice"), "R2 with no period fires once")

	rt.timers.mu.Lock()
	defer rt.timers.mu.Unlock()
	require.Empty(t, rt.timers.byActor, "no timer outlives its activation")
}

func TestRemindersNeedAHostedType(t *testing.T) {
	rt, _ := newScheduleRuntime(t)
	err := rt.RegisterReminder(context.Background(), reminders.Request{ActorType: "X",
		ActorID: "a", Name: "r"})
	var apiErr *apierr.Error
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, apierr.ActorReminderHosted, apiErr.Kind)

	_, err = rt.GetReminder(context.Background(), "X", "a", "r")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 403, apiErr.Kind.HTTPStatus)
}

func TestReminderFiresInTheActorsTurnAndStopsOnDrain(t *testing.T) {
	rt, app := newScheduleRuntime(t)
	ctx := context.Background()
	require.NoError(t, rt.RegisterReminder(ctx, reminders.Request{ActorType: "T",
		ActorID: "a", Name: "r", Period: "10ms"}))
	require.Eventually(t, func() bool { return app.count("a remind/r") >= 2 },
		5*time.Second, 5*time.Millisecond)
	require.NotNil(t, rt.actors.get(actorKey{"T", "a"}), "the fire activated the actor")

	require.NoError(t, rt.Drain(ctx))
	_, owned := schedulerHost{rt}.Owns("T", "a")
	require.False(t, owned, "a draining sidecar claims no reminders")
	fired := app.count("a remind/r")
	require.Never(t, func() bool { return app.count("a remind/r") > fired },
		100*time.Millisecond, 10*time.Millisecond)

	rem, err := rt.GetReminder(ctx, "T", "a", "r")
	require.NoError(t, err)
	require.NotNil(t, rem, "a periodic reminder outlives the sidecar")
}
