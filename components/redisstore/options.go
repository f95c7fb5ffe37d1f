package redisstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults for Options. They are shorter than go-redis's own so that a Redis outage turns
// into an error within a few seconds instead of a hang.
const (
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = 2 * time.Second
	DefaultWriteTimeout = 2 * time.Second
	DefaultMaxRetries   = 1

	// MaxTimeout bounds each timeout, so that a misconfigured component cannot make a
	// sidecar hang on an unreachable Redis.
	MaxTimeout = 30 * time.Second
)

// Options configure a Store. Field comments give the Dapr component metadata name.
type Options struct {
	// Host is the server's host:port (redisHost). Required.
	Host string

	// Username and Password authenticate with AUTH (redisUsername, redisPassword).
	Username string
	Password string

	// DB is the logical database selected after connecting (redisDB).
	DB int

	// EnableTLS connects over TLS (enableTLS). As in Dapr, the server's certificate is not
	// verified.
	EnableTLS bool

	// DialTimeout, ReadTimeout and WriteTimeout bound one connection attempt and one socket
	// read or write (dialTimeout, readTimeout, writeTimeout). Longer values make an
	// unreachable Redis take longer to report; each must be in (0, MaxTimeout].
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// PoolSize is the most connections kept open (poolSize); 0 means 10 per CPU.
	PoolSize int

	// MaxRetries is how often a command that failed on the network is retried
	// (maxRetries, or Dapr's older redisMaxRetries); -1 disables retries. Each retry
	// adds up to a read timeout to how long an outage takes to report.
	MaxRetries int
}

// DefaultOptions returns Options for a server at host with the default timeouts.
func DefaultOptions(host string) Options {
	return Options{
		Host:         host,
		DialTimeout:  DefaultDialTimeout,
		ReadTimeout:  DefaultReadTimeout,
		WriteTimeout: DefaultWriteTimeout,
		MaxRetries:   DefaultMaxRetries,
	}
}

// Validate returns the first field that is out of range.
func (o Options) Validate() error {
	if o.Host == "" {
		return errors.New("redisHost is required")
	}
	if o.DB < 0 {
		return fmt.Errorf("redisDB %d is negative", o.DB)
	}
	if o.PoolSize < 0 {
		return fmt.Errorf("poolSize %d is negative", o.PoolSize)
	}
	if o.MaxRetries < -1 {
		return fmt.Errorf("maxRetries %d is below -1", o.MaxRetries)
	}

	timeouts := []struct {
		name string
		d    time.Duration
	}{
		{"dialTimeout", o.DialTimeout},
		{"readTimeout", o.ReadTimeout},
		{"writeTimeout", o.WriteTimeout},
	}
	for _, to := range timeouts {
		if to.d <= 0 || to.d > MaxTimeout {
			return fmt.Errorf("%s %v is outside (0, %v]", to.name, to.d, MaxTimeout)
		}
	}
	return nil
}

// ParseMetadata builds Options from a state.redis component's metadata, using Dapr's names
// matched without regard to case, as daprd does. Unknown names are ignored; settings
// troupe cannot honour (cluster or sentinel mode, a component-wide TTL) are errors rather
// than silently dropped.
func ParseMetadata(metadata map[string]string) (Options, error) {
	md := make(map[string]string, len(metadata))
	for k, v := range metadata {
		md[strings.ToLower(k)] = v
	}

	o := DefaultOptions(md["redishost"])
	o.Username = md["redisusername"]
	o.Password = md["redispassword"]

	if err := checkUnsupported(md); err != nil {
		return Options{}, err
	}

	var err error
	parse := func(name string, dst any) {
		v, ok := md[strings.ToLower(name)]
		if !ok || v == "" || err != nil {
			return
		}
		if perr := parseValue(v, dst); perr != nil {
			err = fmt.Errorf("metadata %s: %w", name, perr)
		}
	}
	parse("redisDB", &o.DB)
	parse("enableTLS", &o.EnableTLS)
	parse("dialTimeout", &o.DialTimeout)
	parse("readTimeout", &o.ReadTimeout)
	parse("writeTimeout", &o.WriteTimeout)
	parse("poolSize", &o.PoolSize)
	parse("redisMaxRetries", &o.MaxRetries)
	parse("maxRetries", &o.MaxRetries)
	if err != nil {
		return Options{}, err
	}

	return o, o.Validate()
}

// checkUnsupported rejects metadata that asks for behaviour this store does not have. The
// keys of md are lowercase.
func checkUnsupported(md map[string]string) error {
	if t := md["redistype"]; t != "" && !strings.EqualFold(t, "node") {
		return fmt.Errorf("redisType %q is not supported (only node)", t)
	}
	if f, _ := strconv.ParseBool(md["failover"]); f {
		return errors.New("failover (sentinel) is not supported")
	}
	if ttl := md["ttlinseconds"]; ttl != "" {
		return errors.New("a component-wide ttlInSeconds is not supported for the actor store")
	}
	return nil
}

// parseValue parses s into *dst, which is an *int, *bool or *time.Duration. Durations are
// Go durations ("1500ms") or whole seconds ("2"), as Dapr accepts.
func parseValue(s string, dst any) error {
	s = strings.TrimSpace(s)

	switch p := dst.(type) {
	case *int:
		v, err := strconv.Atoi(s)
		*p = v
		return err
	case *bool:
		v, err := strconv.ParseBool(s)
		*p = v
		return err
	case *time.Duration:
		return parseDuration(s, p)
	default:
		panic(fmt.Sprintf("redisstore: cannot parse into %T", dst))
	}
}

// parseDuration parses a Go duration or a whole number of seconds.
func parseDuration(s string, dst *time.Duration) error {
	if d, err := time.ParseDuration(s); err == nil {
		*dst = d
		return nil
	}

	secs, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("%q is neither a duration nor whole seconds", s)
	}
	*dst = time.Duration(secs) * time.Second
	return nil
}
