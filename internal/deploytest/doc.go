// Package deploytest checks what troupe ships for deployment without a Docker engine or a
// cluster: the Dockerfiles (parsed with BuildKit's parser), the binaries the images build
// (built with the same script and inspected), and the Helm chart (linted and rendered with
// helm, then read as Kubernetes objects).
//
// The chart tests need helm: TROUPE_HELM names the binary (scripts/helm.sh builds one),
// else it is looked up on PATH; without it they skip, or fail when TROUPE_REQUIRE_TOOLS=1.
package deploytest
