package testapp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// opsKept is how many recent operation ids a counter remembers for deduplication.
const opsKept = 256

// counterState is what incop keeps in state key "counter".
type counterState struct {
	N   int            `json:"n"`
	Ops map[string]int `json:"ops"` // operation id -> the value it produced
	Seq []string       `json:"seq"` // operation ids, oldest first
}

// Turn is one incop turn that changed a counter, as the app saw it.
type Turn struct {
	Actor string    `json:"actor"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Value int       `json:"value"`
}

// incrementOnce adds one to the actor's counter unless op was applied already, and
// answers the counter's value for op. A client can retry an operation whose answer it
// lost without counting it twice, so tests can compare counters with acknowledgements.
func (a *App) incrementOnce(w http.ResponseWriter, r *http.Request, op string) {
	start := time.Now()
	st, err := a.readCounter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if v, done := st.Ops[op]; done {
		w.Write([]byte(strconv.Itoa(v)))
		return
	}

	st.N++
	st.Ops[op] = st.N
	st.Seq = append(st.Seq, op)
	if len(st.Seq) > opsKept {
		delete(st.Ops, st.Seq[0])
		st.Seq = st.Seq[1:]
	}
	value, _ := json.Marshal(st)
	if err := a.setState(r.Context(), a.stateURL(r), "counter", string(value)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	a.recordTurn(Turn{Actor: actorName(r), Start: start, End: time.Now(), Value: st.N})
	w.Write([]byte(strconv.Itoa(st.N)))
}

func (a *App) readCounter(r *http.Request) (counterState, error) {
	st := counterState{Ops: map[string]int{}}
	raw, err := a.getState(r.Context(), a.stateURL(r)+"/counter")
	if err != nil || len(raw) == 0 {
		return st, err
	}
	err = json.Unmarshal(raw, &st)
	if st.Ops == nil {
		st.Ops = map[string]int{}
	}
	return st, err
}

func (a *App) count(w http.ResponseWriter, r *http.Request) {
	st, err := a.readCounter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write([]byte(strconv.Itoa(st.N)))
}

func (a *App) recordTurn(t Turn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.turns = append(a.turns, t)
}

// Turns returns the counter turns that wrote state, in the order they ended.
func (a *App) Turns() []Turn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Turn(nil), a.turns...)
}

func (a *App) listTurns(w http.ResponseWriter, _ *http.Request) {
	json.NewEncoder(w).Encode(a.Turns())
}
