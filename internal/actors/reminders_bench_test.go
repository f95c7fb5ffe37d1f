package actors

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/components/redisstore"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/reminders"
	"github.com/troupe-dev/troupe/internal/testutil"
)

// countingApp answers every call 200 at once and counts the reminder calls.
type countingApp struct{ fires atomic.Int64 }

func (a *countingApp) Invoke(_ context.Context, r *appchannel.Request) (*appchannel.Response, error) {
	a.fires.Add(1)
	return &appchannel.Response{Status: http.StatusOK, Header: http.Header{}}, nil
}

func (a *countingApp) Deactivate(context.Context, string, string) error { return nil }

// BenchmarkReminders registers one-shot reminders through the runtime on a real Redis
// and fires them into an app that answers at once, so it measures the runtime, the
// scheduler and Redis, without the HTTP hops. It reports registrations/s and fires/s.
func BenchmarkReminders(b *testing.B) {
	redis := testutil.StartRedis(b)
	store, err := redisstore.New(redisstore.DefaultOptions(redis.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cfg, _, err := ParseConfig([]byte(`{"entities":["T"]}`))
	if err != nil {
		b.Fatal(err)
	}
	app := &countingApp{}
	rt := New(Options{AppID: "bench", App: app, Store: store, Config: cfg,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Reminders: ReminderOptions{PollInterval: 10 * time.Millisecond}})

	n := max(b.N, 1000)
	b.ResetTimer()
	start := time.Now()
	registerConcurrently(b, rt, n, 64)
	registered := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start = time.Now()
	go func() { rt.RunSchedules(ctx); close(done) }()
	for app.fires.Load() < int64(n) {
		time.Sleep(time.Millisecond)
	}
	fired := time.Since(start)
	cancel()
	<-done

	b.ReportMetric(float64(n)/registered.Seconds(), "registrations/s")
	b.ReportMetric(float64(n)/fired.Seconds(), "fires/s")
}

func registerConcurrently(b *testing.B, rt *Runtime, n, clients int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				err := rt.RegisterReminder(context.Background(), reminders.Request{
					ActorType: "T", ActorID: "a" + strconv.FormatInt(i, 10), Name: "r"})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
