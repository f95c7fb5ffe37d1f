package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// redisStartTimeout bounds how long a redis-server may take to answer PING.
	redisStartTimeout = 10 * time.Second

	// redisStartAttempts is how many free ports StartRedis tries, in case another process
	// takes the port between FreePort and redis-server binding it.
	redisStartAttempts = 3
)

// Redis is a redis-server process that a test started on a loopback port, without
// persistence. It is stopped when the test ends.
type Redis struct {
	path string
	port int

	// mu guards the fields below.
	mu     sync.Mutex
	cmd    *exec.Cmd     // nil while stopped
	waited chan struct{} // closed when cmd has exited
	client *redis.Client
}

// StartRedis starts a redis-server on a free loopback port and waits until it answers PING.
// The test is skipped when redis-server is not installed (see RequireTool).
func StartRedis(t testing.TB) *Redis {
	t.Helper()

	r := &Redis{path: RequireTool(t, "redis-server")}
	t.Cleanup(r.close)

	var err error
	for range redisStartAttempts {
		r.port = FreePort(t)
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatalf("start redis-server: %v", err)
	return nil
}

// Addr returns the server's host:port.
func (r *Redis) Addr() string {
	return hostPort(r.port)
}

// Stop kills the server and waits for it to exit. Its port is kept, so Start brings the
// server back at the same address (empty, as nothing is persisted).
func (r *Redis) Stop() {
	r.mu.Lock()
	cmd, waited := r.cmd, r.waited
	r.cmd = nil
	r.mu.Unlock()

	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-waited
}

// Start starts the server again on its port after Stop and waits until it answers PING.
func (r *Redis) Start() error {
	r.mu.Lock()
	running := r.cmd != nil
	r.mu.Unlock()

	if running {
		return errors.New("redis-server is already running")
	}
	return r.start()
}

// Pause freezes the server (SIGSTOP) without closing its connections, as a hung host or a
// network partition would: clients see timeouts rather than refused connections. Resume
// undoes it; Stop also works on a paused server.
func (r *Redis) Pause() error {
	return r.signal(syscall.SIGSTOP)
}

// Resume lets a paused server run again (SIGCONT).
func (r *Redis) Resume() error {
	return r.signal(syscall.SIGCONT)
}

func (r *Redis) signal(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	if r.cmd == nil {
		return errors.New("redis-server is not running")
	}
	return r.cmd.Process.Signal(sig)
}

// Client returns a client connected to the server, for assertions. It is closed when the
// test ends and reconnects by itself after Stop and Start.
func (r *Redis) Client() *redis.Client {
	r.mu.Lock()
	defer r.mu.Unlock()

	if r.client == nil {
		r.client = redis.NewClient(&redis.Options{Addr: r.Addr()})
	}
	return r.client
}

// CommandCalls returns how many times the server has executed cmd (a lowercase command
// name such as "hgetall" or "evalsha"), from INFO commandstats.
func (r *Redis) CommandCalls(t testing.TB, cmd string) int64 {
	t.Helper()

	info, err := r.Client().Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("redis INFO commandstats: %v", err)
	}

	calls, err := parseCommandCalls(info, cmd)
	if err != nil {
		t.Fatalf("redis INFO commandstats: %v", err)
	}
	return calls
}

// parseCommandCalls finds the calls count of cmd in INFO commandstats output, whose lines
// look like "cmdstat_hgetall:calls=3,usec=12,...". An absent command has 0 calls.
func parseCommandCalls(info, cmd string) (int64, error) {
	prefix := "cmdstat_" + strings.ToLower(cmd) + ":"

	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		stats, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), prefix)
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(stats, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				return strconv.ParseInt(v, 10, 64)
			}
		}
		return 0, fmt.Errorf("no calls field in %q", sc.Text())
	}
	return 0, sc.Err()
}

// start launches redis-server on r.port and waits for PING.
func (r *Redis) start() error {
	cmd := exec.Command(r.path,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
	)
	output := &bytes.Buffer{}
	cmd.Stdout = output
	cmd.Stderr = output
	// Do not outlive a test binary that dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", r.path, err)
	}
	waited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(waited)
	}()

	r.mu.Lock()
	r.cmd, r.waited = cmd, waited
	r.mu.Unlock()

	if err := r.awaitPing(waited); err != nil {
		r.Stop()
		return fmt.Errorf("redis-server on port %d: %w; output:\n%s", r.port, err, output)
	}
	return nil
}

// awaitPing polls the server until it answers PING, it exits or redisStartTimeout passes.
func (r *Redis) awaitPing(exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()

	deadline := time.Now().Add(redisStartTimeout)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}

		select {
		case <-exited:
			return errors.New("exited before answering PING")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING reply after %v: %w", redisStartTimeout, err)
		}
	}
}

// close stops the server and closes the assertion client; it runs at test cleanup.
func (r *Redis) close() {
	r.Stop()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		_ = r.client.Close()
		r.client = nil
	}
}
