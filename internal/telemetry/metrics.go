package telemetry

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/troupe-dev/troupe/components"
)

// maxMethodsPerType bounds the method label values kept per actor type; further methods
// are counted as otherMethod, so a client inventing method names cannot grow the series
// without bound.
const maxMethodsPerType = 100

// otherMethod is the method label of calls past maxMethodsPerType.
const otherMethod = "_other"

// Outcomes of an actor call, the outcome label of troupe_actor_calls_total.
const (
	OutcomeOK         = "ok"          // the app answered 200
	OutcomeActorError = "actor_error" // 200 with X-DaprErrorResponseHeader
	OutcomeAppError   = "app_error"   // any other status
	OutcomeError      = "error"       // no answer: transport error or timeout

	// OutcomeRejected is a state write the store refused (ETag mismatch or fenced).
	OutcomeRejected = "rejected"
)

// latencyBuckets suit calls that take from a fraction of a millisecond to seconds.
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10,
}

// Metrics are a sidecar's Prometheus metrics, in a registry of their own (several
// sidecars may share a process). A nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	activations   *prometheus.CounterVec
	deactivations *prometheus.CounterVec
	calls         *prometheus.CounterVec
	callSeconds   *prometheus.HistogramVec
	turnWait      *prometheus.HistogramVec
	forwards      *prometheus.CounterVec
	forwardSecs   *prometheus.HistogramVec
	stateOps      *prometheus.CounterVec
	stateSeconds  *prometheus.HistogramVec
	apiRequests   *prometheus.CounterVec
	apiSeconds    *prometheus.HistogramVec
	registered    map[string]*prometheus.CounterVec // by schedule kind
	fired         map[string]*prometheus.CounterVec // by schedule kind

	methods methodSet
	runtime runtimeCollector
}

// NewMetrics registers the sidecar's metrics and the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.activations = m.counter("troupe_actor_activations_total",
		"Actor activations on this sidecar.", "actor_type")
	m.deactivations = m.counter("troupe_actor_deactivations_total",
		"Actor deactivations on this sidecar (idle, moved or shutdown).", "actor_type")
	m.calls = m.counter("troupe_actor_calls_total",
		"Actor calls delivered to the app by this sidecar, by outcome.",
		"actor_type", "method", "outcome")
	m.callSeconds = m.histogram("troupe_actor_call_duration_seconds",
		"Time the app took to answer an actor call.", "actor_type", "method")
	m.turnWait = m.histogram("troupe_actor_turn_wait_seconds",
		"Time a call waited for its actor's turn.", "actor_type")
	m.forwards = m.counter("troupe_actor_forwards_total",
		"Calls forwarded to the sidecar that owns the actor, by outcome.",
		"actor_type", "outcome")
	m.forwardSecs = m.histogram("troupe_actor_forward_duration_seconds",
		"Round trip of a call forwarded to the owning sidecar.", "actor_type")
	m.stateOps = m.counter("troupe_state_operations_total",
		"Actor state store operations, by outcome.", "operation", "outcome")
	m.stateSeconds = m.histogram("troupe_state_operation_duration_seconds",
		"Latency of actor state store operations.", "operation")
	m.apiRequests = m.counter("troupe_api_requests_total",
		"Requests to the Dapr HTTP and gRPC APIs (internal forwards included), by route "+
			"template or RPC and status code.", "protocol", "route", "code")
	m.apiSeconds = m.histogram("troupe_api_request_duration_seconds",
		"Time the sidecar took to answer an API request, forwards and turn waits included.",
		"protocol", "route")
	m.registered = map[string]*prometheus.CounterVec{
		Reminder: m.counter("troupe_reminders_registered_total",
			"Reminders created or replaced through this sidecar.", "actor_type"),
		Timer: m.counter("troupe_timers_registered_total",
			"Timers created or replaced on this sidecar.", "actor_type"),
	}
	m.fired = map[string]*prometheus.CounterVec{
		Reminder: m.counter("troupe_reminders_fired_total",
			"Reminder firings delivered to the app, by outcome.", "actor_type", "outcome"),
		Timer: m.counter("troupe_timers_fired_total",
			"Timer firings delivered to the app, by outcome.", "actor_type", "outcome"),
	}

	m.reg.MustRegister(&m.runtime,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) counter(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

func (m *Metrics) histogram(name, help string, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: name, Help: help, Buckets: latencyBuckets,
	}, labels)
	m.reg.MustRegister(v)
	return v
}

// Registry is where the metrics live, for tests and for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RuntimeSource reads the runtime state that metrics report at scrape time.
type RuntimeSource struct {
	// ActiveCounts returns the active actors per hosted type.
	ActiveCounts func() map[string]int

	// PlacementStatus returns the committed table's version and whether the lease holds;
	// ok is false in single-node mode.
	PlacementStatus func() (version uint64, connected, ok bool)
}

