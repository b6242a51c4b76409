package publish_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Two producers' trace contexts, W3C traceparent values.
const (
	traceA = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	traceB = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// tracedBatch delivers items as one batch through a traced publisher and
// returns the spans it recorded, once every item is settled.
func tracedBatch(t *testing.T, l publish.Limits, items []delivery.Item, opts ...sandbox.Option) []tracetest.SpanStub {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	k := testkit.NewKonnect(t, append(opts, sandbox.WithToken(token))...)
	p := publish.New(publish.NewClient(k.URL, token, 5*time.Second, time.Second, 1), l, zerolog.Nop(), metrics.New(), health.New(nil))
	p.Trace(tracing.New(tp))
	in := make(chan delivery.Item, len(items))
	for _, it := range items {
		in <- it
	}
	close(in)
	p.Run(context.Background(), in)
	return exp.GetSpans()
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// A batch is one span: its size, Konnect's last answer, the retries and
// what became of its events, linked once to each producer's trace context.
// Konnect still gets no traceparent (the events' JSON carries none).
func TestEveryBatchIsASpanLinkedToItsProducers(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		opts                                           []sandbox.Option
		status, retries, delivered, rejected, handBack int64
		failed                                         bool
	}{
		"delivered":      {status: 202, delivered: 5},
		"after two 503s": {opts: []sandbox.Option{sandbox.WithFault(sandbox.Times(2, sandbox.Answer(503, 0)))}, status: 202, retries: 2, delivered: 5},
		"one event refused": {opts: []sandbox.Option{sandbox.WithReject(func(e sandbox.Event) string {
			if e.ID == "run-02" {
				return "no such meter"
			}
			return ""
		})}, status: 202, delivered: 4, rejected: 1},
		"handed back after budget": {opts: []sandbox.Option{sandbox.WithFault(sandbox.Answer(503, 0))}, status: 503, handBack: 5, failed: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLedger(t)
			items := make([]delivery.Item, 0, 5)
			for i, id := range runIDs(5) {
				it := l.item(id)
				it.Traceparent = []string{traceA, traceA, traceB, "", "not-a-traceparent"}[i]
				items = append(items, it)
			}
			spans := tracedBatch(t, oneSender(time.Second), items, tt.opts...)
			if len(spans) != 1 {
				t.Fatalf("%d spans, want one for the batch", len(spans))
			}
			s := spans[0]
			a := attrs(s)
			got := map[attribute.Key]int64{}
			for _, k := range []attribute.Key{tracing.AttrBatchSize, tracing.AttrStatus, tracing.AttrRetries, tracing.AttrDelivered, tracing.AttrRejected, tracing.AttrHandedBack} {
				got[k] = a[k].AsInt64()
			}
			want := map[attribute.Key]int64{tracing.AttrBatchSize: 5, tracing.AttrStatus: tt.status, tracing.AttrDelivered: tt.delivered,
				tracing.AttrRejected: tt.rejected, tracing.AttrHandedBack: tt.handBack, tracing.AttrRetries: tt.retries}
			if tt.failed {
				if got[tracing.AttrRetries] < 1 {
					t.Errorf("%s = %d, want the retries before the budget ran out", tracing.AttrRetries, got[tracing.AttrRetries])
				}
				delete(want, tracing.AttrRetries)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %d, want %d", k, got[k], v)
				}
			}
			if (s.Status.Code == codes.Error) != tt.failed {
				t.Errorf("span status %v, want an error only when events were handed back", s.Status)
			}
			var linked []string
			for _, ln := range s.Links {
				linked = append(linked, ln.SpanContext.TraceID().String())
			}
			if len(linked) != 2 || linked[0] != traceA[3:35] || linked[1] != traceB[3:35] {
				t.Errorf("links to traces %v, want one to each producer's: %s, %s", linked, traceA[3:35], traceB[3:35])
			}
		})
	}
}

// oneSender is limits() with one request at a time and a retry budget.
func oneSender(budget time.Duration) publish.Limits {
	l := limits()
	l.InFlight, l.RetryBudget = 1, budget
	return l
}
