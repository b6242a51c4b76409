# konnect-bridge container image.
#
#   docker build -t konnect-bridge \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BUILD_TIME=$(git show -s --format=%cI HEAD) \
#     --build-arg MODIFIED=$(test -z "$(git status --porcelain)" && echo false || echo true) .
#   docker run --rm -e NATS_URL=nats://nats:4222 -e KONNECT_TOKEN konnect-bridge
#
# The build context leaves .git out (.dockerignore), so Go cannot read the
# commit itself: the build arguments stamp what `bridge version` and
# konnect_bridge_build_info show (the commit, its time as vcs.time is, and
# whether the tree held uncommitted changes). Without them both say
# "unknown" and why.
#
# The final image holds one static binary and nothing else: no shell, no curl.
# The container healthcheck therefore runs the binary itself (`bridge health`).

# Build stage.
FROM golang:1.26 AS build
WORKDIR /src
# The image builds the bridge's module alone: go.work (which adds the deploy
# module and its test dependencies) is not in the build context.
ENV GOWORK=off

# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binary (no cgo), so it runs on distroless/static. The build
# arguments (see the top of this file) name the build in `bridge version`
# and konnect_bridge_build_info.
ARG VERSION=dev
ARG REVISION=
ARG BUILD_TIME=
ARG MODIFIED=
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w \
      -X github.com/konnect-bridge/konnect-bridge/internal/metrics.version=${VERSION} \
      -X github.com/konnect-bridge/konnect-bridge/internal/metrics.revision=${REVISION} \
      -X github.com/konnect-bridge/konnect-bridge/internal/metrics.buildTime=${BUILD_TIME} \
      -X github.com/konnect-bridge/konnect-bridge/internal/metrics.modified=${MODIFIED}" \
    -o /out/bridge ./cmd/bridge

# Final stage: distroless static, which carries CA certificates (for the
# HTTPS calls to Konnect) and runs as the unprivileged user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /bridge
USER nonroot:nonroot

# The admin server (/healthz, /readyz, /metrics) defaults to 127.0.0.1:8080,
# which nothing outside the container can reach.
ENV BRIDGE_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/bridge", "health"]
ENTRYPOINT ["/bridge"]
