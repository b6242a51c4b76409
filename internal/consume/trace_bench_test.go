package consume

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// benchSettler settles nothing: the benchmark measures the bridge's side.
type benchSettler struct{}

func (benchSettler) ack(int) error                        { return nil }
func (benchSettler) handBack(time.Duration, string) error { return nil }
func (benchSettler) term(string) error                    { return nil }
func (benchSettler) progress()                            {}
func (benchSettler) origin() deadletter.Origin            { return deadletter.Origin{} }

// BenchmarkEmitTracing is the per-event path from a NATS message to the
// Item handed to the publisher (decode, prepare, the Item, settling its
// message once delivered) with tracing off and on: off, the trace context
// is never looked at; on, it is kept as its raw traceparent string.
func BenchmarkEmitTracing(b *testing.B) {
	const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	plain := benchMessages()[0]
	messages := []benchMessage{
		plain,
		{name: "structured_traceparent_header", header: nats.Header{"traceparent": {traceparent}}, data: plain.data, events: 1},
		{name: "structured_traceparent_attribute", data: []byte(`{"specversion":"1.0","id":"8655CDD7-0775-4AEA-AF8C-89C47EBC8828","source":"acme-platform","type":"agent_run","subject":"acme-inc","time":"2026-11-27T08:00:00Z","traceparent":"` + traceparent + `","datacontenttype":"application/json","data":{"agent_name":"summarizer","tokens":1234,"duration_ms":5678}}`), events: 1},
	}
	p := provenance{base: "AGENT_RUNS-1a2b3c-1", stored: time.Now()}
	ctx := context.Background()
	for _, traced := range []bool{false, true} {
		x := newEmitter(config.Defaults(), &deadletter.DeadLetters{}, zerolog.Nop(), metrics.New(), Rules{})
		if traced {
			x.dlq.Trace(tracing.New(noop.NewTracerProvider()))
		}
		for _, m := range messages {
			name := "off/" + m.name
			if traced {
				name = "on/" + m.name
			}
			b.Run(name, func(b *testing.B) {
				out := make(chan delivery.Item, m.events)
				raw := &nats.Msg{Subject: "agent.runs.acme", Header: m.header, Data: m.data}
				perEvent(b, m.events, func() {
					x.emit(ctx, &message{raw: raw, s: benchSettler{}, p: p}, out)
					for range m.events {
						it := <-out
						if traced != (it.Traceparent != "") && m.name != plain.name {
							b.Fatalf("tracing %v, trace context %q", traced, it.Traceparent)
						}
						it.Done(delivery.Deliver())
					}
				})
			})
		}
	}
}
