package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/loadgen"
)

func TestExitStatus(t *testing.T) {
	app := httptest.NewServer(loadgen.NewFakeApp())
	defer app.Close()
	wrong := httptest.NewServer(alwaysUnread(loadgen.NewFakeApp()))
	defer wrong.Close()
	quick := []string{"--users", "20", "--ramp", "100ms", "--report", ""}

	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"thresholds met", append([]string{"seed", "--target", app.URL,
			"--max-error-rate", "0", "--max-p99", "10s"}, quick...), exitPassed, ""},
		{"no thresholds", append([]string{"seed", "--target", wrong.URL}, quick...),
			exitPassed, ""},
		{"wrong answers break the error rate", append([]string{"seed", "--target", wrong.URL,
			"--max-error-rate", "0.01"}, quick...), exitFailed, ""},
		{"rate too low", append([]string{"seed", "--target", app.URL,
			"--min-rps", "1e12"}, quick...), exitFailed, ""},
		{"stress", []string{"stress", "--target", app.URL, "--duration", "100ms",
			"--concurrency", "2", "--report", "", "--max-error-rate", "0"}, exitPassed, ""},
		{"target down", append([]string{"seed", "--target", downURL(t)}, quick...),
			exitUsage, "connection refused"},
		{"no command", nil, exitUsage, "no command"},
		{"unknown command", []string{"soak"}, exitUsage, `unknown command "soak"`},
		{"unknown flag", []string{"seed", "--userz", "1"}, exitUsage, "-userz"},
		{"bad value", []string{"seed", "--timeout", "0s"}, exitUsage, "--timeout 0s"},
		{"extra argument", []string{"seed", "now"}, exitUsage, `unexpected argument "now"`},
		{"selftest with a bad target", []string{"selftest", "--target", "localhost:1"},
			exitUsage, "--target"},
		{"help", []string{"help"}, exitPassed, "usage: troupe-load"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(t.Context(), tc.args, &stdout, &stderr)
			require.Equal(t, tc.status, status, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			require.Contains(t, stderr.String(), tc.stderr)
			require.NotContains(t, stderr.String(), "loadgen:")
		})
	}
}

func TestSeedWritesReportsAndSummary(t *testing.T) {
	app := httptest.NewServer(loadgen.NewFakeApp())
	defer app.Close()
	prefix := filepath.Join(t.TempDir(), "seed")

	var stdout, stderr bytes.Buffer
	status := run(t.Context(), []string{"seed", "--target", app.URL, "--users", "10",
		"--ramp", "50ms", "--report", prefix, "--max-p99", "1ns"}, &stdout, &stderr)
	require.Equal(t, exitFailed, status)

	out := stdout.String()
	require.Contains(t, out, "10 users over 50ms against "+app.URL)
	require.Contains(t, out, "thresholds: NOT met")
	require.Regexp(t, `(?m)^\s*all\s+60\s+0\s+0\s`, out)
	require.Contains(t, out, "reports: "+prefix+".html "+prefix+".json")
	for _, ext := range []string{".html", ".json"} {
		fi, err := os.Stat(prefix + ext)
		require.NoError(t, err)
		require.Positive(t, fi.Size())
	}
}

func TestSelfTest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), []string{"selftest", "--duration", "100ms", "--concurrency", "2"},
		&stdout, &stderr)
	require.Equal(t, exitPassed, status, stderr.String())
	require.Contains(t, stdout.String(), "requests/s sustained by 2 workers")
}

// alwaysUnread serves like h but answers every isArtifactReadByUser with false.
func alwaysUnread(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/isArtifactReadByUser") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		_, _ = w.Write(bytes.Replace(rec.Body.Bytes(), []byte(`"answer":true`),
			[]byte(`"answer":false`), 1))
	})
}

// downURL returns the URL of a loopback port that nothing listens on.
func downURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
