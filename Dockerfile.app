# syntax=docker/dockerfile:1
# The ArtifactState demo app: virtual actors behind a troupe (or Dapr) sidecar.
#
#   docker build -f Dockerfile.app -t troupe/app:dev .

ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    sh scripts/build-images-binaries.sh /out app

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="troupe-artifact-app" \
      org.opencontainers.image.description="ArtifactState demo app for troupe" \
      org.opencontainers.image.source="https://github.com/troupe-dev/troupe" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/app /usr/local/bin/app
USER 65532:65532
# Public API, actor callbacks from the sidecar.
EXPOSE 8082 3000
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["--http-port", "8082", "--app-port", "3000"]
