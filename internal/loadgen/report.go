package loadgen

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"time"
)

// reportTemplate is the HTML report: one file that draws its charts with inline JavaScript
// and SVG from the figures embedded in it, so it needs no network.
//
//go:embed report.html
var reportTemplate string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms": func(ms float64) string {
		return formatLatency(time.Duration(ms * float64(time.Millisecond)))
	},
}).Parse(reportTemplate))

// Report is the JSON report: the raw figures of a run.
type Report struct {
	Scenario     Scenario       `json:"scenario"`
	Target       string         `json:"target"`
	Model        string         `json:"model"`
	Start        time.Time      `json:"start"`
	ElapsedS     float64        `json:"elapsed_s"`
	Passed       bool           `json:"passed"`
	Violations   []string       `json:"violations"`
	Thresholds   thresholdsJSON `json:"thresholds"`
	Requests     []requestJSON  `json:"requests"`
	Total        requestJSON    `json:"total"`
	Seconds      []secondJSON   `json:"seconds"`
	Errors       []Problem      `json:"errors"`
	Wrong        []Problem      `json:"wrong"`
	DroppedUsers int64          `json:"dropped_users"`
}

// thresholdsJSON are the thresholds, null where off.
type thresholdsJSON struct {
	MaxErrorRate *float64 `json:"max_error_rate"`
	MaxP95MS     *float64 `json:"max_p95_ms"`
	MaxP99MS     *float64 `json:"max_p99_ms"`
	MinRPS       *float64 `json:"min_rps"`
}

// requestJSON are the figures of one request name, latencies in milliseconds.
type requestJSON struct {
	Name      string        `json:"name"`
	Count     uint64        `json:"count"`
	Errors    uint64        `json:"errors"`
	Wrong     uint64        `json:"wrong"`
	MeanMS    float64       `json:"mean_ms"`
	P50MS     float64       `json:"p50_ms"`
	P75MS     float64       `json:"p75_ms"`
	P95MS     float64       `json:"p95_ms"`
	P99MS     float64       `json:"p99_ms"`
	MaxMS     float64       `json:"max_ms"`
	RPS       float64       `json:"rps"`
	Histogram histogramJSON `json:"histogram"`
}

// histogramJSON is a latency histogram: Buckets are the non-empty buckets as
// [lowest µs, highest µs, count].
type histogramJSON struct {
	Count   uint64      `json:"count"`
	SumUS   uint64      `json:"sum_us"`
	MaxUS   uint64      `json:"max_us"`
	Buckets [][3]uint64 `json:"buckets"`
}

// secondJSON are the figures of one second of the run; T counts seconds from the start.
type secondJSON struct {
	T         int               `json:"t"`
	Count     uint64            `json:"count"`
	Errors    uint64            `json:"errors"`
	Wrong     uint64            `json:"wrong"`
	P50MS     float64           `json:"p50_ms"`
	P75MS     float64           `json:"p75_ms"`
	P95MS     float64           `json:"p95_ms"`
	P99MS     float64           `json:"p99_ms"`
	MaxMS     float64           `json:"max_ms"`
	ByRequest map[string]uint64 `json:"by_request"`
}

// NewReport returns the JSON report of r.
func NewReport(r *Result) *Report {
	rep := &Report{
		Scenario:     r.Scenario,
		Target:       r.Target,
		Model:        r.Model,
		Start:        r.Start,
		ElapsedS:     r.Elapsed.Seconds(),
		Passed:       r.Passed(),
		Violations:   nonNil(r.Violations),
		Thresholds:   newThresholdsJSON(&r.Thresholds),
		Total:        newRequestJSON(&r.Total),
		Errors:       nonNil(r.Errors),
		Wrong:        nonNil(r.Wrong),
		DroppedUsers: r.DroppedUsers,
	}
	for i := range r.Requests {
		rep.Requests = append(rep.Requests, newRequestJSON(&r.Requests[i]))
	}
	for i := range r.Seconds {
		rep.Seconds = append(rep.Seconds, newSecondJSON(&r.Seconds[i]))
	}
	rep.Seconds = nonNil(rep.Seconds)
	return rep
}

// newThresholdsJSON returns t with the limits that are off as nil.
func newThresholdsJSON(t *Thresholds) thresholdsJSON {
	var out thresholdsJSON
	if t.MaxErrorRate != NoLimit {
		out.MaxErrorRate = &t.MaxErrorRate
	}
	if t.MaxP95 > 0 {
		out.MaxP95MS = ptr(ms(t.MaxP95))
	}
	if t.MaxP99 > 0 {
		out.MaxP99MS = ptr(ms(t.MaxP99))
	}
	if t.MinRPS > 0 {
		out.MinRPS = &t.MinRPS
	}
	return out
}

// newRequestJSON returns the figures of s.
func newRequestJSON(s *RequestStats) requestJSON {
	return requestJSON{
		Name:   s.Name,
		Count:  s.Count,
		Errors: s.Errors,
		Wrong:  s.Wrong,
		MeanMS: ms(s.Mean),
		P50MS:  ms(s.P50),
		P75MS:  ms(s.P75),
		P95MS:  ms(s.P95),
		P99MS:  ms(s.P99),
		MaxMS:  ms(s.Max),
		RPS:    s.RPS,
		Histogram: histogramJSON{
			Count:   s.Latency.Total,
			SumUS:   s.Latency.SumUS,
			MaxUS:   s.Latency.MaxUS,
			Buckets: nonNil(s.Latency.Buckets()),
		},
	}
}

// newSecondJSON returns the figures of one second.
func newSecondJSON(s *SecondStats) secondJSON {
	by := make(map[string]uint64, numOps)
	for o := range numOps {
		by[o.String()] = s.ByRequest[o]
	}
	return secondJSON{
		T:         s.Second,
		Count:     s.Count,
		Errors:    s.Errors,
		Wrong:     s.Wrong,
		P50MS:     ms(s.P50),
		P75MS:     ms(s.P75),
		P95MS:     ms(s.P95),
		P99MS:     ms(s.P99),
		MaxMS:     ms(s.Max),
		ByRequest: by,
	}
}

// checkReportDir checks, before a run, that the reports with prefix can be written after it.
func checkReportDir(prefix string) error {
	if prefix == "" {
		return nil
	}
	dir := filepath.Dir(prefix)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("%w: --report %s: %w", ErrUsage, prefix, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: --report %s: %s is not a directory", ErrUsage, prefix, dir)
	}
	return nil
}

// writeReports writes the HTML and the JSON report of r to prefix.html and prefix.json.
func writeReports(prefix string, r *Result) error {
	rep := NewReport(r)

	data, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return fmt.Errorf("encode json report: %w", err)
	}
	if err := os.WriteFile(prefix+".json", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}

	f, err := os.Create(prefix + ".html")
	if err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	if err := reportPage.Execute(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("write html report %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// nonNil returns s, or an empty slice for nil, so that JSON shows [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
