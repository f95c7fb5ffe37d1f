package testutil

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
)

// recordingTB records Skipf and Fatalf instead of stopping the test.
type recordingTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}

func TestRequireToolFound(t *testing.T) {
	path := RequireTool(t, "sh")
	assert.NotEmpty(t, path)
}

func TestRequireToolMissing(t *testing.T) {
	const tool = "troupe-no-such-tool"

	t.Setenv(RequireToolsEnv, "")
	rec := &recordingTB{TB: t}
	assert.Empty(t, RequireTool(rec, tool))
	assert.Contains(t, rec.skipped, tool)
	assert.Empty(t, rec.fatal)

	t.Setenv(RequireToolsEnv, "1")
	rec = &recordingTB{TB: t}
	assert.Empty(t, RequireTool(rec, tool))
	assert.Contains(t, rec.fatal, tool)
	assert.Empty(t, rec.skipped)
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)

	l, err := net.Listen("tcp", hostPort(port))
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

func TestParseCommandCalls(t *testing.T) {
	info := "# Commandstats\r\n" +
		"cmdstat_hgetall:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0\r\n" +
		"cmdstat_get:calls=17,usec=1\r\n"

	for cmd, want := range map[string]int64{"hgetall": 3, "GET": 17, "hset": 0} {
		got, err := parseCommandCalls(info, cmd)
		require.NoError(t, err)
		assert.Equal(t, want, got, cmd)
	}
}

func TestRedisStopStart(t *testing.T) {
	ctx := context.Background()
	r := StartRedis(t)
	c := r.Client()

	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	assert.Equal(t, int64(1), r.CommandCalls(t, "set"))

	r.Stop()
	require.Error(t, c.Ping(ctx).Err())

	require.NoError(t, r.Start())
	require.Error(t, r.Start(), "a second Start while running")
	require.NoError(t, c.Ping(ctx).Err())
	assert.Equal(t, int64(0), c.Exists(ctx, "k").Val(), "nothing persisted across a restart")
}

func TestRedisPauseResume(t *testing.T) {
	r := StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), ReadTimeout: 100 * time.Millisecond})
	defer c.Close()

	require.NoError(t, r.Pause())
	require.Error(t, c.Ping(context.Background()).Err())

	require.NoError(t, r.Resume())
	require.NoError(t, c.Ping(context.Background()).Err())
}

func TestWriteRedisComponent(t *testing.T) {
	dir := t.TempDir()
	WriteRedisComponent(t, dir, "127.0.0.1:6390")

	comps, err := components.LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, comps, 1)
	assert.Equal(t, "state.redis", comps[0].Type)
	assert.Equal(t, "127.0.0.1:6390", comps[0].Metadata["redisHost"])
	assert.Equal(t, "true", comps[0].Metadata["actorStateStore"])
}
