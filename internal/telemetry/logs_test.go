package telemetry_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// logKey is the spelling of every log key: snake_case.
var logKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func TestSidecarsAreQuietAtInfo(t *testing.T) {
	c := startCluster(t, "")
	before := map[*node]string{c.a: c.a.logs.String(), c.b: c.b.logs.String()}

	for i := range 20 {
		c.a.invoke(t, "quiet-"+strconv.Itoa(i%4), "x")
	}

	for n, earlier := range before {
		require.Equal(t, earlier, n.logs.String(), "no line per call at info level")
		requireLogVocabulary(t, earlier)
	}
}

// requireLogVocabulary checks that every JSON line uses snake_case keys and the shared
// names for the things troupe logs about.
func requireLogVocabulary(t *testing.T, logs string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	require.NotEmpty(t, lines, "start-up is logged")
	for _, line := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		for key := range rec {
			if key == "time" || key == "level" || key == "msg" {
				continue
			}
			require.Regexp(t, logKey, key, line)
			require.NotContains(t, []string{"actorType", "actorID", "actor-type", "table-version",
				"tableVersion", "traceID", "trace-id"}, key, line)
		}
	}
}
