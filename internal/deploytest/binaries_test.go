package deploytest

import (
	"debug/buildinfo"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImageBinaries builds the binaries with the script the Dockerfiles run and checks
// that they suit a distroless static image: no cgo, no dynamic loader, stripped, and
// built with -trimpath. The first run compiles everything once for these flags.
func TestImageBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the image binaries; skipped with -short")
	}

	bins := builtBinaries(t)
	out := t.TempDir()
	cmd := exec.Command("sh", append([]string{"scripts/build-images-binaries.sh", out}, bins...)...)
	cmd.Dir = repoRoot(t)
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "build-images-binaries.sh:\n%s", output)

	for _, bin := range bins {
		t.Run(bin, func(t *testing.T) {
			path := filepath.Join(out, bin)
			checkBuildSettings(t, path)
			checkStaticStripped(t, path)
		})
	}
}

// checkBuildSettings reads the flags recorded in the binary. Go leaves -ldflags out of
// them under -trimpath, so stripping is checked on the ELF file instead.
func checkBuildSettings(t *testing.T, path string) {
	t.Helper()

	info, err := buildinfo.ReadFile(path)
	require.NoError(t, err)

	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	require.Equal(t, "0", settings["CGO_ENABLED"])
	require.Equal(t, "true", settings["-trimpath"])
}

func checkStaticStripped(t *testing.T, path string) {
	t.Helper()

	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()

	for _, prog := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, prog.Type, "dynamically linked: needs a loader")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "links shared libraries")

	for _, sec := range f.Sections {
		require.NotEqual(t, ".symtab", sec.Name, "symbol table kept: built without -s")
		require.False(t, strings.HasPrefix(sec.Name, ".debug_"), "DWARF kept: built without -w")
	}
}
