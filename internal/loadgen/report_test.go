package loadgen

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/internal/testutil"
)

func TestReportFiles(t *testing.T) {
	prefix := writeTestReport(t)

	var rep Report
	data, err := os.ReadFile(prefix + ".json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))

	require.Equal(t, ScenarioSeed, rep.Scenario)
	require.False(t, rep.Passed, "the test run breaks its p99 threshold")
	require.Len(t, rep.Violations, 1)
	require.NotNil(t, rep.Thresholds.MaxP99MS)
	require.Nil(t, rep.Thresholds.MaxErrorRate)

	require.Len(t, rep.Requests, len(sequence))
	for i, r := range rep.Requests {
		require.Equal(t, opNames[i], r.Name)
		require.EqualValues(t, testUsers, r.Count)
		require.Positive(t, r.P99MS)

		var inBuckets uint64
		for _, b := range r.Histogram.Buckets {
			require.LessOrEqual(t, b[0], b[1])
			inBuckets += b[2]
		}
		require.Equal(t, r.Count, inBuckets, r.Name)
	}
	require.EqualValues(t, testUsers*len(sequence), rep.Total.Count)

	var perSecond uint64
	for i, s := range rep.Seconds {
		require.Equal(t, i, s.T)
		perSecond += s.Count
		require.Len(t, s.ByRequest, len(sequence))
	}
	require.Equal(t, rep.Total.Count, perSecond)
}

func TestHTMLReportNeedsNoNetwork(t *testing.T) {
	prefix := writeTestReport(t)
	page, err := os.ReadFile(prefix + ".html")
	require.NoError(t, err)

	// The only URLs are the target, as text, and the SVG namespace, which is never fetched.
	target := regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`)
	urls := regexp.MustCompile(`https?://[\w.:/-]*\w`).FindAllString(string(page), -1)
	for _, u := range urls {
		if u != "http://www.w3.org/2000/svg" && !target.MatchString(u) {
			t.Errorf("report refers to %s", u)
		}
	}
	require.NotRegexp(t, `(?i)<(script|link|img|iframe)[^>]+(src|href)=`, string(page))
	require.NotContains(t, string(page), "@import")

	require.Contains(t, string(page), "setArtifactRemovedFromUserFeed")
	require.Contains(t, string(page), "Thresholds not met")
}

func TestHTMLReportRendersInABrowser(t *testing.T) {
	chromium := testutil.RequireTool(t, "chromium")
	prefix := writeTestReport(t)

	cmd := exec.CommandContext(t.Context(), chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+prefix+".html")
	cmd.WaitDelay = 5 * time.Second
	dom, err := cmd.Output()
	require.NoError(t, err, "chromium --dump-dom")

	body := regexp.MustCompile(`<body[^>]*>`).Find(dom)
	require.NotNil(t, body, "no body in the rendered page")
	require.Contains(t, string(body), `data-rendered="true"`, "the chart script did not finish")
	require.Contains(t, string(body), `data-charts="8"`, "2 timelines and 6 histograms")

	paths := regexp.MustCompile(`data-paths="(\d+)"`).FindSubmatch(body)
	require.NotNil(t, paths)
	n, err := strconv.Atoi(string(paths[1]))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2+len(sequence), "a line per timeline, a bar per histogram")

	require.Regexp(t, `<path [^>]*data-series="p99"`, string(dom))
	require.Regexp(t, `<path [^>]*data-count="\d+"`, string(dom))
}

// writeTestReport runs a short seed run that breaks a p99 threshold of 1µs and returns the
// prefix of its reports.
func writeTestReport(t *testing.T) string {
	t.Helper()

	app := httptest.NewServer(NewFakeApp())
	defer app.Close()
	cfg := testConfig(app.URL)
	cfg.ReportPrefix = filepath.Join(t.TempDir(), "report")
	cfg.Thresholds.MaxP99 = time.Microsecond

	res := mustRun(t, cfg)
	require.False(t, res.Passed())
	return cfg.ReportPrefix
}

func TestReportDirIsCheckedBeforeTheRun(t *testing.T) {
	var served atomic.Int64
	app := NewFakeApp()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		app.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg := testConfig(srv.URL)
	cfg.ReportPrefix = filepath.Join(t.TempDir(), "missing", "report")

	_, err := Run(t.Context(), cfg, io.Discard, io.Discard)
	require.ErrorIs(t, err, ErrUsage)
	require.ErrorContains(t, err, "--report")
	require.Zero(t, served.Load())
}
