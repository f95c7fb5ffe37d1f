package loadgen

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkUser measures one virtual user's six requests and checks against a fixed-answer
// handler on loopback; allocations include the handler's side of net/http.
func BenchmarkUser(b *testing.B) {
	srv := httptest.NewServer(fixedAnswers())
	defer srv.Close()

	cfg := testConfig(srv.URL).withDefaults()
	c := newClient(cfg.Target, cfg.Timeout)
	defer c.close()
	r := newRunner(cfg, c)
	r.pairs = newPairSpace(1, 1, 1, 1) // always artifact 0 and the first user
	r.rec = newRecorder(time.Now(), time.Hour)

	b.ReportAllocs()
	for b.Loop() {
		r.runUser(b.Context())
	}
	b.StopTimer()

	if d := r.rec.ops[opGetAllStates].hist.total.Load(); d == 0 {
		b.Fatal("no request recorded")
	}
	if e := r.rec.ops[opSetRead].errors.Load() + r.rec.ops[opIsRead].wrong.Load(); e != 0 {
		b.Fatalf("%d errors or wrong answers", e)
	}
	b.ReportMetric(float64(b.N*len(sequence))/b.Elapsed().Seconds(), "req/s")
}

// fixedAnswers answers every request as a correct app would in the seed sequence for
// artifact 0 and the first user, without reading the body: the cheapest server the client can
// meet.
func fixedAnswers() http.Handler {
	answers := make(map[string][]byte)
	var st fakeState
	for _, o := range sequence {
		st = nextFakeState(o, st)
		answers[apiPrefix+o.String()] = appendFakeAnswer(nil, o, fakeKey{0, surnames()[0]}, st)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(answers[r.URL.Path])
	})
}
