package placement

import "time"

// State is what GET /placement/state reports.
type State struct {
	// TableVersion is the version of the last committed table.
	TableVersion uint64 `json:"table_version"`
	// Phase is "settling" (waiting for sidecars after start), "preparing" (a round
	// waits for acknowledgements), "pending" (a change waits for its round) or "stable".
	Phase string `json:"phase"`
	// Round is the running dissemination round, if any.
	Round *RoundState `json:"round,omitempty"`
	// Members are the current members, sorted by name.
	Members []MemberState `json:"members"`
}

// RoundState describes a running dissemination round.
type RoundState struct {
	Version  uint64   `json:"version"`
	Awaiting []string `json:"awaiting"`
}

// MemberState describes one member.
type MemberState struct {
	Name     string   `json:"name"`
	AppID    string   `json:"app_id"`
	Entities []string `json:"entities"`
	// LastHeartbeat is when placement last received anything from the member.
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Connected     bool      `json:"connected"`
	Fenced        bool      `json:"fenced,omitempty"`
}

// Phases of State.Phase.
const (
	PhaseSettling  = "settling"
	PhasePreparing = "preparing"
	PhasePending   = "pending"
	PhaseStable    = "stable"
)

func (e *engine) snapshot(now time.Time) State {
	st := State{
		TableVersion: e.fsm.Committed().Version,
		Phase:        e.phase(now),
		Members:      []MemberState{},
	}

	if r := e.round; r != nil {
		st.Round = &RoundState{Version: r.table.Version, Awaiting: sortedKeys(r.awaiting)}
	}
	for _, m := range e.fsm.Members() {
		st.Members = append(st.Members, MemberState{
			Name:          m.Name,
			AppID:         m.AppID,
			Entities:      m.Entities,
			LastHeartbeat: e.seen[m.Name],
			Connected:     e.byName[m.Name] != nil,
			Fenced:        e.fenced[m.Name],
		})
	}
	return st
}

func (e *engine) phase(now time.Time) string {
	switch {
	case now.Before(e.settleUntil):
		return PhaseSettling
	case e.round != nil:
		return PhasePreparing
	case e.fsm.Pending():
		return PhasePending
	default:
		return PhaseStable
	}
}
