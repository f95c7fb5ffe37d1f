package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testUsers is how many users the seed runs of these tests ramp.
const testUsers = 30

func TestSeedRampAgainstACorrectApp(t *testing.T) {
	app := httptest.NewServer(NewFakeApp())
	defer app.Close()
	cfg := testConfig(app.URL)
	cfg.Thresholds = Thresholds{MaxErrorRate: 0, MaxP99: time.Second}

	var out bytes.Buffer
	res, err := Run(t.Context(), cfg, &out, io.Discard)
	require.NoError(t, err)

	require.EqualValues(t, testUsers*len(sequence), res.Total.Count)
	require.Zero(t, res.Total.Errors)
	require.Zero(t, res.Total.Wrong)
	require.True(t, res.Passed(), res.Violations)
	for _, rs := range res.Requests {
		require.EqualValues(t, testUsers, rs.Count, rs.Name)
	}
	require.NotEmpty(t, res.Seconds)

	for _, name := range opNames {
		require.Contains(t, out.String(), name)
	}
	require.Contains(t, out.String(), "thresholds: met")
}

func TestSeedArrivalModels(t *testing.T) {
	app := httptest.NewServer(NewFakeApp())
	defer app.Close()

	t.Run("constant rate", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Rate, cfg.Duration = 100, 300*time.Millisecond

		res := mustRun(t, cfg)
		require.EqualValues(t, 30*len(sequence), res.Total.Count, "100 users/s for 0.3 s")
		require.Zero(t, res.Total.Errors+res.Total.Wrong)
	})

	t.Run("closed loop", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Concurrency, cfg.Duration = 4, 200*time.Millisecond

		res := mustRun(t, cfg)
		require.Greater(t, res.Total.Count, uint64(4*len(sequence)))
		require.Zero(t, res.Total.Count%uint64(len(sequence)), "users finish their sequence")
		require.Zero(t, res.Total.Errors+res.Total.Wrong)
	})

	t.Run("duration caps the ramp", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Users, cfg.Ramp, cfg.Duration = 100, 10*time.Second, 200*time.Millisecond

		start := time.Now()
		res := mustRun(t, cfg)
		require.Less(t, time.Since(start), 5*time.Second)
		require.Less(t, res.Total.Count, uint64(100*len(sequence)))
	})
}

func TestStressOnFewKeysFindsNoFalseWrongAnswers(t *testing.T) {
	app := httptest.NewServer(NewFakeApp())
	defer app.Close()

	// As many workers as pairs: without exclusive pairs, workers would overwrite each
	// other's flags between a set and the query that checks it.
	cfg := testConfig(app.URL)
	cfg.Scenario, cfg.Concurrency, cfg.HotKeys = ScenarioStress, 16, 16
	cfg.Duration = 300 * time.Millisecond

	res := mustRun(t, cfg)
	require.Greater(t, res.Total.Count, uint64(16*len(sequence)))
	require.Zero(t, res.Total.Wrong, res.Wrong)
	require.Zero(t, res.Total.Errors, res.Errors)
}

func TestWrongAnswersAreCountedApartFromErrors(t *testing.T) {
	tests := []struct {
		name  string
		at    op
		edit  func(map[string]any)
		kind  string
		wrong uint64
	}{
		{
			name: "read flag never set",
			at:   opIsRead,
			edit: func(a map[string]any) { a["answer"] = false },
			kind: "answer false after setArtifactReadByUser",
		},
		{
			name: "removal from the feed lost",
			at:   opGetAllStates,
			edit: func(a map[string]any) { a["artifactInUserFeed"] = true },
			kind: "artifactInUserFeed true after setArtifactRemovedFromUserFeed",
		},
		{
			name: "answers about another user",
			at:   opIsInFeed,
			edit: func(a map[string]any) { a["userId"] = "Someone" },
			kind: "answered about another artifact or user",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := httptest.NewServer(rewriting(tc.at, tc.edit))
			defer app.Close()
			cfg := testConfig(app.URL)
			cfg.Thresholds.MaxErrorRate = 0.01

			res := mustRun(t, cfg)
			require.EqualValues(t, testUsers, res.Total.Wrong)
			require.Zero(t, res.Total.Errors)
			require.EqualValues(t, testUsers, res.Requests[tc.at].Wrong)
			require.EqualValues(t, testUsers*len(sequence), res.Total.Count,
				"a wrong answer does not stop the user")

			require.Len(t, res.Wrong, 1)
			require.Equal(t, tc.kind, res.Wrong[0].Kind)
			require.Contains(t, res.Wrong[0].Sample, "artifact ")
			require.False(t, res.Passed())
			require.Contains(t, res.Violations[0], "error rate")
		})
	}
}

