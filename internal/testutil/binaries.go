package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binaries builds Go commands once per test binary, for tests that run them as real
// processes. Create it in a package variable and call Remove from TestMain.
type Binaries struct {
	packages []string
	race     bool

	once sync.Once
	dir  string
	err  error
}

// NewBinaries returns a builder of the given command packages; race builds them with the
// race detector.
func NewBinaries(race bool, packages ...string) *Binaries {
	return &Binaries{packages: packages, race: race}
}

// Path returns the path of the built command name (the last element of its package
// path), building every command on first use.
func (b *Binaries) Path(t testing.TB, name string) string {
	t.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		t.Fatal(b.err)
	}
	return filepath.Join(b.dir, name)
}

func (b *Binaries) build() {
	if b.dir, b.err = os.MkdirTemp("", "troupe-binaries-"); b.err != nil {
		return
	}
	args := []string{"build", "-o", b.dir + "/"}
	if b.race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, b.packages...)...).CombinedOutput()
	if err != nil {
		b.err = fmt.Errorf("go build: %v\n%s", err, out)
	}
}

// Remove deletes the built commands.
func (b *Binaries) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
