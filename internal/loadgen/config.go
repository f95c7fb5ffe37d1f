package loadgen

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"
)

// Scenario names a kind of load.
type Scenario string

const (
	// ScenarioSeed is the original demo's Gatling simulation: each virtual user takes a random
	// (artifact, user) pair and sends the six requests of the API once, in sequence.
	ScenarioSeed Scenario = "seed"

	// ScenarioStress is a closed loop of Config.Concurrency workers that send the same
	// sequence over and over, over only Config.HotKeys pairs, for throughput and tail latency.
	ScenarioStress Scenario = "stress"
)

// Defaults of Config, which the flags of troupe-load share.
const (
	DefaultTarget           = "http://127.0.0.1:8082"
	DefaultUsers            = 1000
	DefaultRamp             = 5 * time.Minute
	DefaultDuration         = time.Minute
	DefaultDrain            = 30 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultArtifacts        = 500
	DefaultStressWorkers    = 32
	DefaultHotKeys          = 64
	DefaultProgressInterval = 10 * time.Second
	DefaultReportPrefix     = "troupe-load-report"

	// MaxTimeout is the longest request timeout, so that every latency fits the histograms.
	MaxTimeout = 2 * time.Minute

	// NoLimit turns off Thresholds.MaxErrorRate.
	NoLimit = -1.0
)

// ErrUsage reports a configuration that cannot run. troupe-load exits with status 2.
var ErrUsage = errors.New("loadgen: invalid configuration")

// Config describes one run. Start from DefaultConfig; Run fills in the defaults that depend on
// the load model (Duration, Concurrency of stress and Seed) where they are zero.
//
// A seed run follows one of three load models: an open model with Users arriving evenly over
// Ramp (the default), an open model with Rate users arriving per second for Duration, or a
// closed loop of Concurrency users, each starting again when it finishes, for Duration.
type Config struct {
	// Scenario is what to run.
	Scenario Scenario

	// Target is the base URL of the ArtifactState app; requests go to
	// Target + "/artifactState/<endpoint>" and to no other address. It may carry a path
	// prefix, e.g. a sidecar's service invocation URL.
	Target string

	// Users is how many virtual users arrive over Ramp (seed, open model). Each sends six
	// requests.
	Users int

	// Ramp is how long the arrivals of Users are spread over, evenly. Zero starts them all at
	// once. Only with Users, not with Rate or Concurrency.
	Ramp time.Duration

	// Rate, when positive, makes users arrive at this constant rate per second for Duration
	// instead of ramping Users (seed, open model).
	Rate float64

	// Concurrency, when positive, runs a closed loop of this many users for Duration instead
	// of an open model (seed). For stress it is the number of workers (default
	// DefaultStressWorkers).
	Concurrency int

	// Duration bounds how long new users start: the length of a Rate or Concurrency run
	// (default DefaultDuration), and a cap on Ramp (default: Ramp itself).
	Duration time.Duration

	// Drain is how long users that are still running after Duration may take to finish;
	// their requests still running after it are cancelled and not counted.
	Drain time.Duration

	// MaxRequests, when positive, stops the run after this many requests were sent.
	MaxRequests int64

	// Timeout bounds each request, at most MaxTimeout. A request that times out counts as an
	// error.
	Timeout time.Duration

	// Artifacts is how many artifact ids there are, 0 to Artifacts-1.
	Artifacts int

	// HotKeys is how many (artifact, user) pairs the stress workers share; at least
	// Concurrency, since each worker holds a pair of its own while it runs the sequence.
	HotKeys int

	// Seed seeds the choice of pairs; zero picks a random seed.
	Seed uint64

	// ReportPrefix is where the HTML and JSON reports go: ReportPrefix + ".html" and
	// ReportPrefix + ".json". Empty writes none.
	ReportPrefix string

	// ProgressInterval is how often a progress line is printed when the progress output is
	// not a terminal. On a terminal the line is redrawn in place every second.
	ProgressInterval time.Duration

	// Thresholds decide the outcome of the run.
	Thresholds Thresholds
}

// Thresholds are the limits a run must meet to pass, over all requests together.
type Thresholds struct {
	// MaxErrorRate is the largest allowed fraction of requests that failed or answered
	// wrong, from 0 to 1; NoLimit turns it off (zero allows none).
	MaxErrorRate float64

	// MaxP95 and MaxP99 are the largest allowed 95th and 99th percentile latencies; zero
	// turns them off.
	MaxP95 time.Duration
	MaxP99 time.Duration

	// MinRPS is the lowest allowed average number of requests per second; zero turns it off.
	MinRPS float64
}

// DefaultConfig returns the configuration of a seed run as the original simulation: 1,000
// users over five minutes against the app on its local port.
func DefaultConfig() Config {
	return Config{
		Scenario:         ScenarioSeed,
		Target:           DefaultTarget,
		Users:            DefaultUsers,
		Ramp:             DefaultRamp,
		Drain:            DefaultDrain,
		Timeout:          DefaultTimeout,
		Artifacts:        DefaultArtifacts,
		HotKeys:          DefaultHotKeys,
		ReportPrefix:     DefaultReportPrefix,
		ProgressInterval: DefaultProgressInterval,
		Thresholds:       Thresholds{MaxErrorRate: NoLimit},
	}
}

// loadModel is how users arrive.
type loadModel int

const (
	modelRamp   loadModel = iota // Users over Ramp
	modelRate                    // Rate per second for Duration
	modelClosed                  // Concurrency users in a loop for Duration
)

