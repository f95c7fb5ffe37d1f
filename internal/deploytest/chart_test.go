package deploytest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// Names the chart gives its objects for testRelease.
const (
	fullName      = testRelease + "-troupe"
	appName       = fullName + "-app"
	placementName = fullName + "-placement"
	redisName     = fullName + "-redis"
)

// valueSet is one way of installing the chart that every structural test renders.
type valueSet struct {
	name              string
	file              string // a values file inside the chart, or empty for the defaults
	placementReplicas int
}

var valueSets = []valueSet{
	{name: "default", placementReplicas: 1},
	{name: "production", file: "ci/production-values.yaml", placementReplicas: 3},
}

// args returns the helm arguments that select the set's values.
func (vs valueSet) args(t *testing.T) []string {
	if vs.file == "" {
		return nil
	}
	return []string{"-f", filepath.Join(chartDir(t), vs.file)}
}

// forEachValueSet renders the chart for each value set and runs check on the result.
func forEachValueSet(t *testing.T, check func(t *testing.T, vs valueSet, m manifests)) {
	h := newHelm(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			check(t, vs, h.template(chartDir(t), vs.args(t)...))
		})
	}
}

func TestChartLint(t *testing.T) {
	h := newHelm(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir(t)}, vs.args(t)...)
			out, err := h.run(args...)
			require.NoError(t, err, "helm lint --strict:\n%s", out)
			require.Contains(t, out, "0 chart(s) failed")
		})
	}
}

func TestChartContainersAreHardened(t *testing.T) {
	forEachValueSet(t, func(t *testing.T, _ valueSet, m manifests) {
		pods := podSpecs(t, m)
		require.NotEmpty(t, pods)

		for name, pod := range pods {
			for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
				t.Run(name+"/"+c.Name, func(t *testing.T) {
					checkProbes(t, c)
					checkHardened(t, pod, c)
				})
			}
		}
	})
}

// checkProbes requires readiness and liveness probes on ports the container opens.
func checkProbes(t *testing.T, c container) {
	t.Helper()

	require.NotNil(t, c.ReadinessProbe, "readiness probe")
	require.NotNil(t, c.LivenessProbe, "liveness probe")
	portNumber(t, c, c.ReadinessProbe.port())
	portNumber(t, c, c.LivenessProbe.port())
}

func checkHardened(t *testing.T, pod podSpec, c container) {
	t.Helper()

	require.Contains(t, c.Resources.Limits, "cpu", "cpu limit")
	require.Contains(t, c.Resources.Limits, "memory", "memory limit")

	sc := c.SecurityContext
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = pod.SecurityContext.RunAsNonRoot
	}
	require.True(t, nonRoot != nil && *nonRoot, "runAsNonRoot")
	require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem,
		"readOnlyRootFilesystem")
	require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		"allowPrivilegeEscalation: false")
	require.True(t, sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL"),
		"capabilities drop ALL")
}

func TestChartSidecarWiring(t *testing.T) {
	forEachValueSet(t, func(t *testing.T, _ valueSet, m manifests) {
		pod := podOf(t, m, "Deployment", appName)
		sidecar := findContainer(t, pod, "sidecar")
		app := findContainer(t, pod, "app")

		httpPort := flagPort(t, sidecar, "--dapr-http-port")
		require.Equal(t, httpPort, portNumber(t, sidecar, sidecar.ReadinessProbe.port()))
		require.Equal(t, httpPort, portNumber(t, sidecar, sidecar.LivenessProbe.port()))
		flagPort(t, sidecar, "--dapr-grpc-port")
		flagPort(t, sidecar, "--dapr-internal-grpc-port")
		require.Equal(t, "0.0.0.0", flagValue(t, sidecar.Args, "--dapr-listen-addresses"),
			"the kubelet's probes and other sidecars come from outside the pod")

		require.Equal(t, httpPort, flagInt(t, app.Args, "--dapr-http-port"),
			"the app must call the sidecar's HTTP port")
		appPort := flagPort(t, app, "--app-port")
		require.Equal(t, appPort, flagInt(t, sidecar.Args, "--app-port"),
			"the sidecar must call the app's callback port")
		require.Equal(t, appPort, portNumber(t, app, app.ReadinessProbe.port()))
		flagPort(t, app, "--http-port")

		storeDir := path.Dir(flagValue(t, sidecar.Args, "--embedded-store-path"))
		require.NotNil(t, mountedVolume(t, pod, sidecar, storeDir).EmptyDir,
			"the embedded store needs a writable emptyDir under a read-only root")

		configDir := path.Dir(flagValue(t, sidecar.Args, "--config"))
		cm := mountedVolume(t, pod, sidecar, configDir).ConfigMap
		require.NotNil(t, cm, "--config comes from a ConfigMap")
		m.get(t, "ConfigMap", cm.Name)
	})
}

