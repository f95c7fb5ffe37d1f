package loadgen

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSurnames(t *testing.T) {
	names := surnames()
	require.Len(t, names, 1000)

	letters := regexp.MustCompile(`^[A-Z][A-Za-z]+$`)
	seen := make(map[string]bool)
	for _, n := range names {
		require.Regexp(t, letters, n)
		require.False(t, seen[strings.ToLower(n)], "duplicate surname %q", n)
		seen[strings.ToLower(n)] = true
	}
}

func TestPairMappingIsOneToOne(t *testing.T) {
	for _, tc := range []struct{ artifacts, users int }{{1, 1}, {5, 7}, {7, 5}, {4, 6}, {500, 1000}} {
		s := newPairSpace(tc.artifacts*tc.users, tc.artifacts, tc.users, 1)
		seen := make([]bool, tc.artifacts*tc.users) // by artifact*users + user
		for key := range tc.artifacts * tc.users {
			p := s.pairOf(key)
			if p.artifact >= tc.artifacts || p.user >= tc.users || s.keyOf(p) != key {
				t.Fatalf("%+v: key %d maps to %+v, back to %d", tc, key, p, s.keyOf(p))
			}
			if i := p.artifact*tc.users + p.user; seen[i] {
				t.Fatalf("%+v: pair %+v twice", tc, p)
			} else {
				seen[i] = true
			}
		}
	}
}

func TestHotSpaceSpreadsOverArtifactsAndUsers(t *testing.T) {
	s := newPairSpace(64, DefaultArtifacts, 1000, 1)
	artifacts, users := map[int]bool{}, map[int]bool{}
	for key := range 64 {
		p := s.pairOf(key)
		artifacts[p.artifact], users[p.user] = true, true
	}
	require.Len(t, artifacts, 64)
	require.Len(t, users, 64)
}

func TestPairSpaceNeverHandsOutAHeldPair(t *testing.T) {
	const keys = 8
	s := newPairSpace(keys, 4, 2, 1)
	var holders [keys]atomic.Int32

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 2000 {
				p, ok := s.acquire()
				if !ok {
					continue
				}
				key := s.keyOf(p)
				if !holders[key].CompareAndSwap(0, 1) {
					t.Errorf("pair %+v handed out while held", p)
				}
				holders[key].Store(0)
				s.release(p)
			}
		})
	}
	wg.Wait()
}

func TestPairSpaceFull(t *testing.T) {
	s := newPairSpace(3, 3, 1000, 1)
	var held []pair
	for range 3 {
		p, ok := s.acquire()
		require.True(t, ok)
		held = append(held, p)
	}

	_, ok := s.acquire()
	require.False(t, ok, "acquire from a full space")

	s.release(held[1])
	p, ok := s.acquire()
	require.True(t, ok)
	require.Equal(t, held[1], p)
	require.Panics(t, func() { s.release(pair{artifact: 1, user: 2}) })
}

func TestAppendBodyIsTheAPIRequest(t *testing.T) {
	var req struct {
		ArtifactID int    `json:"artifactId"`
		UserID     string `json:"userId"`
	}
	body := appendBody(nil, pair{artifact: 499, user: 7})
	require.NoError(t, json.Unmarshal(body, &req))
	require.Equal(t, 499, req.ArtifactID)
	require.Equal(t, surnames()[7], req.UserID)
}
