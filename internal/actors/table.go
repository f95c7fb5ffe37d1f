package actors

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// actorKey names an activation. Its strings are shared with the actor, so the table costs
// one copy of the type and id per actor.
type actorKey struct {
	typ string
	id  string
}

// actor is one activation on this sidecar.
type actor struct {
	key actorKey

	// turn serialises the actor's calls and ends the activation when disposed.
	turn turn

	// lastUsed is when the last turn started, in Unix nanoseconds; the idle reaper
	// compares it with the type's idle timeout.
	lastUsed atomic.Int64

	// cache holds the actor's state while it is active.
	cache stateCache

	// The fields below are written only by the holder of the turn.

	// started is set once a call reached the app; an activation that never started is
	// dropped without telling the app.
	started atomic.Bool

	// token is the fencing token this activation claimed in the store; 0 until claimed
	// (and always in single-node mode).
	token atomic.Uint64
}

func (a *actor) touch(now time.Time) { a.lastUsed.Store(now.UnixNano()) }

// tableShards spreads the active-actor table over several locks so that calls to
// different actors rarely contend.
const tableShards = 64

// table is the set of actors active on this sidecar.
type table struct {
	seed   maphash.Seed
	shards [tableShards]tableShard
}

type tableShard struct {
	// mu guards actors.
	mu     sync.Mutex
	actors map[actorKey]*actor
}

func newTable() *table {
	t := &table{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].actors = make(map[actorKey]*actor)
	}
	return t
}

func (t *table) shard(k actorKey) *tableShard {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(k.typ)
	h.WriteByte(0)
	h.WriteString(k.id)
	return &t.shards[h.Sum64()%tableShards]
}

// get returns the active actor for k, or nil.
func (t *table) get(k actorKey) *actor {
	s := t.shard(k)
	s.mu.Lock()
	a := s.actors[k]
	s.mu.Unlock()
	return a
}

// getOrCreate returns the active actor for k, activating it if needed. created is true
// when this call made the activation.
func (t *table) getOrCreate(k actorKey, now time.Time) (a *actor, created bool) {
	s := t.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a = s.actors[k]; a != nil {
		return a, false
	}
	a = &actor{key: k}
	a.touch(now)
	s.actors[k] = a
	return a, true
}

// remove drops a from the table if it is still the activation for its key.
func (t *table) remove(a *actor) {
	s := t.shard(a.key)
	s.mu.Lock()
	if s.actors[a.key] == a {
		delete(s.actors, a.key)
	}
	s.mu.Unlock()
}

// each calls fn for every active actor. fn runs without the table's locks held.
func (t *table) each(fn func(*actor)) {
	var batch []*actor
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		batch = batch[:0]
		for _, a := range s.actors {
			batch = append(batch, a)
		}
		s.mu.Unlock()

		for _, a := range batch {
			fn(a)
		}
	}
}

// counts returns the number of active actors per type.
func (t *table) counts() map[string]int {
	counts := make(map[string]int)
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k := range s.actors {
			counts[k.typ]++
		}
		s.mu.Unlock()
	}
	return counts
}