// ObserveRuntime makes scrapes report src's active actors and placement status.
func (m *Metrics) ObserveRuntime(src RuntimeSource) {
	if m != nil {
		m.runtime.src.Store(&src)
	}
}

// callDone counts one call delivered to the app.
func (m *Metrics) callDone(actorType, method, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	method = m.methods.label(actorType, method)
	m.calls.WithLabelValues(actorType, method, outcome).Inc()
	m.callSeconds.WithLabelValues(actorType, method).Observe(d.Seconds())
}

// Protocols of troupe_api_requests_total.
const (
	protocolHTTP = "http"
	protocolGRPC = "grpc"
)

func (m *Metrics) apiRequest(protocol, route, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.apiRequests.WithLabelValues(protocol, route, code).Inc()
	m.apiSeconds.WithLabelValues(protocol, route).Observe(d.Seconds())
}

func (m *Metrics) turnWaited(actorType string, d time.Duration) {
	if m != nil {
		m.turnWait.WithLabelValues(actorType).Observe(d.Seconds())
	}
}

func (m *Metrics) forwarded(actorType, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.forwards.WithLabelValues(actorType, outcome).Inc()
	m.forwardSecs.WithLabelValues(actorType).Observe(d.Seconds())
}

func (m *Metrics) stateOp(op string, err error, d time.Duration) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	switch {
	case errors.Is(err, components.ErrETagMismatch), errors.Is(err, components.ErrInvalidETag),
		errors.Is(err, components.ErrFenced):
		outcome = OutcomeRejected
	case err != nil:
		outcome = OutcomeError
	}
	m.stateOps.WithLabelValues(op, outcome).Inc()
	m.stateSeconds.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) activated(actorType string) {
	if m != nil {
		m.activations.WithLabelValues(actorType).Inc()
	}
}

func (m *Metrics) deactivated(actorType string) {
	if m != nil {
		m.deactivations.WithLabelValues(actorType).Inc()
	}
}

// methodSet remembers the method label values seen per actor type, up to
// maxMethodsPerType each.
type methodSet struct {
	// mu guards seen.
	mu   sync.RWMutex
	seen map[string]map[string]struct{}
}

// label returns method if it is (or may become) a label value of actorType, otherMethod
// once the type has too many.
func (s *methodSet) label(actorType, method string) string {
	s.mu.RLock()
	_, ok := s.seen[actorType][method]
	s.mu.RUnlock()
	if ok {
		return method
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[string]map[string]struct{})
	}
	methods := s.seen[actorType]
	if methods == nil {
		methods = make(map[string]struct{})
		s.seen[actorType] = methods
	}
	if _, ok := methods[method]; !ok && len(methods) >= maxMethodsPerType {
		return otherMethod
	}
	methods[method] = struct{}{}
	return method
}

// runtimeCollector reports gauges read from the runtime at scrape time, so that the call
// path never updates them.
type runtimeCollector struct {
	src atomic.Pointer[RuntimeSource]
}

var (
	activeDesc = prometheus.NewDesc("troupe_actors_active",
		"Actors active on this sidecar, by type.", []string{"actor_type"}, nil)
	tableVersionDesc = prometheus.NewDesc("troupe_placement_table_version",
		"Version of the placement table this sidecar routes by (0 in single-node mode).",
		nil, nil)
	connectedDesc = prometheus.NewDesc("troupe_placement_connected",
		"1 while this sidecar holds its placement lease, else 0 (1 in single-node mode).",
		nil, nil)
)

func (c *runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeDesc
	ch <- tableVersionDesc
	ch <- connectedDesc
}

func (c *runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.src.Load()
	if src == nil {
		return
	}
	for typ, n := range src.ActiveCounts() {
		ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(n), typ)
	}

	version, connected, clustered := src.PlacementStatus()
	if !clustered {
		connected = true
	}
	ch <- prometheus.MustNewConstMetric(tableVersionDesc, prometheus.GaugeValue,
		float64(version))
	ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, boolFloat(connected))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// statusOutcome maps an app answer to a call outcome.
func statusOutcome(status int, actorError bool) string {
	switch {
	case status == http.StatusOK && actorError:
		return OutcomeActorError
	case status == http.StatusOK:
		return OutcomeOK
	}
	return OutcomeAppError
}

// itoa formats small status codes without allocating for the common ones.
func itoa(n int) string {
	switch n {
	case 200:
		return "200"
	case 204:
		return "204"
	case 400:
		return "400"
	case 500:
		return "500"
	}
	return strconv.Itoa(n)
}
