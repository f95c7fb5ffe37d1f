package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// benchEnv is what every benchmark mode starts from: a scratch folder that holds a Dapr
// component file naming a fresh redis-server as the actor state store, so any sidecar
// given the folder as its resources path uses that Redis.
type benchEnv struct {
	dir       string
	redisPID  int
	stopRedis func()
}

func newBenchEnv(ctx context.Context, cfg config, name string) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "troupe-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	addr, pid, stop, err := startRedis(ctx, cfg.redis)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	env := &benchEnv{dir: dir, redisPID: pid, stopRedis: stop}

	if err := writeRedisComponent(dir, addr); err != nil {
		env.close()
		return nil, err
	}
	return env, nil
}

func (e *benchEnv) close() {
	e.stopRedis()
	os.RemoveAll(e.dir)
}

func writeRedisComponent(dir, redisAddr string) error {
	doc := fmt.Sprintf("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n"+
		"  name: statestore\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n"+
		"  - name: redisHost\n    value: %s\n  - name: actorStateStore\n    value: \"true\"\n",
		redisAddr)
	return os.WriteFile(filepath.Join(dir, "statestore.yaml"), []byte(doc), 0o600)
}
