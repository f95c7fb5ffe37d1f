package actors

import (
	"encoding/json"
	"fmt"
	"time"
)

// Defaults of the app's actor configuration, as daprd v1.14 applies them.
const (
	DefaultIdleTimeout      = 60 * time.Minute
	DefaultDrainCallTimeout = 60 * time.Second
	DefaultMaxStackDepth    = 32
)

// TypeConfig is the configuration of one actor type.
type TypeConfig struct {
	// IdleTimeout is how long an actor may go without a call before it is deactivated.
	IdleTimeout time.Duration

	// DrainCallTimeout bounds how long a rebalance or shutdown waits for calls in flight.
	DrainCallTimeout time.Duration

	// DrainRebalanced says whether calls in flight are drained when the actor moves.
	DrainRebalanced bool

	// Reentrant lets a call chain that carries the turn's Dapr-Reentrancy-Id re-enter it.
	Reentrant bool

	// MaxStackDepth bounds the depth of a reentrant chain.
	MaxStackDepth int
}

// Config is the app's actor configuration: the types it hosts and their settings.
type Config struct {
	types map[string]TypeConfig
}

// Hosted reports whether the app hosts actorType, with its settings.
func (c Config) Hosted(actorType string) (TypeConfig, bool) {
	tc, ok := c.types[actorType]
	return tc, ok
}

// Types returns the hosted actor types.
func (c Config) Types() []string {
	types := make([]string, 0, len(c.types))
	for t := range c.types {
		types = append(types, t)
	}
	return types
}

// appConfig is the body of GET /dapr/config. Durations are strings; empty or invalid ones
// mean the default, as in daprd.
type appConfig struct {
	Entities []string `json:"entities"`
	typeSettings
	EntitiesConfig []struct {
		Entities []string `json:"entities"`
		typeSettings
	} `json:"entitiesConfig"`
}

type typeSettings struct {
	IdleTimeout      string `json:"actorIdleTimeout"`
	DrainCallTimeout string `json:"drainOngoingCallTimeout"`
	DrainRebalanced  bool   `json:"drainRebalancedActors"`
	Reentrancy       struct {
		Enabled       bool `json:"enabled"`
		MaxStackDepth *int `json:"maxStackDepth"`
	} `json:"reentrancy"`
}

// ParseConfig reads the app's /dapr/config answer. Warnings name settings that were
// ignored; an error means the body is not the expected JSON.
func ParseConfig(body []byte) (cfg Config, warnings []string, err error) {
	var raw appConfig
	if err := json.Unmarshal(body, &raw); err != nil {
		return Config{}, nil, fmt.Errorf("parsing app actor config: %w", err)
	}

	cfg.types = make(map[string]TypeConfig, len(raw.Entities))
	base := raw.typeSettings.resolve(&warnings)
	for _, t := range raw.Entities {
		cfg.types[t] = base
	}

	// An entitiesConfig entry replaces the settings of its types completely: fields it
	// leaves out take the built-in defaults, not the top-level values (daprd does this).
	for _, entry := range raw.EntitiesConfig {
		tc := entry.typeSettings.resolve(&warnings)
		for _, t := range entry.Entities {
			if _, ok := cfg.types[t]; !ok {
				warnings = append(warnings, fmt.Sprintf(
					"entitiesConfig names type %q that is not in entities; ignored", t))
				continue
			}
			cfg.types[t] = tc
		}
	}
	return cfg, warnings, nil
}

func (s typeSettings) resolve(warnings *[]string) TypeConfig {
	tc := TypeConfig{
		IdleTimeout:      parseDuration(s.IdleTimeout, DefaultIdleTimeout, warnings),
		DrainCallTimeout: parseDuration(s.DrainCallTimeout, DefaultDrainCallTimeout, warnings),
		DrainRebalanced:  s.DrainRebalanced,
		Reentrant:        s.Reentrancy.Enabled,
		MaxStackDepth:    DefaultMaxStackDepth,
	}
	if d := s.Reentrancy.MaxStackDepth; d != nil && *d > 0 {
		tc.MaxStackDepth = *d
	}
	return tc
}

func parseDuration(s string, def time.Duration, warnings *[]string) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		*warnings = append(*warnings, fmt.Sprintf("invalid duration %q; using %s", s, def))
		return def
	}
	return d
}