func TestErrorsAreCountedAndStopTheUser(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		kind    string
	}{
		{
			name: "status 503",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
			},
			kind: "status 503",
		},
		{
			name: "garbage",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "<html>not json</html>")
			},
			kind: "answer is not JSON",
		},
		{
			name: "connection dropped",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
			},
			kind: "connection closed by target",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := httptest.NewServer(failing(opAddToFeed, tc.handler))
			defer app.Close()

			res := mustRun(t, testConfig(app.URL))
			require.EqualValues(t, testUsers, res.Total.Errors)
			require.EqualValues(t, testUsers, res.Requests[opAddToFeed].Errors)
			require.Zero(t, res.Total.Wrong)
			require.Zero(t, res.Requests[opIsInFeed].Count, "users stop at their first error")

			require.Len(t, res.Errors, 1)
			require.Equal(t, tc.kind, res.Errors[0].Kind)
			require.Equal(t, "setArtifactAddedToUserFeed", res.Errors[0].Request)
		})
	}
}

func TestTimeoutsAreErrors(t *testing.T) {
	var hung atomic.Int64
	app := httptest.NewServer(failing(opIsInFeed, func(w http.ResponseWriter, r *http.Request) {
		hung.Add(1)
		// The server notices the client hanging up only once the body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer app.Close()
	cfg := testConfig(app.URL)
	cfg.Users, cfg.Timeout = 3, 100*time.Millisecond

	res := mustRun(t, cfg)
	require.EqualValues(t, 3, res.Requests[opIsInFeed].Errors)
	require.EqualValues(t, 3, hung.Load(), "a request that timed out is not sent again")
	require.Equal(t, "timeout", res.Errors[0].Kind)
	require.GreaterOrEqual(t, res.Requests[opIsInFeed].P50, 100*time.Millisecond)
}

func TestUnusableTargetsStopBeforeTheLoad(t *testing.T) {
	down := closedPort(t)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer garbage.Close()
	wrongShape := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	defer wrongShape.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()

	tests := []struct {
		target string
		want   string
	}{
		{down, "connection refused"},
		{garbage.URL, "does not answer like the ArtifactState app: answer is not JSON"},
		{wrongShape.URL, "does not answer like the ArtifactState app: answer lacks"},
		{notFound.URL, "status 404"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		res, err := Run(t.Context(), testConfig(tc.target), &out, io.Discard)
		require.ErrorIs(t, err, ErrTarget)
		require.ErrorContains(t, err, tc.want)
		require.ErrorContains(t, err, tc.target)
		require.Nil(t, res)
		require.Empty(t, out.String(), "no load and no summary")
	}
}

func TestOnlyTheTargetIsContacted(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		elsewhere.Add(1)
	}))
	defer other.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	t.Setenv("HTTP_PROXY", other.URL)

	_, err := Run(t.Context(), testConfig(redirecting.URL), io.Discard, io.Discard)
	require.ErrorContains(t, err, "status 307")
	require.Zero(t, elsewhere.Load())

	app := httptest.NewServer(NewFakeApp())
	defer app.Close()
	mustRun(t, testConfig(app.URL))
	require.Zero(t, elsewhere.Load(), "HTTP_PROXY is not used")
}

func TestRunIsBounded(t *testing.T) {
	app := httptest.NewServer(NewFakeApp())
	defer app.Close()

	t.Run("max requests", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Concurrency, cfg.Duration, cfg.MaxRequests = 8, time.Minute, 100

		start := time.Now()
		res := mustRun(t, cfg)
		require.EqualValues(t, 100, res.Total.Count)
		require.Less(t, time.Since(start), 10*time.Second)
	})

	t.Run("duration", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Scenario, cfg.Concurrency, cfg.Duration = ScenarioStress, 4, 200*time.Millisecond

		res := mustRun(t, cfg)
		require.Less(t, res.Elapsed, 2*time.Second)
	})

	t.Run("cancelled", func(t *testing.T) {
		cfg := testConfig(app.URL)
		cfg.Concurrency, cfg.Duration = 4, time.Minute
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()

		res, err := Run(ctx, cfg, io.Discard, io.Discard)
		require.NoError(t, err)
		require.Less(t, res.Elapsed, 5*time.Second)
		require.Zero(t, res.Total.Errors, "requests cut off by the end are not errors")
	})
}

