# konnect-bridge container image.
#
#   docker build -t konnect-bridge .
#   docker run --rm -e NATS_URL=nats://nats:4222 -e KONNECT_TOKEN konnect-bridge
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
# Static binary (no cgo), so it runs on distroless/static. VERSION names the
# build in `bridge version` and konnect_bridge_build_info:
#   docker build --build-arg VERSION=$(git describe --always) .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/konnect-bridge/konnect-bridge/internal/metrics.version=${VERSION}" \
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