func TestChartPlacement(t *testing.T) {
	forEachValueSet(t, func(t *testing.T, vs valueSet, m manifests) {
		var sts workload
		m.get(t, "StatefulSet", placementName).decode(t, &sts)
		require.Equal(t, vs.placementReplicas, *sts.Spec.Replicas)

		var svc service
		m.get(t, "Service", sts.Spec.ServiceName).decode(t, &svc)
		require.Equal(t, "None", svc.Spec.ClusterIP, "stable pod names need a headless Service")
		for k, v := range svc.Spec.Selector {
			require.Equal(t, v, sts.Spec.Template.Metadata.Labels[k], "selector %s", k)
		}

		placement := findContainer(t, sts.Spec.Template.Spec, "placement")
		grpcPort := flagPort(t, placement, "--port")

		sidecar := findContainer(t, podOf(t, m, "Deployment", appName), "sidecar")
		var want []string
		for i := range vs.placementReplicas {
			want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc:%d",
				placementName, i, sts.Spec.ServiceName, testNamespace, grpcPort))
		}
		got := flagValue(t, sidecar.Args, "--placement-host-address")
		require.Equal(t, want, strings.Split(got, ","))
	})
}

func TestChartStateStore(t *testing.T) {
	h := newHelm(t)

	t.Run("in-cluster", func(t *testing.T) {
		m := h.template(chartDir(t), "--set", "redis.password=s3cret")

		var svc service
		m.get(t, "Service", redisName).decode(t, &svc)
		want := fmt.Sprintf("%s.%s.svc:%d", redisName, testNamespace, svc.Spec.Ports[0].Port)
		md := componentMetadata(t, m)
		require.Equal(t, want, md["redisHost"])
		require.Equal(t, "s3cret", md["redisPassword"])
		require.Equal(t, "true", md["actorStateStore"])

		redis := findContainer(t, podOf(t, m, "Deployment", redisName), "redis")
		require.Equal(t, "$(REDIS_PASSWORD)", flagValue(t, redis.Args, "--requirepass"))
		require.Equal(t, "s3cret", secretValue(t, m, envSecret(t, redis, "REDIS_PASSWORD")))
	})

	t.Run("external", func(t *testing.T) {
		m := h.template(chartDir(t), "--set", "redis.externalAddress=redis.example.com:6380")
		require.Nil(t, m.find("Deployment", redisName), "no in-cluster Redis")
		require.Equal(t, "redis.example.com:6380", componentMetadata(t, m)["redisHost"])
	})

	t.Run("embedded", func(t *testing.T) {
		m := h.template(chartDir(t), "--set", "redis.enabled=false")
		require.Nil(t, m.find("Deployment", redisName))
		require.Nil(t, m.find("Secret", fullName+"-components"))

		sidecar := findContainer(t, podOf(t, m, "Deployment", appName), "sidecar")
		require.NotContains(t, sidecar.Args, "--resources-path")
	})
}

