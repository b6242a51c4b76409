package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// startTracing turns OpenTelemetry tracing on when the standard OTEL_*
// environment asks for it, as an option of bridge.Run; stop sends the
// spans still buffered, for at most 5 s.
func startTracing(ctx context.Context, log zerolog.Logger) (traced bridge.Option, stop func(), err error) {
	t, shutdown, err := tracing.FromEnv(ctx, os.Getenv, metrics.Build().Version, log)
	if err != nil {
		return nil, nil, err
	}
	return bridge.WithTracer(t), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
	}, nil
}
