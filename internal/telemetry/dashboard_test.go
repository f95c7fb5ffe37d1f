package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/troupe-dev/troupe/components/sqlitestore"
	"github.com/troupe-dev/troupe/internal/appchannel"
	"github.com/troupe-dev/troupe/internal/telemetry"
)

// dashboardPath is the Grafana dashboard the chart ships.
var dashboardPath = filepath.Join("..", "..", "charts", "troupe", "dashboards", "troupe.json")

// metricName matches the metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:troupe|go|process)_[a-z_]+\b`)

func TestDashboardQueriesExportedMetrics(t *testing.T) {
	exported := sidecarMetricNames(t)
	_, placementHTTP := startPlacement(t)
	for name := range scrape(t, "http://"+placementHTTP+"/metrics") {
		exported[seriesName(name)] = true
	}

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	data, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &dash))

	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				require.True(t, exported[name], "panel %q queries %s, which nothing exports",
					p.Title, name)
				queried++
			}
		}
	}
	require.Greater(t, queried, 20)
}

// sidecarMetricNames exercises every sidecar metric once and returns the names gathered,
// histogram series included (_bucket, _count, _sum).
func sidecarMetricNames(t *testing.T) map[string]bool {
	tel, err := telemetry.New(context.Background(), telemetry.Config{Metrics: true})
	require.NoError(t, err)
	ctx := context.Background()

	obs := tel.Observer()
	obs.Activated("T")
	obs.Deactivated("T")
	obs.TurnWaited(ctx, "T", "1", time.Now(), nil)
	_, end := obs.StartForward(ctx, "T", "1", "127.0.0.1:1")
	end(200, nil)
	for _, kind := range []string{telemetry.Reminder, telemetry.Timer} {
		obs.Registered(kind, "T")
		_, fired := obs.StartFiring(ctx, kind, "T", "1", "n")
		fired(errors.New("app answered 500"))
	}
	_, err = tel.WrapApp(okApp{}, "127.0.0.1:1").Invoke(ctx,
		&appchannel.Request{ActorType: "T", ActorID: "1", Path: "m"})
	require.NoError(t, err)
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "s.db"))
	require.NoError(t, err)
	defer store.Close()
	_, _, err = tel.WrapStore(store, "sqlite").Get(ctx, "k")
	require.NoError(t, err)
	router := mux.NewRouter()
	router.Use(tel.HTTPMiddleware())
	router.HandleFunc("/v1.0/healthz", func(http.ResponseWriter, *http.Request) {})
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1.0/healthz", nil))
	tel.Metrics.ObserveRuntime(telemetry.RuntimeSource{
		ActiveCounts:    func() map[string]int { return map[string]int{"T": 1} },
		PlacementStatus: func() (uint64, bool, bool) { return 3, true, true },
	})

	families, err := tel.Metrics.Registry().Gather()
	require.NoError(t, err)
	names := make(map[string]bool)
	for _, f := range families {
		names[f.GetName()] = true
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			names[f.GetName()+suffix] = true
		}
	}
	return names
}

// seriesName is the metric name of a scraped series "name{labels}".
func seriesName(series string) string {
	name, _, _ := strings.Cut(series, "{")
	return name
}

type okApp struct{}

func (okApp) Invoke(context.Context, *appchannel.Request) (*appchannel.Response, error) {
	return &appchannel.Response{Status: 200}, nil
}

func (okApp) Deactivate(context.Context, string, string) error { return nil }
