package deploytest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/stretchr/testify/require"
)

// runtimeImage is the default final base image: no shell, no libc, a non-root user.
const runtimeImage = "gcr.io/distroless/static-debian12:nonroot"

// image is what one Dockerfile must build.
type image struct {
	dockerfile string
	binary     string   // the package built (./binary) and the entrypoint's name
	container  string   // the chart's container that runs the image
	ports      []string // EXPOSEd ports: the binary's default listening ports
}

var images = []image{
	{"Dockerfile.sidecar", "sidecar", "sidecar", []string{"3500", "50001", "50002", "9090"}},
	{"Dockerfile.placement", "placement", "placement", []string{"50005", "8080"}},
	{"Dockerfile.app", "app", "app", []string{"8082", "3000"}},
}

func TestDockerfiles(t *testing.T) {
	for _, img := range images {
		t.Run(img.dockerfile, func(t *testing.T) {
			df := parseDockerfile(t, img.dockerfile)

			require.Equal(t, "golang:"+goMinorVersion(t)+"-bookworm", df.args["GO_IMAGE"],
				"the default Go image must build the go.mod's Go version")
			require.Equal(t, runtimeImage, df.args["RUNTIME_IMAGE"])
			require.Len(t, df.stages, 2, "a build stage and a runtime stage")

			checkBuildStage(t, df.stages[0], img.binary)
			checkRuntimeStage(t, df.stages[1], img)
		})
	}
}

// checkBuildStage requires a static build through the same script CI runs.
func checkBuildStage(t *testing.T, s *stage, binary string) {
	t.Helper()

	require.Equal(t, "${GO_IMAGE}", s.from)
	require.Equal(t, "build", s.name)
	require.Equal(t, "0", s.env["CGO_ENABLED"], "the runtime image has no libc")

	script := "scripts/build-images-binaries.sh /out " + binary
	require.True(t, anyContains(s.runs, script), "no RUN of %q in %q", script, s.runs)
}

// checkRuntimeStage requires a shell-less, non-root image that runs the binary.
func checkRuntimeStage(t *testing.T, s *stage, img image) {
	t.Helper()

	require.Equal(t, "${RUNTIME_IMAGE}", s.from)
	require.Empty(t, s.runs, "the runtime image has no shell to RUN with")

	bin := "/usr/local/bin/" + img.binary
	require.Contains(t, s.copies, copyInstr{from: "build", src: "/out/" + img.binary, dst: bin})
	require.Equal(t, []string{bin}, s.entrypoint, "ENTRYPOINT in exec form")
	require.ElementsMatch(t, img.ports, s.expose)

	uid, _, _ := strings.Cut(s.user, ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err, "USER %q: a numeric uid lets Kubernetes verify runAsNonRoot", s.user)
	require.NotZero(t, n, "USER must not be root")

	for _, key := range []string{"title", "description", "source", "version", "revision"} {
		require.NotEmpty(t, s.labels["org.opencontainers.image."+key], "OCI label %s", key)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	require.NoError(t, err)
	patterns := dockerignorePatterns(t, string(data))

	for _, path := range []string{".git/HEAD", "charts/troupe/Chart.yaml", "app/main_test.go"} {
		require.True(t, ignored(patterns, path), "%s should stay out of the build context", path)
	}

	inputs := append([]string{"go.mod", "go.sum", "scripts/build-images-binaries.sh"},
		buildSources(t)...)
	for _, path := range inputs {
		require.False(t, ignored(patterns, path), "%s is needed by the image build", path)
	}
}

// dockerfile is what the tests read from a parsed Dockerfile.
type dockerfile struct {
	args   map[string]string // ARGs before the first FROM, name to default value
	stages []*stage
}

// stage is one FROM section of a Dockerfile.
type stage struct {
	from, name string
	env        map[string]string
	labels     map[string]string
	runs       []string
	copies     []copyInstr
	user       string
	expose     []string
	entrypoint []string // exec form only
}

// copyInstr is a one-source COPY; from is the --from stage, if any.
type copyInstr struct {
	from, src, dst string
}

func parseDockerfile(t *testing.T, name string) *dockerfile {
	t.Helper()

	f, err := os.Open(filepath.Join(repoRoot(t), name))
	require.NoError(t, err)
	defer f.Close()

	res, err := parser.Parse(f)
	require.NoError(t, err)
	require.Empty(t, res.Warnings, "%s parses with warnings", name)

	df := &dockerfile{args: map[string]string{}}
	for _, node := range res.AST.Children {
		instr, words := strings.ToLower(node.Value), nodeWords(node)
		switch {
		case instr == "from":
			df.stages = append(df.stages, newStage(words))
		case instr == "arg" && len(df.stages) == 0:
			argName, def, _ := strings.Cut(words[0], "=")
			df.args[argName] = def
		case len(df.stages) == 0:
			t.Fatalf("%s line %d: %s before FROM", name, node.StartLine, instr)
		default:
			df.stages[len(df.stages)-1].add(instr, node, words)
		}
	}
	return df
}

// nodeWords returns the arguments of an instruction, unquoted.
func nodeWords(node *parser.Node) []string {
	var words []string
	for n := node.Next; n != nil; n = n.Next {
		words = append(words, unquote(n.Value))
	}
	return words
}

func newStage(words []string) *stage {
	s := &stage{from: words[0], env: map[string]string{}, labels: map[string]string{}}
	if len(words) == 3 && strings.EqualFold(words[1], "as") {
		s.name = words[2]
	}
	return s
}

// add records one instruction of the stage.
func (s *stage) add(instr string, node *parser.Node, words []string) {
	switch instr {
	case "env":
		addPairs(s.env, words)
	case "label":
		addPairs(s.labels, words)
	case "run":
		s.runs = append(s.runs, strings.Join(words, " "))
	case "copy":
		s.addCopy(node.Flags, words)
	case "user":
		s.user = words[0]
	case "expose":
		s.expose = append(s.expose, words...)
	case "entrypoint":
		if node.Attributes["json"] {
			s.entrypoint = words
		}
	}
}

func (s *stage) addCopy(flags, words []string) {
	if len(words) != 2 {
		return
	}

	c := copyInstr{src: words[0], dst: words[1]}
	for _, flag := range flags {
		if from, ok := strings.CutPrefix(flag, "--from="); ok {
			c.from = from
		}
	}
	s.copies = append(s.copies, c)
}

// addPairs stores the words of ENV and LABEL, which the parser gives as (key, value,
// separator) triples.
func addPairs(m map[string]string, words []string) {
	for i := 0; i+1 < len(words); i += 3 {
		m[words[i]] = words[i+1]
	}
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
