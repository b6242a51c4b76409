package publish_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// BenchmarkBatchTracing delivers batches of 100 events, each with its
// producer's trace context, to a local endpoint answering 202, with
// tracing off and on (spans to a batching exporter that drops them): the
// cost of a batch's span, its links and its per-event outcome counts.
func BenchmarkBatchTracing(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	const size = 100
	event := runJSON(b, "run-1")
	traceparents := []string{traceA, traceB}
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			l := limits()
			l.Size, l.InFlight, l.Linger = size, 1, time.Second
			p := publish.New(publish.NewClient(srv.URL, "", 5*time.Second, time.Second, 1), l, zerolog.Nop(), metrics.New(), health.New(nil))
			if on {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				defer func() { _ = tp.Shutdown(context.Background()) }()
				p.Trace(tracing.New(tp))
			}
			in := make(chan delivery.Item, size)
			done := make(chan struct{})
			go func() {
				p.Run(context.Background(), in)
				close(done)
			}()
			var settled sync.WaitGroup
			item := func(i int) delivery.Item {
				return delivery.Item{JSON: event, Traceparent: traceparents[i%2], Owner: delivery.SettleFunc(func(delivery.Settlement) { settled.Done() })}
			}
			b.ReportAllocs()
			for b.Loop() {
				settled.Add(size)
				for i := range size {
					in <- item(i)
				}
				settled.Wait()
			}
			close(in)
			<-done
		})
	}
}
