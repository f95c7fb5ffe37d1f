package deploytest

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot returns the module root, two folders above this package.
func repoRoot(t *testing.T) string {
	t.Helper()

	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

// goMinorVersion returns the go.mod's Go version as major.minor, e.g. "1.26".
func goMinorVersion(t *testing.T) string {
	t.Helper()

	f, err := os.Open(filepath.Join(repoRoot(t), "go.mod"))
	require.NoError(t, err)
	defer f.Close()

	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			parts := strings.SplitN(v, ".", 3)
			require.GreaterOrEqual(t, len(parts), 2, "go directive %q", v)
			return parts[0] + "." + parts[1]
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// builtBinaries returns the image binaries whose packages exist. placement is written in
// parallel with the images; until it lands its image cannot be built.
func builtBinaries(t *testing.T) []string {
	t.Helper()

	var bins []string
	for _, img := range images {
		files, err := filepath.Glob(filepath.Join(repoRoot(t), img.binary, "*.go"))
		require.NoError(t, err)
		if len(files) == 0 {
			t.Logf("./%s has no Go files yet; its image binary is not checked", img.binary)
			continue
		}
		bins = append(bins, img.binary)
	}
	return bins
}

// buildSources lists, relative to the repository, every file of this module that building
// the image binaries reads: Go sources and embedded files.
func buildSources(t *testing.T) []string {
	t.Helper()

	root := repoRoot(t)
	const format = `{{if and .Module .Module.Main}}{{.Dir}}` +
		`{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`
	args := []string{"list", "-deps", "-f", format}
	for _, bin := range builtBinaries(t) {
		args = append(args, "./"+bin)
	}

	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", exitStderr(err))

	var files []string
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		dir, err := filepath.Rel(root, fields[0])
		require.NoError(t, err)
		for _, name := range fields[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	require.NotEmpty(t, files)
	return files
}

// dockerignorePatterns reads .dockerignore lines. Exceptions (!pattern) are refused, since
// ignored does not implement them.
func dockerignorePatterns(t *testing.T, text string) []string {
	t.Helper()

	var patterns []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "!"), "exception %q is not supported", line)
		patterns = append(patterns, filepath.ToSlash(filepath.Clean(line)))
	}
	return patterns
}

// ignored reports whether a .dockerignore pattern matches path or a folder above it, as
// Docker does: * and ? stay within a path element, ** spans any number of them.
func ignored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, pattern := range patterns {
		elems := strings.Split(pattern, "/")
		for n := 1; n <= len(parts); n++ {
			if matchElems(elems, parts[:n]) {
				return true
			}
		}
	}
	return false
}

func matchElems(pattern, parts []string) bool {
	if len(pattern) == 0 {
		return len(parts) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchElems(pattern[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, err := filepath.Match(pattern[0], parts[0])
	return err == nil && ok && matchElems(pattern[1:], parts[1:])
}

// exitStderr returns what a failed command printed on stderr.
func exitStderr(err error) string {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(exitErr.Stderr)
	}
	return ""
}
