package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions("localhost:6379")
	require.NoError(t, o.Validate())

	// A call to a hung server waits out a read timeout on every attempt.
	worst := time.Duration(o.MaxRetries+1) * o.ReadTimeout
	assert.LessOrEqual(t, worst, 5*time.Second)
}

func TestParseMetadata(t *testing.T) {
	o, err := ParseMetadata(map[string]string{
		"redisHost":       "redis:6380",
		"RedisPassword":   "secret",
		"redisUsername":   "troupe",
		"redisDB":         "3",
		"enableTLS":       "true",
		"dialTimeout":     "1500ms",
		"readTimeout":     "2",
		"POOLSIZE":        "7",
		"maxRetries":      "-1",
		"actorStateStore": "true",
		"unknownSetting":  "ignored",
	})
	require.NoError(t, err)

	want := Options{
		Host:         "redis:6380",
		Username:     "troupe",
		Password:     "secret",
		DB:           3,
		EnableTLS:    true,
		DialTimeout:  1500 * time.Millisecond,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: DefaultWriteTimeout,
		PoolSize:     7,
		MaxRetries:   -1,
	}
	assert.Equal(t, want, o)
}

func TestParseMetadataErrors(t *testing.T) {
	cases := map[string]struct {
		md   map[string]string
		want string
	}{
		"no host":          {map[string]string{}, "redisHost"},
		"bad db":           {map[string]string{"redisHost": "h:1", "redisDB": "x"}, "redisDB"},
		"bad bool":         {map[string]string{"redisHost": "h:1", "enableTLS": "yes"}, "enableTLS"},
		"bad duration":     {map[string]string{"redisHost": "h:1", "readTimeout": "soon"}, "readTimeout"},
		"no timeout":       {map[string]string{"redisHost": "h:1", "readTimeout": "-1"}, "readTimeout"},
		"huge timeout":     {map[string]string{"redisHost": "h:1", "dialTimeout": "1h"}, "dialTimeout"},
		"cluster":          {map[string]string{"redisHost": "h:1", "redisType": "cluster"}, "redisType"},
		"sentinel":         {map[string]string{"redisHost": "h:1", "failover": "true"}, "failover"},
		"component ttl":    {map[string]string{"redisHost": "h:1", "ttlInSeconds": "60"}, "ttlInSeconds"},
		"negative pool":    {map[string]string{"redisHost": "h:1", "poolSize": "-2"}, "poolSize"},
		"retries below -1": {map[string]string{"redisHost": "h:1", "maxRetries": "-2"}, "maxRetries"},
	}

	for name, c := range cases {
		_, err := ParseMetadata(c.md)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}
