package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/app/artifact"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestParseFlagsDefaults(t *testing.T) {
	opts, err := parseFlags(nil, env(nil))
	require.NoError(t, err)

	assert.Equal(t, 8082, opts.HTTPPort)
	assert.Equal(t, 3000, opts.AppPort)
	assert.Equal(t, 3500, opts.DaprHTTPPort)
	assert.Equal(t, "127.0.0.1", opts.DaprHost)
	assert.Equal(t, 10*time.Minute, opts.ActorIdleTimeout)
	assert.Empty(t, opts.DaprAPIToken)
	assert.Empty(t, opts.AppAPIToken)
	assert.NotNil(t, opts.Logger)
}

func TestParseFlagsEnvironmentFallbacks(t *testing.T) {
	vars := env(map[string]string{
		"APP_PORT":       "4000",
		"DAPR_HTTP_PORT": "3601",
		"DAPR_API_TOKEN": "to-sidecar",
		"APP_API_TOKEN":  "to-app",
	})

	opts, err := parseFlags(nil, vars)
	require.NoError(t, err)
	assert.Equal(t, 4000, opts.AppPort)
	assert.Equal(t, 3601, opts.DaprHTTPPort)
	assert.Equal(t, "to-sidecar", opts.DaprAPIToken)
	assert.Equal(t, "to-app", opts.AppAPIToken)

	opts, err = parseFlags([]string{"--app-port", "4001", "--dapr-http-port", "3602"}, vars)
	require.NoError(t, err)
	assert.Equal(t, 4001, opts.AppPort, "the flag wins over APP_PORT")
	assert.Equal(t, 3602, opts.DaprHTTPPort, "the flag wins over DAPR_HTTP_PORT")
}

func TestParseFlagsMapsEveryFlag(t *testing.T) {
	opts, err := parseFlags([]string{
		"--http-port", "9000", "--dapr-host", "10.0.0.2", "--listen-host", "127.0.0.1",
		"--actor-idle-timeout", "90s", "--call-timeout", "5s", "--sidecar-conns", "64",
		"--activation-log-size", "10", "--log-level", "debug",
	}, env(nil))
	require.NoError(t, err)

	want := artifact.DefaultOptions()
	want.HTTPPort, want.DaprHost, want.ListenHost = 9000, "10.0.0.2", "127.0.0.1"
	want.ActorIdleTimeout, want.CallTimeout = 90*time.Second, 5*time.Second
	want.SidecarConns, want.ActivationLogSize = 64, 10
	want.Logger = opts.Logger
	assert.Equal(t, want, opts)
}

func TestParseFlagsRejectsBadInput(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"APP_PORT": "web"}, `APP_PORT="web" is not a port number`},
		{nil, map[string]string{"DAPR_HTTP_PORT": "-1"}, "DAPR_HTTP_PORT"},
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--http-port", "3000"}, nil, "must differ"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, env(tt.env))
		require.Error(t, err, "%v %v", tt.args, tt.env)
		assert.Contains(t, err.Error(), tt.want)
	}
}
