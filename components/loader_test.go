package components

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
}

const redisComponent = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisDB
    value: 2
  - name: enableTLS
    value: false
  - name: actorStateStore
    value: "true"
  - name: maxLen
    value: 9007199254740993
  - name: redisPassword
    value: ""
scopes:
- orders
`

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "statestore.yaml", redisComponent)
	writeFile(t, dir, "multi.yml", `# leading comment
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  tracing:
    samplingRate: "1"
--- # pubsub
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
---
`)
	writeFile(t, dir, "notes.txt", "kind: Component\n")

	comps, err := LoadDir(dir)
	require.NoError(t, err)

	want := []Component{
		{Name: "pubsub", Type: "pubsub.redis", Version: "v1", Metadata: map[string]string{}},
		{
			Name:    "statestore",
			Type:    "state.redis",
			Version: "v1",
			Metadata: map[string]string{
				"redisHost":       "localhost:6379",
				"redisDB":         "2",
				"enableTLS":       "false",
				"actorStateStore": "true",
				"maxLen":          "9007199254740993",
				"redisPassword":   "",
			},
			Scopes: []string{"orders"},
		},
	}
	assert.Equal(t, want, comps)
}

func TestLoadDirSeveralDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeFile(t, a, "one.yaml", redisComponent)
	writeFile(t, b, "two.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: other}
spec: {type: state.in-memory}
`)

	comps, err := LoadDir(a, b)
	require.NoError(t, err)
	require.Len(t, comps, 2)
	assert.Equal(t, "statestore", comps[0].Name)
	assert.Equal(t, "other", comps[1].Name)

	writeFile(t, b, "dup.yaml", redisComponent)
	_, err = LoadDir(a, b)
	assert.ErrorContains(t, err, `component "statestore" is defined in both`)
}

func TestLoadDirErrors(t *testing.T) {
	cases := map[string]struct {
		doc  string
		want string
	}{
		"secret ref": {`apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: s}
spec:
  type: state.redis
  metadata:
  - name: redisPassword
    secretKeyRef: {name: redis, key: password}
`, "secretKeyRef is not supported"},
		"api version": {`apiVersion: dapr.io/v2
kind: Component
metadata: {name: s}
spec: {type: state.redis}
`, "apiVersion"},
		"no name":  {"apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: {type: x}\n", "metadata.name"},
		"no type":  {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\n", "spec.type"},
		"bad yaml": {"kind: Component\n  name: : x\n\t", "parse yaml"},
		"map value": {`apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: s}
spec:
  type: state.redis
  metadata:
  - name: redisHost
    value: {host: x}
`, "must be a string, number or bool"},
		"unnamed entry": {`apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: s}
spec:
  type: state.redis
  metadata:
  - value: x
`, "has no name"},
	}

	for name, c := range cases {
		dir := t.TempDir()
		writeFile(t, dir, "c.yaml", "---\n"+c.doc)

		_, err := LoadDir(dir)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
		assert.Contains(t, err.Error(), "c.yaml: document 2", name)
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, err := LoadDir(filepath.Join(t.TempDir(), "nope"))

	assert.True(t, errors.Is(err, fs.ErrNotExist), "got %v", err)
}

func TestComponentHelpers(t *testing.T) {
	c := Component{Metadata: map[string]string{"ActorStateStore": "TRUE"}}
	v, ok := c.MetadataValue("actorStateStore")
	assert.True(t, ok)
	assert.Equal(t, "TRUE", v)
	_, ok = c.MetadataValue("redisHost")
	assert.False(t, ok)

	assert.True(t, c.InScope("any"))
	c.Scopes = []string{"a", "b"}
	assert.True(t, c.InScope("b"))
	assert.False(t, c.InScope("c"))
}

func TestSplitDocuments(t *testing.T) {
	docs := splitDocuments([]byte("a: 1\n---\nb: 2\n--- # c\nc: 3\n---x: 4\n"))

	require.Len(t, docs, 3)
	assert.Equal(t, "a: 1\n", string(docs[0]))
	assert.Equal(t, "b: 2\n", string(docs[1]))
	assert.Equal(t, "c: 3\n---x: 4\n", string(docs[2]))
}
