package loadgen

import (
	"math/rand/v2"
	"strconv"
	"sync"
)

// pair is one (artifact, user) key of the ArtifactState app.
type pair struct {
	artifact int
	user     int // index into surnames()
}

// pairSpace hands out (artifact, user) pairs so that no two virtual users hold the same pair
// at once. A user's checks assume that nobody else changes its pair between its requests;
// with pairs drawn at random, two users would otherwise sometimes share one by chance and
// report correct answers as wrong.
//
// The space is keys pairs numbered 0..keys-1; key i is artifact i%artifacts and user
// (i/artifacts + i%artifacts) % users, a one-to-one mapping that spreads a small hot space
// over both artifacts and users.
type pairSpace struct {
	artifacts int
	users     int

	// mu guards the fields below.
	mu    sync.Mutex
	rng   *rand.Rand
	inUse []bool // by key; len(inUse) is the size of the space
	held  int    // number of true entries in inUse
}

// newPairSpace returns a space of keys pairs, at most artifacts*users, drawn with a
// generator seeded by seed.
func newPairSpace(keys, artifacts, users int, seed uint64) *pairSpace {
	return &pairSpace{
		artifacts: artifacts,
		users:     users,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		inUse:     make([]bool, keys),
	}
}

// acquire picks a random pair that no one holds and marks it held. It returns false when
// every pair is held.
func (s *pairSpace) acquire() (pair, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.held == len(s.inUse) {
		return pair{}, false
	}

	// Probe forward from a random key; the space is usually far larger than the number of
	// users, so the first probe nearly always hits a free pair.
	key := s.rng.IntN(len(s.inUse))
	for s.inUse[key] {
		key = (key + 1) % len(s.inUse)
	}
	s.inUse[key] = true
	s.held++
	return s.pairOf(key), true
}

// release gives back a pair that acquire returned.
func (s *pairSpace) release(p pair) {
	key := s.keyOf(p)

	s.mu.Lock()
	defer s.mu.Unlock()

	if !s.inUse[key] {
		panic("loadgen: release of a pair that is not held")
	}
	s.inUse[key] = false
	s.held--
}

// pairOf maps a key to its pair.
func (s *pairSpace) pairOf(key int) pair {
	a := key % s.artifacts
	return pair{artifact: a, user: (key/s.artifacts + a) % s.users}
}

// keyOf is the inverse of pairOf.
func (s *pairSpace) keyOf(p pair) int {
	q := ((p.user-p.artifact)%s.users + s.users) % s.users
	return q*s.artifacts + p.artifact
}

// appendBody appends the JSON request body that names p, the same for every endpoint.
func appendBody(dst []byte, p pair) []byte {
	dst = append(dst, `{"artifactId":`...)
	dst = strconv.AppendInt(dst, int64(p.artifact), 10)
	dst = append(dst, `,"userId":"`...)
	dst = append(dst, surnames()[p.user]...)
	return append(dst, `"}`...)
}
