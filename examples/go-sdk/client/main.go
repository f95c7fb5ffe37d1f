// Command client calls the Counter actor through a sidecar's gRPC API with a go-sdk actor
// client stub. DAPR_GRPC_PORT names the sidecar's port; that sidecar need not host the
// actor, as it forwards the call to the one that does. Each run makes one call and prints
// its result as JSON:
//
//	client [-id ID] greet NAME
//	client [-id ID] increment
//	client [-id ID] start-ticking DUE_TIME PERIOD
//	client [-id ID] stop-ticking
//	client [-id ID] fired
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/troupe-dev/troupe/examples/go-sdk/api"
)

// callTimeout bounds one actor call.
const callTimeout = 30 * time.Second

func main() {
	id := flag.String("id", "demo", "the actor's id")
	flag.Parse()

	result, err := run(*id, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(result)
}

// run makes the call that args name and returns its result.
func run(id string, args []string) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no command; want greet, increment, start-ticking, stop-ticking or fired")
	}

	sidecar, err := dapr.NewClient()
	if err != nil {
		return nil, fmt.Errorf("connect to the sidecar: %w", err)
	}
	defer sidecar.Close()

	counter := api.NewCounterStub(id)
	sidecar.ImplActorClientStub(counter)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	switch cmd := args[0]; {
	case cmd == "greet" && len(args) == 2:
		return counter.Greet(ctx, args[1])
	case cmd == "increment" && len(args) == 1:
		return counter.Increment(ctx)
	case cmd == "start-ticking" && len(args) == 3:
		return counter.StartTicking(ctx, &api.Schedule{DueTime: args[1], Period: args[2]})
	case cmd == "stop-ticking" && len(args) == 1:
		return counter.StopTicking(ctx)
	case cmd == "fired" && len(args) == 1:
		return counter.Fired(ctx)
	default:
		return nil, fmt.Errorf("bad command line %q", args)
	}
}
