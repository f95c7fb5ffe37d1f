package clustertest

// The tests run binaries they build themselves, so go test cannot see that they depend on
// this code; importing it makes a change to it invalidate cached results.
import (
	_ "github.com/troupe-dev/troupe/internal/placement"
	_ "github.com/troupe-dev/troupe/internal/sidecar"
	_ "github.com/troupe-dev/troupe/internal/testapp"
)
