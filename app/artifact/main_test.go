package artifact

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain fails the package when goroutines outlive the tests: every server and client a
// test starts must be stopped by the time it ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := awaitNoGoroutines(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// awaitNoGoroutines waits until only the calling goroutine and the runtime's own remain.
func awaitNoGoroutines(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		others := otherGoroutines()
		if len(others) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines leaked:\n\n%s", len(others),
				strings.Join(others, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// otherGoroutines returns the stacks of goroutines other than the caller's, leaving out
// the signal loop that fuzzing starts.
func otherGoroutines() []string {
	buf := make([]byte, 1<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")

	var others []string
	for _, stack := range stacks[1:] {
		if !strings.Contains(stack, "os/signal.signal_recv") {
			others = append(others, stack)
		}
	}
	return others
}

// doJSON sends a request and decodes a JSON object reply; an empty reply decodes to nil.
func doJSON(t *testing.T, client *http.Client, method, url, body string,
	header http.Header,
) (int, map[string]any) {
	t.Helper()

	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}

	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if len(raw) == 0 {
		return resp.StatusCode, nil
	}

	var reply map[string]any
	require.NoError(t, json.Unmarshal(raw, &reply), "reply %q", raw)
	return resp.StatusCode, reply
}

// decodeError decodes a recorded error reply.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) ErrorBody {
	t.Helper()
	var body ErrorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body %q", rec.Body)
	return body
}
