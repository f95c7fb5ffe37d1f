// Package clustertest holds tests of whole troupe clusters run as real processes on
// loopback: a redis-server, the placement binary, and sidecar + test app pairs. Its
// helpers build the binaries once per test run.
package clustertest
