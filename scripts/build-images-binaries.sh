#!/bin/sh
# build-images-binaries.sh builds troupe's binaries exactly as the container images do:
# the Dockerfiles run this script in their build stage, so CI running it builds the same
# static, stripped binaries without a Docker engine.
#
# Usage: scripts/build-images-binaries.sh OUTDIR [BINARY...]
#        BINARY is sidecar, placement or app; all three when none is given.
#
# GOOS and GOARCH from the environment pick the target platform, as in any go build.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 OUTDIR [sidecar|placement|app]..." >&2
	exit 2
fi
out="$1"
shift
case "${out}" in
/*) ;;
*) out="$(pwd)/${out}" ;;
esac
if [ $# -eq 0 ]; then
	set -- sidecar placement app
fi

# Run from the module root, wherever the script is called from.
cd "$(dirname "$0")/.."
mkdir -p "${out}"

for bin in "$@"; do
	case "${bin}" in
	sidecar | placement | app) ;;
	*)
		echo "unknown binary ${bin}; want sidecar, placement or app" >&2
		exit 2
		;;
	esac

	# Static (no cgo, so the distroless static image runs it), reproducible (-trimpath)
	# and stripped (-s -w) binaries.
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${out}/${bin}" "./${bin}"
	echo "built ${out}/${bin}"
done
