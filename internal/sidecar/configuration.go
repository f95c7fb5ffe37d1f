package sidecar

import (
	"fmt"
	"log/slog"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/troupe-dev/troupe/internal/telemetry"
)

// Configuration is the part of a Dapr Configuration file (kind: Configuration) that
// troupe reads.
type Configuration struct {
	Kind string `json:"kind"`
	Spec struct {
		Features []struct {
			Name    string `json:"name"`
			Enabled bool   `json:"enabled"`
		} `json:"features"`
		Tracing struct {
			SamplingRate string `json:"samplingRate"`
			Otel         struct {
				EndpointAddress string `json:"endpointAddress"`
				IsSecure        bool   `json:"isSecure"`
				Protocol        string `json:"protocol"`
			} `json:"otel"`
		} `json:"tracing"`
	} `json:"spec"`
}

// LoadConfiguration reads a Dapr Configuration file. An empty path gives an empty
// configuration. Sections troupe does not apply are accepted and logged once.
func LoadConfiguration(path string, log *slog.Logger) (Configuration, error) {
	var cfg Configuration
	if path == "" {
		return cfg, nil
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading configuration: %w", err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("parsing configuration %s: %w", path, err)
	}
	if cfg.Kind != "" && cfg.Kind != "Configuration" {
		return cfg, fmt.Errorf("configuration %s: kind is %q, want Configuration", path, cfg.Kind)
	}

	for _, f := range cfg.Spec.Features {
		if f.Name == "ActorStateTTL" {
			continue // troupe always accepts ttlInSeconds on actor state
		}
		log.Warn("configuration feature is not supported; ignored", "feature", f.Name)
	}
	return cfg, nil
}

// TracingConfig returns the tracing section as telemetry reads it; serviceName names the
// sidecar's spans (the app id).
func (c Configuration) TracingConfig(serviceName string) telemetry.TracingConfig {
	t := c.Spec.Tracing
	return telemetry.TracingConfig{
		ServiceName:  serviceName,
		SamplingRate: t.SamplingRate,
		Endpoint:     t.Otel.EndpointAddress,
		Secure:       t.Otel.IsSecure,
		Protocol:     t.Otel.Protocol,
	}
}