func TestChartTracingAndTokens(t *testing.T) {
	forEachValueSet(t, func(t *testing.T, vs valueSet, m manifests) {
		var cfg struct {
			Kind string `json:"kind"`
			Spec struct {
				Tracing struct {
					SamplingRate string `json:"samplingRate"`
					Otel         struct {
						EndpointAddress string `json:"endpointAddress"`
						Protocol        string `json:"protocol"`
					} `json:"otel"`
				} `json:"tracing"`
			} `json:"spec"`
		}
		var data configData
		m.get(t, "ConfigMap", fullName+"-config").decode(t, &data)
		require.NoError(t, yaml.Unmarshal([]byte(data.Data["config.yaml"]), &cfg))
		require.Equal(t, "Configuration", cfg.Kind)

		pod := podOf(t, m, "Deployment", appName)
		app, sidecar := findContainer(t, pod, "app"), findContainer(t, pod, "sidecar")

		if vs.name == "default" {
			require.Equal(t, "0", cfg.Spec.Tracing.SamplingRate)
			require.Empty(t, cfg.Spec.Tracing.Otel.EndpointAddress)
			require.False(t, hasEnv(app, "DAPR_API_TOKEN") || hasEnv(sidecar, "DAPR_API_TOKEN"))
			return
		}

		require.Equal(t, "0.1", cfg.Spec.Tracing.SamplingRate)
		require.Equal(t, "jaeger-collector.observability.svc:4317",
			cfg.Spec.Tracing.Otel.EndpointAddress)
		require.Equal(t, "grpc", cfg.Spec.Tracing.Otel.Protocol)

		for _, name := range []string{"DAPR_API_TOKEN", "APP_API_TOKEN"} {
			ref := envSecret(t, sidecar, name)
			require.Equal(t, ref, envSecret(t, app, name), "%s differs between containers", name)
			require.NotEmpty(t, secretValue(t, m, ref), "%s is empty", name)
		}
	})
}

func TestChartImagesMatchDockerfiles(t *testing.T) {
	m := newHelm(t).template(chartDir(t))
	pods := map[string]podSpec{
		"placement": podOf(t, m, "StatefulSet", placementName),
		"app":       podOf(t, m, "Deployment", appName),
		"sidecar":   podOf(t, m, "Deployment", appName),
	}

	for _, img := range images {
		c := findContainer(t, pods[img.container], img.container)
		require.Empty(t, c.Command, "%s: the image's ENTRYPOINT must run", img.container)

		var ports []string
		for _, p := range c.Ports {
			ports = append(ports, strconv.Itoa(p.ContainerPort))
		}
		require.ElementsMatch(t, parseDockerfile(t, img.dockerfile).stages[1].expose, ports,
			"%s container ports vs %s EXPOSE", img.container, img.dockerfile)
	}
}

