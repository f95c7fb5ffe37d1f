package telemetry_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMetricsCountAKnownWorkload(t *testing.T) {
	c := startCluster(t, "")
	const actors, callsEach = 3, 4
	for i := range actors {
		for range callsEach {
			c.a.invoke(t, "secret-id-"+strconv.Itoa(i), "x")
		}
	}
	const calls = actors * callsEach

	owner := c.b.scrape(t)
	requireSeries(t, owner, map[string]float64{
		`troupe_actor_calls_total{actor_type="Traced",method="write",outcome="ok"}`:    calls,
		`troupe_actor_call_duration_seconds_count{actor_type="Traced",method="write"}`: calls,
		`troupe_actor_turn_wait_seconds_count{actor_type="Traced"}`:                    calls,
		`troupe_actor_activations_total{actor_type="Traced"}`:                          actors,
		`troupe_actors_active{actor_type="Traced"}`:                                    actors,
		// One write per call, plus each activation's fence claim.
		`troupe_state_operations_total{operation="transact",outcome="ok"}`: calls + actors,
		`troupe_placement_connected`:                                       1,
	})
	require.Positive(t, owner[`troupe_placement_table_version`])
	require.Positive(t, owner[`go_goroutines`], "Go runtime metrics are exported")

	const (
		invokeSeries = `{code="200",protocol="http",` +
			`route="/v1.0/actors/{actorType}/{actorId}/method/{method}"}`
		stateSeries = `{code="204",protocol="http",route="/v1.0/actors/{actorType}/{actorId}/state"}`
	)
	requireSeries(t, owner, map[string]float64{
		"troupe_api_requests_total" + invokeSeries: calls, // forwarded to its internal API
		"troupe_api_requests_total" + stateSeries:  calls, // the app's state writes
	})

	client := c.a.scrape(t)
	requireSeries(t, client, map[string]float64{
		"troupe_api_requests_total" + invokeSeries:                         calls,
		`troupe_actor_forwards_total{actor_type="Traced",outcome="ok"}`:    calls,
		`troupe_actor_forward_duration_seconds_count{actor_type="Traced"}`: calls,
	})
	require.NotContains(t, client,
		`troupe_actor_calls_total{actor_type="Traced",method="write",outcome="ok"}`,
		"the client sidecar delivers no calls")

	pl := scrape(t, c.placementMetrics)
	requireSeries(t, pl, map[string]float64{
		`troupe_placement_server_members{connected="true"}`:  2,
		`troupe_placement_server_members{connected="false"}`: 0,
		`troupe_placement_server_round_in_progress`:          0,
	})
	require.Equal(t, owner[`troupe_placement_table_version`],
		pl[`troupe_placement_server_table_version`],
		"the sidecars route by placement's latest table")
	require.GreaterOrEqual(t, pl[`troupe_placement_server_dissemination_seconds_count`], 2.0,
		"one round per join")

	for _, series := range []map[string]float64{owner, client} {
		for name := range series {
			require.NotContains(t, name, "secret-id", "actor ids never become label values")
		}
	}
}

func requireSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		require.Contains(t, got, name, "series missing; have %s", names(got, "troupe_"))
		require.Equal(t, v, got[name], name)
	}
}

func names(series map[string]float64, prefix string) string {
	var out []string
	for name := range series {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsCountReminders(t *testing.T) {
	c := startCluster(t, "")
	req, err := http.NewRequest(http.MethodPost,
		c.b.url+"/v1.0/actors/"+tracedType+"/r1/reminders/once", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	fired := `troupe_reminders_fired_total{actor_type="Traced",outcome="ok"}`
	require.Eventually(t, func() bool { return c.b.scrape(t)[fired] == 1 },
		10*time.Second, 20*time.Millisecond, "the reminder did not fire")
	requireSeries(t, c.b.scrape(t), map[string]float64{
		`troupe_reminders_registered_total{actor_type="Traced"}`:                     1,
		`troupe_actor_calls_total{actor_type="Traced",method="remind",outcome="ok"}`: 1,
	})
}
