package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// WriteRedisComponent writes a Dapr component file to dir that makes the Redis at addr the
// actor state store, and returns the file's path.
func WriteRedisComponent(t testing.TB, dir, addr string) string {
	t.Helper()
	component := fmt.Sprintf(`apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: %s
  - name: actorStateStore
    value: "true"
`, addr)
	path := filepath.Join(dir, "statestore.yaml")
	if err := os.WriteFile(path, []byte(component), 0o600); err != nil {
		t.Fatalf("write component: %v", err)
	}
	return path
}