func TestChartMetrics(t *testing.T) {
	h := newHelm(t)
	m := h.template(chartDir(t), "--set", "metrics.serviceMonitor.enabled=true")

	var sm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port string `json:"port"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	monitors := m.ofKind("ServiceMonitor")
	require.Len(t, monitors, 1)
	monitors[0].decode(t, &sm)
	require.Len(t, sm.Spec.Endpoints, 1)

	svcObj := selectedService(t, m, sm.Spec.Selector.MatchLabels)
	var svc service
	svcObj.decode(t, &svc)
	sidecar := findContainer(t, podOf(t, m, "Deployment", appName), "sidecar")
	for _, p := range svc.Spec.Ports {
		if p.Name == sm.Spec.Endpoints[0].Port {
			require.Equal(t, flagInt(t, sidecar.Args, "--metrics-port"),
				portNumber(t, sidecar, p.TargetPort))
			return
		}
	}
	t.Fatalf("Service %s has no port %q", svcObj.Metadata.Name, sm.Spec.Endpoints[0].Port)
}

func TestChartGrafanaDashboards(t *testing.T) {
	h := newHelm(t)
	dir := copyChart(t)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "dashboards")))
	enabled := []string{"--set", "grafanaDashboard.enabled=true"}

	m := h.template(dir, enabled...)
	require.Nil(t, m.find("ConfigMap", fullName+"-dashboards"), "no dashboards, no ConfigMap")

	const dashboard = `{"title": "troupe"}`
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", "troupe.json"),
		[]byte(dashboard), 0o644))

	var data configData
	cm := h.template(dir, enabled...).get(t, "ConfigMap", fullName+"-dashboards")
	cm.decode(t, &data)
	require.Equal(t, dashboard, data.Data["troupe.json"])
	require.Equal(t, "1", cm.Metadata.Labels["grafana_dashboard"])

	require.Nil(t, h.template(dir).find("ConfigMap", fullName+"-dashboards"), "off by default")
}

func TestChartRejectsBadValues(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		set  string
		path string // where the schema error points
	}{
		{"placement.replicas=three", "/placement/replicas"},
		{"placement.replicas=0", "/placement/replicas"},
		{"sidecar.httpPort=70000", "/sidecar/httpPort"},
		{"redis.externalAddress=redis.example.com", "/redis/externalAddress"},
		{"tracing.enabled=true", "/tracing/endpointAddress"},
		{"tracing.protocol=udp", "/tracing/protocol"},
		{"app.id=Artifact_State", "/app/id"},
		{"containerSecurityContext.readOnlyRootFilesystem=false",
			"/containerSecurityContext/readOnlyRootFilesystem"},
		{"placment.replicas=3", "'placment' not allowed"},
	}

	for _, tc := range cases {
		t.Run(tc.set, func(t *testing.T) {
			out, err := h.run("template", testRelease, chartDir(t), "--set", tc.set)
			require.Error(t, err, "helm accepted --set %s", tc.set)
			require.Contains(t, out, "don't meet the specifications of the schema")
			require.Contains(t, out, tc.path)
		})
	}
}

// TestChartNotes renders NOTES.txt, which helm template leaves out, by turning it into a
// ConfigMap in a copy of the chart.
func TestChartNotes(t *testing.T) {
	h := newHelm(t)
	dir := copyChart(t)
	templates := filepath.Join(dir, "templates")
	notes, err := os.ReadFile(filepath.Join(templates, "NOTES.txt"))
	require.NoError(t, err)

	define := `{{- define "test.notes" -}}` + string(notes) + `{{- end -}}`
	wrap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n" +
		"data:\n  notes: {{ include \"test.notes\" . | toJson }}\n"
	require.NoError(t, os.Remove(filepath.Join(templates, "NOTES.txt")))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "_notes.tpl"), []byte(define), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "notes.yaml"), []byte(wrap), 0o644))

	render := func(t *testing.T, args ...string) string {
		var data configData
		h.template(dir, args...).get(t, "ConfigMap", "notes").decode(t, &data)
		return data.Data["notes"]
	}

	t.Run("default", func(t *testing.T) {
		text := render(t)
		require.Contains(t, text, "port-forward service/"+appName+" 8082:8082")
		require.Contains(t, text, "localhost:8082/artifactState/setArtifactReadByUser")
		require.NotContains(t, text, "WARNING")
	})

	t.Run("production", func(t *testing.T) {
		text := render(t, "-f", filepath.Join(dir, "ci", "production-values.yaml"))
		require.Contains(t, text, "WARNING: placement.replicas is 3")
		require.Contains(t, text, "secret "+fullName+"-api-token")
		require.Contains(t, text, "jaeger-collector.observability.svc:4317")
	})
}

func TestChartReadmeDocumentsEveryValue(t *testing.T) {
	values, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(chartDir(t), "README.md"))
	require.NoError(t, err)

	var tree map[string]any
	require.NoError(t, yaml.Unmarshal(values, &tree))
	for _, key := range valueKeys("", tree) {
		require.Contains(t, string(readme), "`"+key+"`", "README.md does not document %s", key)
	}
}

// valueKeys lists the dotted paths of the leaves of a values tree. Maps that are empty by
// default (labels, annotations) are leaves: their keys are the user's.
func valueKeys(prefix string, tree map[string]any) []string {
	var keys []string
	for k, v := range tree {
		key := strings.TrimPrefix(prefix+"."+k, ".")
		sub, ok := v.(map[string]any)
		if ok && len(sub) > 0 && !isFreeForm(k) {
			keys = append(keys, valueKeys(key, sub)...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// isFreeForm reports whether a values key holds Kubernetes fields passed through as they
// are, documented as a whole.
func isFreeForm(key string) bool {
	switch key {
	case "podSecurityContext", "containerSecurityContext", "resources", "labels":
		return true
	}
	return false
}

// copyChart copies the chart to a temporary folder that a test may change.
func copyChart(t *testing.T) string {
	t.Helper()

	dir := filepath.Join(t.TempDir(), "troupe")
	require.NoError(t, os.CopyFS(dir, os.DirFS(chartDir(t))))
	return dir
}

// podSpecs returns the pod template of every Deployment and StatefulSet, by kind/name.
func podSpecs(t *testing.T, m manifests) map[string]podSpec {
	t.Helper()

	pods := map[string]podSpec{}
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		for _, o := range m.ofKind(kind) {
			var w workload
			o.decode(t, &w)
			pods[kind+"/"+o.Metadata.Name] = w.Spec.Template.Spec
		}
	}
	return pods
}

func podOf(t *testing.T, m manifests, kind, name string) podSpec {
	t.Helper()

	var w workload
	m.get(t, kind, name).decode(t, &w)
	return w.Spec.Template.Spec
}

func findContainer(t *testing.T, pod podSpec, name string) container {
	t.Helper()

	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return container{}
}

// flagValue returns the value of a flag given as "--name value" or "--name=value".
func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()

	for i, arg := range args {
		if v, ok := strings.CutPrefix(arg, name+"="); ok {
			return v
		}
		if arg == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("flag %s not in %q", name, args)
	return ""
}

func flagInt(t *testing.T, args []string, name string) int {
	t.Helper()

	n, err := strconv.Atoi(flagValue(t, args, name))
	require.NoError(t, err, "flag %s", name)
	return n
}

// flagPort returns a port flag's value and requires the container to declare that port.
func flagPort(t *testing.T, c container, name string) int {
	t.Helper()

	port := flagInt(t, c.Args, name)
	portNumber(t, c, portRef(strconv.Itoa(port)))
	return port
}

// portNumber resolves a port reference to one of the container's ports.
func portNumber(t *testing.T, c container, ref portRef) int {
	t.Helper()

	for _, p := range c.Ports {
		if string(ref) == p.Name || string(ref) == strconv.Itoa(p.ContainerPort) {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, ref)
	return 0
}

// mountedVolume returns the volume mounted in c at dir.
func mountedVolume(t *testing.T, pod podSpec, c container, dir string) volume {
	t.Helper()

	for _, mount := range c.VolumeMounts {
		if mount.MountPath != dir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == mount.Name {
				return v
			}
		}
	}
	t.Fatalf("container %s mounts no volume at %s", c.Name, dir)
	return volume{}
}

// componentMetadata returns the metadata of the rendered actor state store component.
func componentMetadata(t *testing.T, m manifests) map[string]string {
	t.Helper()

	var data configData
	m.get(t, "Secret", fullName+"-components").decode(t, &data)

	var comp struct {
		Kind string `json:"kind"`
		Spec struct {
			Type     string `json:"type"`
			Metadata []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"metadata"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(data.StringData["statestore.yaml"]), &comp))
	require.Equal(t, "Component", comp.Kind)
	require.Equal(t, "state.redis", comp.Spec.Type)

	md := map[string]string{}
	for _, item := range comp.Spec.Metadata {
		md[item.Name] = item.Value
	}
	return md
}

// secretRef is a key of a Secret.
type secretRef struct{ name, key string }

// envSecret returns the Secret key an environment variable of c comes from.
func envSecret(t *testing.T, c container, name string) secretRef {
	t.Helper()

	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return secretRef{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
		}
	}
	t.Fatalf("container %s has no %s from a Secret", c.Name, name)
	return secretRef{}
}

func hasEnv(c container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e envVar) bool { return e.Name == name })
}

// secretValue returns the decoded value of a rendered Secret's key.
func secretValue(t *testing.T, m manifests, ref secretRef) string {
	t.Helper()

	var data configData
	m.get(t, "Secret", ref.name).decode(t, &data)
	if v, ok := data.StringData[ref.key]; ok {
		return v
	}

	encoded, ok := data.Data[ref.key]
	require.True(t, ok, "Secret %s has no key %s", ref.name, ref.key)
	v, err := base64.StdEncoding.DecodeString(encoded)
	require.NoError(t, err)
	return string(v)
}

// selectedService returns the one Service whose labels include all of labels.
func selectedService(t *testing.T, m manifests, labels map[string]string) object {
	t.Helper()

	var found []object
	for _, o := range m.ofKind("Service") {
		matches := true
		for k, v := range labels {
			matches = matches && o.Metadata.Labels[k] == v
		}
		if matches {
			found = append(found, o)
		}
	}
	require.Len(t, found, 1, "Services selected by %v", labels)
	return found[0]
}
