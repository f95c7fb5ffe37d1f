package loadgen

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsTheOriginalSimulation(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())

	cfg = cfg.withDefaults()
	require.Equal(t, modelRamp, cfg.model())
	require.Equal(t, 1000, cfg.Users)
	require.Equal(t, 5*time.Minute, cfg.window())
	require.Equal(t, "http://127.0.0.1:8082", cfg.Target)
	require.NotZero(t, cfg.Seed)
}

func TestConfigDefaultsFollowTheLoadModel(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate = 10
	require.Equal(t, DefaultDuration, cfg.withDefaults().Duration)

	cfg = DefaultConfig()
	cfg.Scenario = ScenarioStress
	cfg = cfg.withDefaults()
	require.Equal(t, modelClosed, cfg.model())
	require.Equal(t, DefaultStressWorkers, cfg.Concurrency)
	require.Equal(t, DefaultDuration, cfg.Duration)
}

func TestConfigValidateNamesTheProblem(t *testing.T) {
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Scenario = "soak" }, `unknown scenario "soak"`},
		{func(c *Config) { c.Target = "127.0.0.1:8082" }, "--target"},
		{func(c *Config) { c.Target = "ftp://host" }, "want an http:// or https:// URL"},
		{func(c *Config) { c.Target = "http://host/?x=1" }, "no query"},
		{func(c *Config) { c.Rate, c.Concurrency = 1, 1 }, "give one"},
		{func(c *Config) { c.Rate = math.Inf(1) }, "--rate"},
		{func(c *Config) { c.Users = 0 }, "--users 0"},
		{func(c *Config) { c.Ramp = -time.Second }, "--ramp"},
		{func(c *Config) { c.Duration = -time.Second }, "--duration"},
		{func(c *Config) { c.Timeout = 0 }, "--timeout"},
		{func(c *Config) { c.Timeout = time.Hour }, "--timeout"},
		{func(c *Config) { c.MaxRequests = -1 }, "--max-requests"},
		{func(c *Config) { c.Artifacts = 0 }, "--artifacts"},
		{func(c *Config) { c.Concurrency = 600_000 }, "--concurrency"},
		{func(c *Config) { c.Scenario, c.Concurrency, c.HotKeys = ScenarioStress, 8, 4 }, "--hot-keys 4"},
		{func(c *Config) { c.Scenario, c.Rate = ScenarioStress, 5 }, "--rate is for seed"},
		{func(c *Config) { c.Thresholds.MaxErrorRate = 1.5 }, "--max-error-rate"},
		{func(c *Config) { c.Thresholds.MaxP99 = -time.Second }, "--max-p99"},
		{func(c *Config) { c.Thresholds.MinRPS = -1 }, "--min-rps"},
		{func(c *Config) { c.ProgressInterval = 0 }, "--progress-interval"},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		require.ErrorIs(t, err, ErrUsage, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestThresholds(t *testing.T) {
	total := RequestStats{
		Count: 1000, Errors: 5, Wrong: 5,
		P95: 80 * time.Millisecond, P99: 150 * time.Millisecond, RPS: 50,
	}
	tests := []struct {
		name       string
		thresholds Thresholds
		broken     string
	}{
		{"none", Thresholds{MaxErrorRate: NoLimit}, ""},
		{"all met", Thresholds{MaxErrorRate: 0.01, MaxP95: 100 * time.Millisecond,
			MaxP99: 200 * time.Millisecond, MinRPS: 50}, ""},
		{"errors and wrong answers count", Thresholds{MaxErrorRate: 0.009}, "error rate 0.0100"},
		{"no errors allowed", Thresholds{MaxErrorRate: 0}, "5 errors, 5 wrong of 1000"},
		{"p95", Thresholds{MaxErrorRate: NoLimit, MaxP95: 50 * time.Millisecond}, "p95 80.0ms"},
		{"p99", Thresholds{MaxErrorRate: NoLimit, MaxP99: 100 * time.Millisecond}, "p99 150.0ms"},
		{"rate", Thresholds{MaxErrorRate: NoLimit, MinRPS: 60}, "50.0 req/s < 60"},
	}
	for _, tc := range tests {
		got := tc.thresholds.check(&total)
		if tc.broken == "" {
			require.Empty(t, got, tc.name)
			continue
		}
		require.Len(t, got, 1, tc.name)
		require.Contains(t, got[0], tc.broken, tc.name)
	}

	empty := Thresholds{MaxErrorRate: 0.5}
	require.Equal(t, []string{"no request completed"}, empty.check(&RequestStats{}))
}
