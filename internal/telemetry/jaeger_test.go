package telemetry_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

// jaegerEnv names the Jaeger all-in-one binary the end-to-end test runs; scripts/jaeger.sh
// builds one. Without it the test looks for jaeger-all-in-one on PATH.
const jaegerEnv = "TROUPE_JAEGER"

// jaeger is a running Jaeger all-in-one with in-memory storage, every port on loopback.
type jaeger struct {
	otlpGRPC string // OTLP/gRPC receiver, host:port
	queryURL string // query API, http://host:port
	logPath  string
}

func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	bin := jaegerBinary(t)
	port := func() string { return "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)) }
	j := &jaeger{otlpGRPC: port(), logPath: filepath.Join(t.TempDir(), "jaeger.log")}
	query := port()
	j.queryURL = "http://" + query

	logFile, err := os.Create(j.logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin,
		"--collector.otlp.grpc.host-port="+j.otlpGRPC,
		"--collector.otlp.http.host-port="+port(),
		"--collector.grpc-server.host-port="+port(),
		"--collector.http-server.host-port="+port(),
		"--query.http-server.host-port="+query,
		"--query.grpc-server.host-port="+port(),
		"--admin.http.host-port="+port())
	// Jaeger traces itself unless told not to; keep its own spans out of the way.
	cmd.Env = append(os.Environ(), "SPAN_STORAGE_TYPE=memory", "OTEL_TRACES_SAMPLER=always_off",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+j.otlpGRPC)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	})

	require.Eventually(t, func() bool {
		resp, err := http.Get(j.queryURL + "/api/services")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "jaeger did not start; see %s", j.logPath)
	return j
}

func jaegerBinary(t *testing.T) string {
	path := os.Getenv(jaegerEnv)
	if path == "" {
		if _, err := exec.LookPath("jaeger-all-in-one"); err != nil {
			t.Logf("%s names a Jaeger binary; %s=\"$(scripts/jaeger.sh)\" builds one",
				jaegerEnv, jaegerEnv)
		}
		return testutil.RequireTool(t, "jaeger-all-in-one")
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("%s=%s is not an executable: %v", jaegerEnv, path, err)
	}
	return path
}

// jaegerTrace is the query API's answer for one trace.
type jaegerTrace struct {
	Data []struct {
		Spans []struct {
			TraceID       string `json:"traceID"`
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			References    []struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			} `json:"references"`
			StartTime int64  `json:"startTime"` // microseconds
			Duration  int64  `json:"duration"`  // microseconds
			ProcessID string `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// trace reads traceID back from Jaeger's query API; nil while Jaeger does not know it.
func (j *jaeger) trace(t *testing.T, traceID string) []span {
	resp, err := http.Get(j.queryURL + "/api/traces/" + traceID)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var body jaegerTrace
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Len(t, body.Data, 1, "one trace")
	tr := body.Data[0]

	spans := make([]span, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		parent := ""
		for _, ref := range s.References {
			if ref.RefType == "CHILD_OF" {
				parent = ref.SpanID
			}
		}
		start := time.UnixMicro(s.StartTime)
		spans = append(spans, span{
			traceID:  s.TraceID,
			id:       s.SpanID,
			parentID: parent,
			name:     s.OperationName,
			service:  tr.Processes[s.ProcessID].ServiceName,
			start:    start,
			end:      start.Add(time.Duration(s.Duration) * time.Microsecond),
		})
	}
	return spans
}

func TestForwardedCallTraceInJaeger(t *testing.T) {
	j := startJaeger(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	c := startCluster(t, fmt.Sprintf("  tracing:\n    samplingRate: \"1\"\n    otel:\n"+
		"      endpointAddress: %s\n      isSecure: false\n      protocol: grpc\n", j.otlpGRPC))

	header, traceID, callerID := newTraceparent()
	c.a.invoke(t, "j1", "hello", "traceparent", header)

	var spans []span
	require.Eventually(t, func() bool {
		spans = j.trace(t, traceID)
		return len(spans) >= len(forwardedWriteTree)+1
	}, 20*time.Second, 100*time.Millisecond, "jaeger did not return the whole trace; see %s",
		j.logPath)
	requireTree(t, spans, traceID, callerID, httpInvokeSpan, forwardedWriteTree)
}
