package sidecar_test

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInvokePassesCallThrough(t *testing.T) {
	e := startEnv(t)

	for _, verb := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		// The test app only routes PUT, so an answer proves the verb was rewritten.
		r := e.do(verb, "/v1.0/actors/Counter/a1/method/echo?x=1&y=two", "hello",
			"X-Custom", "c1", "Content-Type", "text/plain")
		require.Equal(t, http.StatusOK, r.status, verb)
		require.Equal(t, "hello", r.body)
		require.Equal(t, "c1", r.header.Get("X-Echo-X-Custom"), "caller header reaches the app")
		require.Equal(t, "text/plain", r.header.Get("X-Echo-Content-Type"))
	}
}

func TestInvokeErrors(t *testing.T) {
	e := startEnv(t)

	r := e.invoke("Counter", "a1", "fail", "it broke")
	requireAPIError(t, r, 500, "ERR_ACTOR_INVOKE_METHOD")
	require.Contains(t, r.body, "error from actor service: it broke")

	r = e.invoke("Counter", "a1", "created", "")
	requireAPIError(t, r, 500, "ERR_ACTOR_INVOKE_METHOD")

	r = e.invoke("Nobody", "a1", "echo", "")
	requireAPIError(t, r, 500, "ERR_ACTOR_INVOKE_METHOD")
	require.Contains(t, r.body, "did not find address for actor Nobody/a1")

	// An actor error marked by the header passes through as the app's 200.
	r = e.invoke("Counter", "a1", "actorerror", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "true", r.header.Get("X-DaprErrorResponseHeader"))
	require.Equal(t, `{"error":"boom"}`, r.body)
}

func TestStateAPI(t *testing.T) {
	e := startEnv(t)

	requireAPIError(t, e.getState("Counter", "s1", "k"), 400, "ERR_ACTOR_INSTANCE_MISSING")
	requireAPIError(t, e.transact("Counter", "s1", upsert("k", "1")), 400,
		"ERR_ACTOR_INSTANCE_MISSING")

	require.Equal(t, 200, e.invoke("Counter", "s1", "echo", "").status)
	require.Equal(t, 204, e.getState("Counter", "s1", "k").status)

	require.Equal(t, 204, e.transact("Counter", "s1", upsert("k", `{ "a" : [1, 2] }`)).status)
	r := e.getState("Counter", "s1", "k")
	require.Equal(t, 200, r.status)
	require.Equal(t, `{"a":[1,2]}`, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))

	stale := `[{"operation":"upsert","request":{"key":"k","value":2,"etag":"99"}},
	           {"operation":"upsert","request":{"key":"other","value":3}}]`
	requireAPIError(t, e.transact("Counter", "s1", stale), 500,
		"ERR_ACTOR_STATE_TRANSACTION_SAVE")
	require.Equal(t, `{"a":[1,2]}`, e.getState("Counter", "s1", "k").body)
	require.Equal(t, 204, e.getState("Counter", "s1", "other").status, "all or nothing")

	fresh := `[{"operation":"upsert","request":{"key":"k","value":2,"etag":"1"}}]`
	require.Equal(t, 204, e.transact("Counter", "s1", fresh).status)
	require.Equal(t, "2", e.getState("Counter", "s1", "k").body)

	del := `[{"operation":"delete","request":{"key":"k"}}]`
	require.Equal(t, 204, e.transact("Counter", "s1", del).status)
	require.Equal(t, 204, e.getState("Counter", "s1", "k").status)
}

func TestStateTTL(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "ttl", "echo", "").status)

	body := `[{"operation":"upsert","request":{"key":"k","value":"v",
	          "metadata":{"ttlInSeconds":"1"}}}]`
	require.Equal(t, 204, e.transact("Counter", "ttl", body).status)
	require.Equal(t, `"v"`, e.getState("Counter", "ttl", "k").body)

	require.Eventually(t, func() bool {
		return e.getState("Counter", "ttl", "k").status == 204
	}, 5*time.Second, 50*time.Millisecond, "the value outlived its TTL")
	require.Equal(t, 0, countKeys(t, e, "testapp||Counter||ttl||k"))
}

func countKeys(t *testing.T, e *env, key string) int {
	n, err := e.redis.Client().Exists(context.Background(), key).Result()
	require.NoError(t, err)
	return int(n)
}

func TestOneTurnAtATime(t *testing.T) {
	e := startEnv(t)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			require.Equal(t, 200, e.invoke("Counter", "busy", "slow", "20").status)
		})
	}
	wg.Wait()
	require.Equal(t, 1, e.app.MaxInFlight("Counter/busy"), "calls to one actor overlapped")

	before := e.app.MaxInFlightTotal()
	for i := range 10 {
		wg.Go(func() {
			require.Equal(t, 200, e.invoke("Counter", "many"+strconv.Itoa(i), "slow", "200").status)
		})
	}
	wg.Wait()
	require.Greater(t, e.app.MaxInFlightTotal(), max(before, 1),
		"calls to different actors did not run in parallel")
}

func TestConcurrentIncrementsLoseNothing(t *testing.T) {
	e := startEnv(t)

	const n = 32
	results := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r := e.invoke("Counter", "hot", "inc", "")
			require.Equal(t, 200, r.status, r.body)
			v, err := strconv.Atoi(r.body)
			require.NoError(t, err)
			results <- v
		})
	}
	wg.Wait()
	close(results)

	var seen []int
	for v := range results {
		seen = append(seen, v)
	}
	sort.Ints(seen)
	for i, v := range seen {
		require.Equal(t, i+1, v, "every increment saw a distinct count")
	}
	stored, err := e.redis.Client().HGet(context.Background(),
		"testapp||Counter||hot||count", "data").Result()
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(n), stored)
}

