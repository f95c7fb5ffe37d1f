//go:build !unix

package loadgen

import "time"

// processCPUTime reports that the CPU time is not known on this system.
func processCPUTime() (time.Duration, bool) { return 0, false }