// model returns the load model that c selects.
func (c *Config) model() loadModel {
	switch {
	case c.Scenario == ScenarioStress || c.Concurrency > 0:
		return modelClosed
	case c.Rate > 0:
		return modelRate
	default:
		return modelRamp
	}
}

// describeModel says in words what load c sends.
func (c *Config) describeModel() string {
	switch c.model() {
	case modelRate:
		return fmt.Sprintf("%g users/s for %v", c.Rate, c.Duration)
	case modelClosed:
		return fmt.Sprintf("%d concurrent users for %v", c.Concurrency, c.Duration)
	}

	if c.Duration > 0 && c.Duration < c.Ramp {
		return fmt.Sprintf("%d users over %v, stopped after %v", c.Users, c.Ramp, c.Duration)
	}
	return fmt.Sprintf("%d users over %v", c.Users, c.Ramp)
}

// window returns how long new users start.
func (c *Config) window() time.Duration {
	if c.model() == modelRamp {
		return min(c.Ramp, c.Duration)
	}
	return c.Duration
}

// withDefaults returns c with the defaults that depend on the load model filled in.
func (c Config) withDefaults() Config {
	if c.Scenario == ScenarioStress && c.Concurrency == 0 {
		c.Concurrency = DefaultStressWorkers
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
		if c.model() == modelRamp {
			c.Duration = c.Ramp
		}
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	return c
}

// Validate returns the first problem of c, wrapping ErrUsage, or nil.
func (c *Config) Validate() error {
	if err := c.validateScenario(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err := c.validateBounds(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err := c.Thresholds.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return nil
}

// validateScenario checks the scenario, the target and the load model.
func (c *Config) validateScenario() error {
	switch c.Scenario {
	case ScenarioSeed, ScenarioStress:
	default:
		return fmt.Errorf("unknown scenario %q (want %s or %s)",
			c.Scenario, ScenarioSeed, ScenarioStress)
	}
	if err := validateTarget(c.Target); err != nil {
		return err
	}

	switch {
	case c.Rate > 0 && c.Concurrency > 0:
		return errors.New("--rate and --concurrency choose different load models; give one")
	case c.Scenario == ScenarioStress && c.Rate > 0:
		return errors.New("stress is a closed loop; --rate is for seed")
	case c.Rate < 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate):
		return fmt.Errorf("--rate %v: want a positive number of users per second", c.Rate)
	case c.Concurrency < 0:
		return fmt.Errorf("--concurrency %d: want a positive number", c.Concurrency)
	case c.model() == modelRamp && c.Users < 1:
		return fmt.Errorf("--users %d: want at least 1", c.Users)
	case c.model() == modelRamp && c.Ramp < 0:
		return fmt.Errorf("--ramp %v: want zero or more", c.Ramp)
	}
	return nil
}

// validateBounds checks the limits of the run.
func (c *Config) validateBounds() error {
	switch {
	case c.Duration < 0:
		return fmt.Errorf("--duration %v: want zero (default) or more", c.Duration)
	case c.Drain < 0:
		return fmt.Errorf("--drain %v: want zero or more", c.Drain)
	case c.MaxRequests < 0:
		return fmt.Errorf("--max-requests %d: want zero (no limit) or more", c.MaxRequests)
	case c.Timeout <= 0 || c.Timeout > MaxTimeout:
		return fmt.Errorf("--timeout %v: want more than zero and at most %v", c.Timeout, MaxTimeout)
	case c.Artifacts < 1:
		return fmt.Errorf("--artifacts %d: want at least 1", c.Artifacts)
	case c.Scenario == ScenarioSeed && c.Concurrency > c.Artifacts*len(surnames()):
		return fmt.Errorf("--concurrency %d: want at most --artifacts times %d users, as "+
			"each user holds a pair of its own", c.Concurrency, len(surnames()))
	case c.Scenario == ScenarioStress && c.HotKeys < max(c.Concurrency, 1):
		return fmt.Errorf("--hot-keys %d: want at least --concurrency (%d), as each worker "+
			"holds a pair of its own", c.HotKeys, c.Concurrency)
	case c.Scenario == ScenarioStress && c.HotKeys > c.Artifacts*len(surnames()):
		return fmt.Errorf("--hot-keys %d: want at most --artifacts times %d users",
			c.HotKeys, len(surnames()))
	case c.ProgressInterval <= 0:
		return fmt.Errorf("--progress-interval %v: want more than zero", c.ProgressInterval)
	}
	return nil
}

// validateTarget checks that target is an absolute http(s) URL without query or fragment.
func validateTarget(target string) error {
	u, err := url.Parse(target)
	switch {
	case err != nil:
		return fmt.Errorf("--target: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("--target %q: want an http:// or https:// URL", target)
	case u.Host == "":
		return fmt.Errorf("--target %q: no host", target)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("--target %q: want no query or fragment", target)
	}
	return nil
}

// validate checks that the thresholds are in range.
func (t *Thresholds) validate() error {
	switch {
	case t.MaxErrorRate != NoLimit && (t.MaxErrorRate < 0 || t.MaxErrorRate > 1 ||
		math.IsNaN(t.MaxErrorRate)):
		return fmt.Errorf("--max-error-rate %v: want a fraction from 0 to 1", t.MaxErrorRate)
	case t.MaxP95 < 0 || t.MaxP99 < 0:
		return errors.New("--max-p95 and --max-p99: want zero (no limit) or more")
	case t.MinRPS < 0 || math.IsNaN(t.MinRPS):
		return fmt.Errorf("--min-rps %v: want zero (no limit) or more", t.MinRPS)
	}
	return nil
}
