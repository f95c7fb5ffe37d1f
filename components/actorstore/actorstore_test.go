package actorstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components"
	"github.com/troupe-dev/troupe/components/redisstore"
	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/components/storetest"
	"github.com/troupe-dev/troupe/internal/testutil"
)

func redisComponent(name, host, actorStore string) components.Component {
	return components.Component{
		Name:     name,
		Type:     TypeRedis,
		Version:  "v1",
		Metadata: map[string]string{"redisHost": host, "actorStateStore": actorStore},
	}
}

func open(t *testing.T, comps []components.Component, path string) (
	components.Store, Description) {
	t.Helper()

	s, desc, err := Open(context.Background(), comps, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, desc
}

func TestOpenEmbeddedWhenNoActorStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "actors.db")
	comps := []components.Component{
		redisComponent("cache", "localhost:1", "false"),
		{Name: "pubsub", Type: "pubsub.redis"},
	}

	s, desc := open(t, comps, path)

	assert.IsType(t, &sqlitestore.Store{}, s)
	assert.Equal(t, Description{Kind: KindEmbedded, Location: path}, desc)
	assert.Equal(t, "embedded sqlite at "+path, desc.String())
	storetest.Upsert(t, s, "k", []byte("v"))
}

// TestOpenRedis goes from a component file to a store.
func TestOpenRedis(t *testing.T) {
	r := testutil.StartRedis(t)
	dir := t.TempDir()
	testutil.WriteRedisComponent(t, dir, r.Addr())
	other := "apiVersion: dapr.io/v1alpha1\nkind: Component\n" +
		"metadata: {name: other}\nspec: {type: state.in-memory}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte(other), 0o600))
	comps, err := components.LoadDir(dir)
	require.NoError(t, err)

	s, desc := open(t, comps, filepath.Join(t.TempDir(), "unused.db"))

	assert.IsType(t, &redisstore.Store{}, s)
	assert.Equal(t, "state.redis component statestore at "+r.Addr(), desc.String())
	storetest.Upsert(t, s, "k", []byte("v"))
	assert.Equal(t, "v", r.Client().HGet(context.Background(), "k", "data").Val())
}

func TestOpenErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actors.db")
	inMemory := components.Component{
		Name:     "mem",
		Type:     "state.in-memory",
		Metadata: map[string]string{"ACTORSTATESTORE": "true"},
	}
	cases := map[string]struct {
		comps []components.Component
		path  string
		want  string
	}{
		"two actor stores": {
			[]components.Component{
				redisComponent("a", "h:1", "true"), redisComponent("b", "h:1", "true"),
			}, path, `"a" and "b" are both marked actorStateStore`,
		},
		"unsupported type": {
			[]components.Component{inMemory}, path,
			`unsupported state store type "state.in-memory"`,
		},
		"unsupported version": {
			[]components.Component{{
				Name: "r", Type: TypeRedis, Version: "v2",
				Metadata: map[string]string{"actorStateStore": "true", "redisHost": "h:1"},
			}}, path, `unsupported state.redis version "v2"`,
		},
		"bad metadata": {
			[]components.Component{redisComponent("r", "", "true")}, path, "redisHost is required",
		},
		"no embedded path": {nil, "", "no embedded store path"},
	}

	for name, c := range cases {
		_, _, err := Open(context.Background(), c.comps, c.path)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}

func TestOpenUnreachableRedis(t *testing.T) {
	host := "127.0.0.1:" + fmt.Sprint(testutil.FreePort(t))
	comps := []components.Component{redisComponent("statestore", host, "true")}
	start := time.Now()

	_, _, err := Open(context.Background(), comps, "")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "state.redis component statestore at "+host)
	assert.Less(t, time.Since(start), 5*time.Second)
}
