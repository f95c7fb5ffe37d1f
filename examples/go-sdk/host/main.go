// Command host serves the Counter actor with go-sdk's actor and service/http packages. Its
// sidecar calls it on --port; it reaches the sidecar's gRPC API through DAPR_GRPC_PORT.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/dapr/go-sdk/actor"
	actorapi "github.com/dapr/go-sdk/actor/api"
	"github.com/dapr/go-sdk/actor/runtime"
	dapr "github.com/dapr/go-sdk/client"
	daprhttp "github.com/dapr/go-sdk/service/http"
	"github.com/go-chi/chi/v5"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
)

// State keys of a Counter.
const (
	countKey    = "count"
	timerKey    = "timer-fired"
	reminderKey = "reminder-fired"
)

// Names of the Counter's timer and reminder, and the method the timer calls.
const (
	timerName     = "tick"
	timerCallback = "Tick"
	reminderName  = "remind"
)

// reminderTimeout bounds the state calls of a reminder, which go-sdk gives no context.
const reminderTimeout = 10 * time.Second

func main() {
	port := flag.Int("port", 8080, "port the sidecar calls the app on")
	idle := flag.String("idle-timeout", "", "Counter's actorIdleTimeout (empty: the default)")
	flag.Parse()

	mux := chi.NewRouter()
	mux.Use(withIdleTimeout(*idle))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	service := daprhttp.NewServiceWithMux(addr, mux)
	service.RegisterActorImplFactoryContext(func() actor.ServerContext { return &Counter{} })

	log.Printf("serving actor type %s on port %d", api.ActorType, *port)
	if err := service.Start(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
}

// withIdleTimeout answers GET /dapr/config with go-sdk's own actor configuration plus an
// actorIdleTimeout: go-sdk v1.11 registers actor types but has no setting for it.
func withIdleTimeout(idle string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if idle == "" || r.Method != http.MethodGet || r.URL.Path != "/dapr/config" {
				next.ServeHTTP(w, r)
				return
			}

			var cfg actorapi.ActorRuntimeConfig
			data, err := runtime.GetActorRuntimeInstanceContext().GetJSONSerializedConfig()
			if err == nil {
				err = json.Unmarshal(data, &cfg)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}

			cfg.ActorIdleTimeout = idle
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(cfg)
		})
	}
}

// Counter is the actor. Its count, and how often its timer and reminder fired, live in
// the actor state store; turns lives only in memory, for as long as this activation does.
type Counter struct {
	actor.ServerImplBaseCtx
	turns int
}

// Type returns the actor type Counter is registered as.
func (c *Counter) Type() string { return api.ActorType }

// Greet answers with a greeting that names the actor.
func (c *Counter) Greet(_ context.Context, name string) (string, error) {
	return "hello " + name + ", from " + c.Type() + "/" + c.ID(), nil
}

// Increment adds one to the persisted count. go-sdk saves the state change after the
// method returns, within the same turn.
func (c *Counter) Increment(ctx context.Context) (*api.Count, error) {
	c.turns++
	count, err := c.read(ctx, countKey)
	if err != nil {
		return nil, err
	}

	count++
	if err := c.GetStateManager().Set(ctx, countKey, count); err != nil {
		return nil, err
	}
	return &api.Count{Value: count, Activation: c.turns}, nil
}

// StartTicking registers a timer that calls Tick and a reminder, both on schedule s.
func (c *Counter) StartTicking(ctx context.Context, s *api.Schedule) (*api.Schedule, error) {
	sidecar, err := dapr.NewClient()
	if err != nil {
		return nil, err
	}

	err = sidecar.RegisterActorTimer(ctx, &dapr.RegisterActorTimerRequest{
		ActorType: c.Type(), ActorID: c.ID(), Name: timerName,
		DueTime: s.DueTime, Period: s.Period,
		CallBack: timerCallback, Data: []byte(`"timer"`),
	})
	if err != nil {
		return nil, err
	}

	err = sidecar.RegisterActorReminder(ctx, &dapr.RegisterActorReminderRequest{
		ActorType: c.Type(), ActorID: c.ID(), Name: reminderName,
		DueTime: s.DueTime, Period: s.Period,
		Data: []byte(`"reminder"`),
	})
	return s, err
}

// StopTicking unregisters the timer and the reminder and reports how often they fired.
func (c *Counter) StopTicking(ctx context.Context) (*api.Fired, error) {
	sidecar, err := dapr.NewClient()
	if err != nil {
		return nil, err
	}

	err = sidecar.UnregisterActorTimer(ctx, &dapr.UnregisterActorTimerRequest{
		ActorType: c.Type(), ActorID: c.ID(), Name: timerName,
	})
	if err != nil {
		return nil, err
	}

	err = sidecar.UnregisterActorReminder(ctx, &dapr.UnregisterActorReminderRequest{
		ActorType: c.Type(), ActorID: c.ID(), Name: reminderName,
	})
	if err != nil {
		return nil, err
	}
	return c.Fired(ctx)
}

// Tick is the timer's callback; data is what StartTicking registered.
func (c *Counter) Tick(ctx context.Context, data string) error {
	log.Printf("%s/%s: timer fired with %q", c.Type(), c.ID(), data)
	return c.bump(ctx, timerKey)
}

// ReminderCall is called when a reminder fires.
func (c *Counter) ReminderCall(name string, data []byte, dueTime, period string) {
	log.Printf("%s/%s: reminder %s fired with %s", c.Type(), c.ID(), name, data)

	ctx, cancel := context.WithTimeout(context.Background(), reminderTimeout)
	defer cancel()
	if err := c.bump(ctx, reminderKey); err != nil {
		log.Printf("%s/%s: reminder %s: %v", c.Type(), c.ID(), name, err)
	}
}

// Fired reports how often the timer and the reminder have fired.
func (c *Counter) Fired(ctx context.Context) (*api.Fired, error) {
	timer, err := c.read(ctx, timerKey)
	if err != nil {
		return nil, err
	}
	reminder, err := c.read(ctx, reminderKey)
	return &api.Fired{Timer: timer, Reminder: reminder}, err
}

// bump adds one to the number under key and saves it at once: go-sdk saves state only
// after methods that return a value, not after timer callbacks and reminders.
func (c *Counter) bump(ctx context.Context, key string) error {
	n, err := c.read(ctx, key)
	if err != nil {
		return err
	}
	if err := c.GetStateManager().Set(ctx, key, n+1); err != nil {
		return err
	}
	return c.SaveState(ctx)
}

// read returns the number under key, or 0 when there is none.
func (c *Counter) read(ctx context.Context, key string) (int, error) {
	var n int
	found, err := c.GetStateManager().Contains(ctx, key)
	if err != nil || !found {
		return 0, err
	}
	err = c.GetStateManager().Get(ctx, key, &n)
	return n, err
}
