package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFlagsTakesADaprdCommandLine(t *testing.T) {
	t.Setenv("DAPR_API_TOKEN", "tok")
	t.Setenv("DAPR_HOST_IP", "10.0.0.7")
	opts, logOpts, unknown, err := parseFlags([]string{
		"--app-id", "shop", "--app-port", "3000", "--dapr-http-port", "3600",
		"--placement-host-address", "p1:50005, p2:50005",
		"--components-path", "./components", "--max-body-size", "8Mi",
		"--enable-mtls", "--sentry-address", "sentry:50001", "--app-max-concurrency=10",
		"--dapr-graceful-shutdown-seconds", "7", "--log-level", "debug",
	})
	require.NoError(t, err)
	require.Equal(t, []string{"enable-mtls", "sentry-address", "app-max-concurrency"}, unknown)
	require.Equal(t, "shop", opts.AppID)
	require.Equal(t, 3000, opts.AppPort)
	require.Equal(t, 3600, opts.HTTPPort)
	require.Equal(t, []string{"p1:50005", "p2:50005"}, opts.PlacementAddresses)
	require.Equal(t, []string{"./components"}, opts.ResourcesPaths)
	require.Equal(t, int64(8<<20), opts.MaxBodySize)
	require.Equal(t, 7*time.Second, opts.ShutdownTimeout)
	require.Equal(t, "tok", opts.APIToken)
	require.Equal(t, "10.0.0.7", opts.HostAddress)
	require.Equal(t, "debug", logOpts.level)
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--app-port", "3000"},                              // no app id
		{"--app-id", "a", "--max-body-size", "lots"},        // bad size
		{"--app-id", "a", "--app-protocol", "grpc"},         // unsupported
		{"--app-id", "a", "--dapr-http-port", "not-a-port"}, // bad number
	} {
		_, _, _, err := parseFlags(args)
		require.Error(t, err, "%v", args)
	}
}