func TestProgressIsPlainAndSparseWhenNotATerminal(t *testing.T) {
	app := httptest.NewServer(NewFakeApp())
	defer app.Close()
	cfg := testConfig(app.URL)
	cfg.Concurrency, cfg.Duration = 2, 550*time.Millisecond
	cfg.ProgressInterval = 100 * time.Millisecond

	var progress bytes.Buffer
	_, err := Run(t.Context(), cfg, io.Discard, &progress)
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 4)
	require.LessOrEqual(t, len(lines), 7, "one line per interval")
	require.NotContains(t, progress.String(), "\r")
	require.Regexp(t, `^\ds/550ms  \d+ req/s  \d+ requests  0 errors  0 wrong  p99 \d`, lines[0])
}

func TestSelfTestReportsItsRate(t *testing.T) {
	cfg := DefaultSelfTestConfig()
	cfg.Concurrency, cfg.Duration, cfg.ProgressInterval = 4, 200*time.Millisecond, time.Hour

	var out bytes.Buffer
	res, err := SelfTest(t.Context(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.Greater(t, res.Tool.Total.Count, uint64(0))
	require.Zero(t, res.Tool.Total.Errors+res.Tool.Total.Wrong)
	require.Nil(t, res.Target)
	require.Regexp(t, `selftest: \d+ requests/s sustained by 4 workers`, out.String())
}

func TestSelfTestComparesWithATarget(t *testing.T) {
	var served atomic.Int64
	app := NewFakeApp()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		time.Sleep(2 * time.Millisecond)
		app.ServeHTTP(w, r)
	}))
	defer slow.Close()

	cfg := DefaultSelfTestConfig()
	cfg.Target = slow.URL
	cfg.Concurrency, cfg.Duration, cfg.ProgressInterval = 2, 200*time.Millisecond, time.Hour

	var out bytes.Buffer
	res, err := SelfTest(t.Context(), cfg, &out, io.Discard)
	require.NoError(t, err)
	require.NotNil(t, res.Target)
	require.EqualValues(t, res.Target.Total.Count+1, served.Load(), "the probe and the run")
	require.Greater(t, res.Headroom, 1.0, "a 2 ms handler is slower than the fake app")
	require.InEpsilon(t, res.Tool.Total.RPS/res.Target.Total.RPS, res.Headroom, 1e-9)
	require.Contains(t, out.String(), "requests/s that "+slow.URL+" served")
}

// testConfig returns a short seed run of testUsers against target, quiet and without reports.
func testConfig(target string) Config {
	cfg := DefaultConfig()
	cfg.Target = target
	cfg.Users = testUsers
	cfg.Ramp = 150 * time.Millisecond
	cfg.Drain = 5 * time.Second
	cfg.Timeout = 2 * time.Second
	cfg.Seed = 1
	cfg.ReportPrefix = ""
	cfg.ProgressInterval = time.Hour
	return cfg
}

// mustRun runs cfg and fails the test on an error.
func mustRun(t *testing.T, cfg Config) *Result {
	t.Helper()

	res, err := Run(t.Context(), cfg, io.Discard, io.Discard)
	require.NoError(t, err)
	return res
}

// rewriting returns a fake app that passes its answers to endpoint o through edit.
func rewriting(o op, edit func(map[string]any)) http.Handler {
	app := NewFakeApp()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		if r.URL.Path != apiPrefix+o.String() {
			_, _ = w.Write(rec.Body.Bytes())
			return
		}

		var a map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			panic(err)
		}
		edit(a)
		_ = json.NewEncoder(w).Encode(a)
	})
}

// failing returns a fake app that serves endpoint o with h.
func failing(o op, h http.HandlerFunc) http.Handler {
	app := NewFakeApp()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == apiPrefix+o.String() {
			h(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

// closedPort returns the URL of a loopback port that nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
