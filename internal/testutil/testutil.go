// Package testutil holds helpers that tests across troupe share: finding external tools,
// picking free loopback ports and running a real redis-server for the duration of a test.
package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// RequireToolsEnv is the environment variable that turns a missing external tool from a
// skipped test into a failed one. CI sets it to "1".
const RequireToolsEnv = "TROUPE_REQUIRE_TOOLS"

// RequireTool returns the path of the executable name. When it is not on PATH the test is
// skipped, or failed when RequireToolsEnv is "1".
func RequireTool(t testing.TB, name string) string {
	t.Helper()

	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}

	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but not found on PATH: %v", name, RequireToolsEnv, err)
		return ""
	}
	t.Skipf("%s not found on PATH, skipping (set %s=1 to fail instead)", name, RequireToolsEnv)
	return ""
}

// The range FreePort draws from lies below Linux's default ephemeral range (32768-60999),
// so the kernel never hands one of these ports to an outgoing connection: a server that
// a test stops and starts again on its port finds the port still free.
const (
	freePortMin = 20000
	freePortMax = 32767
)

// handedOut remembers the ports FreePort returned, so one test run never gets a port
// twice, even after the first holder released it.
var handedOut sync.Map

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// still take it before the caller binds it, but no other FreePort call in this process
// and no outgoing connection will.
func FreePort(t testing.TB) int {
	t.Helper()

	for range 1000 {
		port := freePortMin + rand.IntN(freePortMax-freePortMin+1)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		l, err := net.Listen("tcp", hostPort(port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatalf("find a free port: none free in %d-%d", freePortMin, freePortMax)
	return 0
}

// hostPort formats a loopback address.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
}
