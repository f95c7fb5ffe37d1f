// Package testutil holds helpers that tests across troupe share: finding external tools,
// picking free loopback ports and running a real redis-server for the duration of a test.
package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
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

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// take it before the caller binds it; callers that start servers should retry on failure.
func FreePort(t testing.TB) int {
	t.Helper()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()

	return l.Addr().(*net.TCPAddr).Port
}

// hostPort formats a loopback address.
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
}