func TestReentrancy(t *testing.T) {
	e := startEnv(t)

	r := e.invoke("Reentrant", "r1", "reenter", "")
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "nested", r.body)

	// A caller-chosen chain id is passed to the app.
	r = e.invoke("Reentrant", "r1", "echo", "", "Dapr-Reentrancy-Id", "chain-1")
	require.Equal(t, "chain-1", r.header.Get("X-Echo-Dapr-Reentrancy-Id"))
}

func TestIdleActorsAreDeactivated(t *testing.T) {
	e := startEnv(t)

	require.Equal(t, 200, e.invoke("Idle", "i1", "echo", "").status)
	require.Equal(t, 200, e.invoke("Counter", "c1", "echo", "").status)
	require.Eventually(t, func() bool {
		return strings.Contains(strings.Join(e.app.Deactivations(), ","), "Idle/i1")
	}, 5*time.Second, 20*time.Millisecond)

	require.NotContains(t, e.app.Deactivations(), "Counter/c1", "default idle timeout is 60m")
	requireAPIError(t, e.getState("Idle", "i1", "k"), 400, "ERR_ACTOR_INSTANCE_MISSING")
}

func TestCacheServesReads(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "c", "echo", "").status)
	require.Equal(t, 204, e.transact("Counter", "c", upsert("k", `"v"`)).status)

	before := e.redis.CommandCalls(t, "hgetall")
	for range 10 {
		require.Equal(t, `"v"`, e.getState("Counter", "c", "k").body)
		require.Equal(t, 204, e.getState("Counter", "c", "missing").status)
	}
	// Only the first read of the missing key reaches Redis.
	require.Equal(t, before+1, e.redis.CommandCalls(t, "hgetall"))
}

func TestReadsStateWrittenByDaprd(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	key := "testapp||Counter||legacy||profile"
	require.NoError(t, e.redis.Client().HSet(ctx, key, "data", `{"name":"ada"}`, "version", 7).Err())

	require.Equal(t, 200, e.invoke("Counter", "legacy", "echo", "").status)
	require.Equal(t, `{"name":"ada"}`, e.getState("Counter", "legacy", "profile").body)

	update := `[{"operation":"upsert","request":{"key":"profile","value":{"name":"bob"},"etag":"7"}}]`
	require.Equal(t, 204, e.transact("Counter", "legacy", update).status)
	fields, err := e.redis.Client().HGetAll(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"data": `{"name":"bob"}`, "version": "8"}, fields)
}

func TestStoreOutageGivesErrorsThenRecovers(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "o", "inc", "").status)

	e.redis.Stop()
	r := e.invoke("Counter", "o", "inc", "")
	require.Equal(t, 500, r.status)
	require.Contains(t, r.body, "ERR_ACTOR_INVOKE_METHOD")
	requireAPIError(t, e.transact("Counter", "o", upsert("k", "1")), 500,
		"ERR_ACTOR_STATE_TRANSACTION_SAVE")

	e.redis.Start()
	require.Eventually(t, func() bool {
		return e.transact("Counter", "o", upsert("k", "1")).status == 204
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, "1", e.getState("Counter", "o", "k").body)
}

func TestMetadata(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "m1", "echo", "").status)
	require.Equal(t, 200, e.invoke("Counter", "m2", "echo", "").status)

	r := e.do(http.MethodGet, "/v1.0/metadata", "")
	require.Equal(t, 200, r.status)
	require.JSONEq(t, `{
	  "id": "testapp", "runtimeVersion": "1.14.0",
	  "actors": [{"type":"Counter","count":2},{"type":"Idle"},{"type":"Reentrant"}],
	  "extended": {"daprRuntimeVersion":"1.14.0","runtime":"troupe"},
	  "actorRuntime": {"runtimeStatus":"RUNNING",
	    "activeActors":[{"type":"Counter","count":2},{"type":"Idle"},{"type":"Reentrant"}],
	    "hostReady":true,"placement":"placement: single-node"}}`, r.body)
}

func TestGracefulShutdownDrainsAndDeactivates(t *testing.T) {
	e := startEnv(t)
	require.Equal(t, 200, e.invoke("Counter", "d1", "echo", "").status)

	slow := make(chan reply, 1)
	go func() { slow <- e.invoke("Counter", "d2", "slow", "300") }()
	require.Eventually(t, func() bool { return e.app.MaxInFlight("Counter/d2") == 1 },
		5*time.Second, 5*time.Millisecond)

	e.stop()
	require.Equal(t, 200, (<-slow).status, "the call in flight finished")
	require.ElementsMatch(t, []string{"Counter/d1", "Counter/d2"}, e.app.Deactivations())
}

func TestEmbeddedStoreSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/actors.db"
	e := startSidecar(t, "", path)
	require.Equal(t, "1", e.invoke("Counter", "p", "inc", "").body)
	require.Equal(t, "2", e.invoke("Counter", "p", "inc", "").body)
	e.stop()

	again := startSidecar(t, "", path)
	require.Equal(t, "3", again.invoke("Counter", "p", "inc", "").body)
}
