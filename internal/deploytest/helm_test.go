package deploytest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/troupe-dev/troupe/internal/testutil"
)

const (
	// helmEnv names the helm binary the chart tests run (scripts/helm.sh prints one).
	helmEnv = "TROUPE_HELM"

	// testNamespace and testRelease are what the chart is rendered for.
	testNamespace = "troupe-test"
	testRelease   = "demo"
)

// chartDir returns the chart's folder.
func chartDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "charts", "troupe")
}

// helm runs the helm binary from TROUPE_HELM or PATH; without one the test is skipped
// (failed when TROUPE_REQUIRE_TOOLS=1).
type helm struct {
	t    *testing.T
	path string
	home string // keeps helm's cache and config out of the user's
}

func newHelm(t *testing.T) *helm {
	t.Helper()

	path := os.Getenv(helmEnv)
	if path == "" {
		if _, err := exec.LookPath("helm"); err != nil {
			t.Logf("%s names a helm binary; TROUPE_HELM=\"$(scripts/helm.sh)\" builds one", helmEnv)
		}
		path = testutil.RequireTool(t, "helm")
	} else if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("%s=%s is not an executable: %v", helmEnv, path, err)
	}
	return &helm{t: t, path: path, home: t.TempDir()}
}

// run runs helm with args and returns its stdout, or its stderr and the error.
func (h *helm) run(args ...string) (string, error) {
	cmd := exec.Command(h.path, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

// template renders the chart in dir with extra helm arguments (-f, --set) and parses
// the manifests.
func (h *helm) template(dir string, args ...string) manifests {
	h.t.Helper()

	all := append([]string{"template", testRelease, dir, "--namespace", testNamespace}, args...)
	out, err := h.run(all...)
	require.NoError(h.t, err, "helm %s:\n%s", strings.Join(all, " "), out)
	return parseManifests(h.t, out)
}

// manifests are rendered Kubernetes objects.
type manifests []object

// object is a rendered Kubernetes object; raw keeps it whole for decoding by kind.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	raw []byte
}

func parseManifests(t *testing.T, out string) manifests {
	t.Helper()

	var objs manifests
	for _, doc := range strings.Split(out, "\n---") {
		js, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err, "manifest:\n%s", doc)
		if string(js) == "null" {
			continue
		}

		var o object
		require.NoError(t, json.Unmarshal(js, &o))
		o.raw = js
		objs = append(objs, o)
	}
	return objs
}

// find returns the object of this kind and name, or nil.
func (m manifests) find(kind, name string) *object {
	for i := range m {
		if m[i].Kind == kind && m[i].Metadata.Name == name {
			return &m[i]
		}
	}
	return nil
}

// get is find that fails the test when the object is missing.
func (m manifests) get(t *testing.T, kind, name string) *object {
	t.Helper()

	o := m.find(kind, name)
	require.NotNil(t, o, "no %s %s rendered", kind, name)
	return o
}

// ofKind returns the objects of a kind.
func (m manifests) ofKind(kind string) []object {
	var out []object
	for _, o := range m {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// decode unmarshals the whole object into v.
func (o *object) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(o.raw, v), "decode %s %s", o.Kind, o.Metadata.Name)
}

// workload is the part of a Deployment or StatefulSet the tests read.
type workload struct {
	Spec struct {
		Replicas    *int   `json:"replicas"`
		ServiceName string `json:"serviceName"`
		Template    struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec podSpec `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type podSpec struct {
	SecurityContext securityContext `json:"securityContext"`
	InitContainers  []container     `json:"initContainers"`
	Containers      []container     `json:"containers"`
	Volumes         []volume        `json:"volumes"`
}

type container struct {
	Name           string          `json:"name"`
	Image          string          `json:"image"`
	Command        []string        `json:"command"`
	Args           []string        `json:"args"`
	Env            []envVar        `json:"env"`
	Ports          []containerPort `json:"ports"`
	ReadinessProbe *probe          `json:"readinessProbe"`
	LivenessProbe  *probe          `json:"livenessProbe"`
	Resources      struct {
		Limits map[string]any `json:"limits"`
	} `json:"resources"`
	SecurityContext securityContext `json:"securityContext"`
	VolumeMounts    []volumeMount   `json:"volumeMounts"`
}

type containerPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
}

type envVar struct {
	Name      string `json:"name"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"secretKeyRef"`
	} `json:"valueFrom"`
}

type probe struct {
	HTTPGet *struct {
		Path string  `json:"path"`
		Port portRef `json:"port"`
	} `json:"httpGet"`
	TCPSocket *struct {
		Port portRef `json:"port"`
	} `json:"tcpSocket"`
}

// port returns the probe's port, whatever its handler.
func (p *probe) port() portRef {
	switch {
	case p.HTTPGet != nil:
		return p.HTTPGet.Port
	case p.TCPSocket != nil:
		return p.TCPSocket.Port
	}
	return ""
}

// portRef is a port given by number or by container port name.
type portRef string

func (p *portRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = portRef(s)
		return nil
	}

	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*p = portRef(strconv.Itoa(n))
	return nil
}

type securityContext struct {
	RunAsNonRoot             *bool `json:"runAsNonRoot"`
	ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
	Capabilities             *struct {
		Drop []string `json:"drop"`
	} `json:"capabilities"`
}

type volume struct {
	Name     string          `json:"name"`
	EmptyDir json.RawMessage `json:"emptyDir"`
	Secret   *struct {
		SecretName string `json:"secretName"`
	} `json:"secret"`
	ConfigMap *struct {
		Name string `json:"name"`
	} `json:"configMap"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
}

// service is the part of a Service the tests read.
type service struct {
	Spec struct {
		ClusterIP string            `json:"clusterIP"`
		Selector  map[string]string `json:"selector"`
		Ports     []struct {
			Name       string  `json:"name"`
			Port       int     `json:"port"`
			TargetPort portRef `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

// configData is a ConfigMap's or Secret's text data.
type configData struct {
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
}
