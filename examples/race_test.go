//go:build race

package examples_test

// raceEnabled says the tests run with the race detector, so the Go binaries they start are
// built with it too.
const raceEnabled = true
