package artifact

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock returns t0, t0+1s, t0+2s, ... on successive calls.
func fakeClock(t0 time.Time) func() time.Time {
	next := t0
	return func() time.Time {
		now := next
		next = next.Add(time.Second)
		return now
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(seconds int) time.Time { return t0.Add(time.Duration(seconds) * time.Second) }

func TestActivationLogRecordsActivationPeriods(t *testing.T) {
	log := newActivationLog(10, fakeClock(t0))

	assert.True(t, log.activate("1_a"))   // t0+0
	assert.False(t, log.activate("1_a"))  // already active: no clock read
	assert.True(t, log.activate("2_b"))   // t0+1
	assert.True(t, log.deactivate("1_a")) // t0+2
	assert.False(t, log.deactivate("1_a"))
	assert.False(t, log.deactivate("never_seen"))
	assert.True(t, log.activate("1_a")) // t0+3

	deactivated := at(2)
	assert.Equal(t, ActivationReport{Activations: []Activation{
		{ActorID: "1_a", ActivatedAt: at(0), DeactivatedAt: &deactivated},
		{ActorID: "2_b", ActivatedAt: at(1)},
		{ActorID: "1_a", ActivatedAt: at(3)},
	}}, log.report(""))

	assert.Equal(t, []Activation{{ActorID: "2_b", ActivatedAt: at(1)}},
		log.report("2_b").Activations)
}

func TestActivationLogDropsOldestFinishedWhenFull(t *testing.T) {
	log := newActivationLog(2, fakeClock(t0))
	for _, id := range []string{"1_a", "2_b", "3_c"} {
		require.True(t, log.activate(id))
		require.True(t, log.deactivate(id))
	}
	require.True(t, log.activate("4_d")) // open activations are never dropped

	r := log.report("")
	assert.Equal(t, int64(1), r.Dropped)
	var ids []string
	for _, a := range r.Activations {
		ids = append(ids, a.ActorID)
	}
	assert.Equal(t, []string{"2_b", "3_c", "4_d"}, ids)
}

func TestActivationLogOfSizeZeroKeepsOnlyOpen(t *testing.T) {
	log := newActivationLog(0, fakeClock(t0))
	log.activate("1_a")
	log.deactivate("1_a")
	log.activate("2_b")

	r := log.report("")
	assert.Equal(t, int64(1), r.Dropped)
	assert.Equal(t, []Activation{{ActorID: "2_b", ActivatedAt: at(2)}}, r.Activations)
}
