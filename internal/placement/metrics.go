package placement

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// stateTimeout bounds how long a scrape waits for the loop's snapshot.
const stateTimeout = 2 * time.Second

// metrics are the placement service's Prometheus metrics, served at GET /metrics on the
// healthz port. Membership and the table version are read from a State snapshot at
// scrape time; dissemination latency is observed as rounds commit.
type metrics struct {
	reg    *prometheus.Registry
	state  func(context.Context) (State, error)
	rounds prometheus.Histogram
}

var (
	membersDesc = prometheus.NewDesc("troupe_placement_server_members",
		"Sidecars in the membership, by whether their stream is connected.",
		[]string{"connected"}, nil)
	versionDesc = prometheus.NewDesc("troupe_placement_server_table_version",
		"Version of the last committed placement table.", nil, nil)
	roundDesc = prometheus.NewDesc("troupe_placement_server_round_in_progress",
		"1 while a dissemination round waits for acknowledgements.", nil, nil)
)

func newMetrics(state func(context.Context) (State, error)) *metrics {
	m := &metrics{
		reg:   prometheus.NewRegistry(),
		state: state,
		rounds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "troupe_placement_server_dissemination_seconds",
			Help: "Time from a round's Prepare to its table's commit.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				2.5, 5, 10, 30},
		}),
	}
	m.reg.MustRegister(m, m.rounds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// committed observes one round's dissemination time.
func (m *metrics) committed(took time.Duration) { m.rounds.Observe(took.Seconds()) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- membersDesc
	ch <- versionDesc
	ch <- roundDesc
}

// Collect reports the snapshot's gauges; nothing when the loop does not answer in time.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	st, err := m.state(ctx)
	if err != nil {
		return
	}

	var connected, disconnected float64
	for _, mem := range st.Members {
		if mem.Connected {
			connected++
		} else {
			disconnected++
		}
	}
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, connected, "true")
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, disconnected, "false")
	ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue,
		float64(st.TableVersion))
	inRound := 0.0
	if st.Round != nil {
		inRound = 1
	}
	ch <- prometheus.MustNewConstMetric(roundDesc, prometheus.GaugeValue, inRound)
}
