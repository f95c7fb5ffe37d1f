#!/bin/sh
# helm.sh builds the helm CLI that the chart tests use and prints its path.
#
# helm is built from source with the Go toolchain (the only registry this project's
# machines reach is the Go module proxy), into a tools folder outside the repository, so
# helm and its Kubernetes dependencies never enter troupe's go.mod. A second run finds
# the binary already there and only prints its path.
#
# Usage: scripts/helm.sh        prints e.g. /root/.cache/troupe-tools/helm-v3.21.4/helm
#        TROUPE_HELM="$(scripts/helm.sh)" go test ./internal/deploytest/
#
# Environment: HELM_VERSION (default below), TROUPE_TOOLS (default ~/.cache/troupe-tools).
set -eu

version="${HELM_VERSION:-v3.21.4}"
tools="${TROUPE_TOOLS:-${HOME}/.cache/troupe-tools}"
bindir="${tools}/helm-${version}"
helm="${bindir}/helm"

if [ ! -x "${helm}" ]; then
	mkdir -p "${bindir}"
	echo "building helm ${version} into ${bindir} (a few minutes the first time)" >&2

	# Build from outside any module, so the repository's go.mod is neither read nor written.
	cd "${tools}"

	# Stamp the version and the Kubernetes version helm was built against, as helm's own
	# Makefile does; without them `helm install --dry-run` assumes Kubernetes 1.20.
	gomod="$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@${version}" |
		sed -n 's/.*"GoMod": "\(.*\)",*$/\1/p')"
	k8s_minor="$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "${gomod}")"
	ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${version}"
	for pkg in pkg/lint/rules pkg/chartutil; do
		ldflags="${ldflags} -X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1"
		ldflags="${ldflags} -X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${k8s_minor}"
	done

	GOFLAGS=-mod=mod GOBIN="${bindir}" \
		go install -ldflags="${ldflags}" "helm.sh/helm/v3/cmd/helm@${version}" >&2
fi

echo "${helm}"
