package actors

import (
	"sync"
	"time"
)

// stateCache keeps an active actor's state in memory. Reads fill it from the store once;
// writes reach it only after the store has accepted them, so it never holds a value the
// store lacks. Missing keys are cached too, so repeated reads of them stay local.
type stateCache struct {
	// mu guards gen and entries.
	mu sync.Mutex

	// gen grows with every write, so a read that loaded a key from the store can tell
	// whether a write overtook it before filling the cache with a stale value.
	gen     uint64
	entries map[string]cacheEntry
}

type cacheEntry struct {
	value   []byte
	found   bool
	expires time.Time // zero: no expiry
}

func (e cacheEntry) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

// lookup returns the cached entry for key. On a miss it returns the generation to pass to
// fill after loading from the store.
func (c *stateCache) lookup(key string, now time.Time) (e cacheEntry, hit bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, hit = c.entries[key]
	if hit && e.expired(now) {
		return cacheEntry{}, true, c.gen
	}
	return e, hit, c.gen
}

// fill caches a value read from the store, unless a write happened since gen.
func (c *stateCache) fill(key string, e cacheEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]cacheEntry, 1)
	}
	c.entries[key] = e
}

// apply records writes the store has accepted.
func (c *stateCache) apply(ops []StateOp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if c.entries == nil {
		c.entries = make(map[string]cacheEntry, len(ops))
	}
	for _, op := range ops {
		if op.Delete {
			c.entries[op.Key] = cacheEntry{}
			continue
		}
		e := cacheEntry{value: op.Value, found: true}
		if op.TTL > 0 {
			e.expires = now.Add(op.TTL)
		}
		c.entries[op.Key] = e
	}
}

// forget drops keys whose stored value is unknown, e.g. after a write whose outcome the
// store did not report.
func (c *stateCache) forget(ops []StateOp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, op := range ops {
		delete(c.entries, op.Key)
	}
}

// clear drops the whole cache (on deactivation).
func (c *stateCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = nil
}
