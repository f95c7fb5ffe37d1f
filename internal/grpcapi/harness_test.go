package grpcapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/troupe-dev/troupe/components/redisstore"
	"github.com/troupe-dev/troupe/internal/actors"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/httpapi"
	"github.com/troupe-dev/troupe/internal/testutil"
)

const testAppID = "grpcapp"

// testApp is a small actor app: it hosts "counter" and "other", and each method shows one
// behaviour of the app callback contract.
type testApp struct {
	srv *httptest.Server

	// entered receives the actor id when "block" starts; release lets it return.
	entered chan string
	release chan struct{}

	mu sync.Mutex
	// sdk is the go-sdk client the "inc" method uses to call back into the sidecar, as an
	// SDK actor does.
	sdk client.Client
	// inTurn counts the calls each actor is running; overlaps counts calls that found
	// another already running, which turn-based concurrency forbids.
	inTurn   map[string]int
	overlaps int
}

func newTestApp(t testing.TB) *testApp {
	a := &testApp{
		entered: make(chan string, 16),
		release: make(chan struct{}),
		inTurn:  make(map[string]int),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"entities":["counter","other"]}`))
	})
	mux.HandleFunc("PUT /actors/{type}/{id}/method/{method}", a.method)
	mux.HandleFunc("DELETE /actors/{type}/{id}", func(http.ResponseWriter, *http.Request) {})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *testApp) method(w http.ResponseWriter, r *http.Request) {
	actor := r.PathValue("type") + "/" + r.PathValue("id")
	a.enterTurn(actor)
	defer a.leaveTurn(actor)

	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	switch r.PathValue("method") {
	case "echo":
		w.Write(body)
	case "headers":
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "header": r.Header})
	case "fail":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "created":
		w.WriteHeader(http.StatusCreated)
	case "actorerror":
		w.Header().Set("X-DaprErrorResponseHeader", "true")
		w.Write([]byte("actor exploded"))
	case "block":
		a.entered <- r.PathValue("id")
		<-a.release
		w.Write([]byte("released"))
	case "inc":
		a.increment(w, r)
	default:
		http.Error(w, "no such method", http.StatusNotFound)
	}
}

// increment adds one to the actor's "count" through the sidecar's gRPC state API, within
// the turn, as go-sdk's actor state manager does.
func (a *testApp) increment(w http.ResponseWriter, r *http.Request) {
	ctx, typ, id := r.Context(), r.PathValue("type"), r.PathValue("id")
	sdk := a.sdkClient()
	got, err := sdk.GetActorState(ctx, &client.GetActorStateRequest{
		ActorType: typ, ActorID: id, KeyName: "count",
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	n := 0
	if len(got.Data) > 0 {
		if n, err = strconv.Atoi(string(got.Data)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	next := []byte(strconv.Itoa(n + 1))
	err = sdk.SaveStateTransactionally(ctx, typ, id, []*client.ActorStateOperation{
		{OperationType: "upsert", Key: "count", Value: next},
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(next)
}

func (a *testApp) setSDK(c client.Client) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sdk = c
}

func (a *testApp) sdkClient() client.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sdk
}

func (a *testApp) enterTurn(actor string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inTurn[actor] > 0 {
		a.overlaps++
	}
	a.inTurn[actor]++
}

func (a *testApp) leaveTurn(actor string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inTurn[actor]--
}

func (a *testApp) overlapCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.overlaps
}

// harness is a gRPC API server on loopback in front of a real actor runtime, the test app
// and a real Redis.
type harness struct {
	app     *testApp
	redis   *testutil.Redis
	runtime *actors.Runtime
	addr    string
	client  runtimev1pb.DaprClient
}

// newHarness starts everything; edit adjusts the API options before the server starts.
func newHarness(t testing.TB, edit func(*Options)) *harness {
	t.Helper()
	h := &harness{app: newTestApp(t), redis: testutil.StartRedis(t)}

	store, err := redisstore.New(redisstore.DefaultOptions(h.redis.Addr()))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	h.runtime = newRuntime(t, h.app, store)
	opts := Options{
		AppID:       testAppID,
		MaxBodySize: 64 << 10,
		Runtime: func(context.Context) (*actors.Runtime, error) {
			return h.runtime, nil
		},
		Metadata: func() httpapi.ActorRuntimeStatus {
			return httpapi.ActorRuntimeStatus{RuntimeStatus: "RUNNING"}
		},
	}
	if edit != nil {
		edit(&opts)
	}
	h.addr = serve(t, New(opts))
	h.client = runtimev1pb.NewDaprClient(dial(t, h.addr))
	return h
}

func newRuntime(t testing.TB, app *testApp, store *redisstore.Store) *actors.Runtime {
	t.Helper()
	channel := appchannel.New(appchannel.Config{
		Address:     app.srv.Listener.Addr().String(),
		AppID:       testAppID,
		MaxBodySize: 1 << 20,
	})
	t.Cleanup(channel.Close)

	body, err := channel.Config(context.Background())
	require.NoError(t, err)
	cfg, _, err := actors.ParseConfig(body)
	require.NoError(t, err)

	return actors.New(actors.Options{AppID: testAppID, App: channel, Store: store, Config: cfg})
}

// serve runs srv on a loopback port until the test ends and returns its address.
func serve(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return ln.Addr().String()
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// stateKey is where the runtime stores an actor's key, as Dapr does.
func stateKey(actorType, actorID, key string) string {
	return testAppID + "||" + actorType + "||" + actorID + "||" + key
}
