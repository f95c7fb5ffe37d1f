#!/bin/sh
# jaeger.sh builds the Jaeger all-in-one that the tracing end-to-end test runs and prints
# its path.
#
# Jaeger is built from source with the Go toolchain (the only registry this project's
# machines reach is the Go module proxy), from the separate module tools/jaeger, whose
# go.mod and go.sum pin the version and every dependency, into a tools folder outside
# the repository. A second run finds the binary already there and only prints its path.
#
# Usage: scripts/jaeger.sh        prints e.g. /root/.cache/troupe-tools/jaeger-v1.75.0/jaeger-all-in-one
#        TROUPE_JAEGER="$(scripts/jaeger.sh)" go test ./internal/telemetry/
#
# Environment: TROUPE_TOOLS (default ~/.cache/troupe-tools).
set -eu

module="$(cd "$(dirname "$0")/../tools/jaeger" && pwd)"
version="$(sed -n 's#^[[:space:]]*github.com/jaegertracing/jaeger \(v[^ ]*\).*#\1#p' \
	"${module}/go.mod")"
tools="${TROUPE_TOOLS:-${HOME}/.cache/troupe-tools}"
bindir="${tools}/jaeger-${version}"
jaeger="${bindir}/jaeger-all-in-one"

if [ ! -x "${jaeger}" ]; then
	mkdir -p "${bindir}"
	echo "building jaeger all-in-one ${version} into ${bindir} (minutes the first time)" >&2

	# Stamp the version as Jaeger's own Makefile does, so `version` reports it.
	ldflags="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=${version}"
	cd "${module}"
	go build -trimpath -ldflags="${ldflags}" -o "${jaeger}.tmp" \
		github.com/jaegertracing/jaeger/cmd/all-in-one >&2
	mv "${jaeger}.tmp" "${jaeger}"
fi

echo "${jaeger}"
