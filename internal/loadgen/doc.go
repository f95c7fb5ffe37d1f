// Package loadgen sends load to the ArtifactState demo app and judges every answer: the
// library behind cmd/troupe-load.
//
// A virtual user takes an (artifact, user) pair that no other user holds, sends the six
// requests of the app's API in sequence and checks each answer against what it set before:
// after setArtifactReadByUser, isArtifactReadByUser must answer true, and so on. Users
// arrive as an open model (a ramp or a constant rate) or run in a closed loop. Latencies go
// into log-linear histograms, per request name and per second; a run ends with a summary
// table, threshold checks and, if asked, an HTML and a JSON report.
//
// The tool talks to the target through its own small HTTP/1.1 client, so that on a shared
// machine it takes little CPU from the target it measures; SelfTest measures how much load
// it can send.
package loadgen
