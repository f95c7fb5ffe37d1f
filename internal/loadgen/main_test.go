package loadgen

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkNoLeftoverGoroutines(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkNoLeftoverGoroutines waits a little for goroutines of runs and their HTTP
// connections to end, and reports those that do not.
func checkNoLeftoverGoroutines() error {
	var leftover string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		buf := make([]byte, 1<<20)
		stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")

		leftover = ""
		for _, s := range stacks[1:] { // the first is this goroutine
			if strings.Contains(s, "internal/loadgen.") || strings.Contains(s, "net/http.") {
				leftover += s + "\n\n"
			}
		}
		if leftover == "" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("goroutines left running after the tests:\n%s", leftover)
}
