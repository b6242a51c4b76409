package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the bridge's spans.
const (
	AttrBatchSize  = attribute.Key("messaging.batch.message_count")
	AttrStatus     = attribute.Key("http.response.status_code")
	AttrRetries    = attribute.Key("konnect_bridge.retries")
	AttrRequests   = attribute.Key("konnect_bridge.requests")
	AttrDelivered  = attribute.Key("konnect_bridge.events.delivered")
	AttrRejected   = attribute.Key("konnect_bridge.events.rejected")
	AttrHandedBack = attribute.Key("konnect_bridge.events.handed_back")
	AttrKind       = attribute.Key("konnect_bridge.dead_letter.kind")
	AttrReason     = attribute.Key("konnect_bridge.dead_letter.reason")
	AttrSubject    = attribute.Key("messaging.destination.name")
)

// Batch is the span of one batch on its way to Konnect: every request it
// took (splits and retries), and what became of its events. A nil Batch
// records nothing. It is used by one goroutine at a time.
type Batch struct {
	span                            trace.Span
	status, requests, retries       int
	delivered, rejected, handedBack int
}

// StartBatch starts the span of a batch of size events; traceparent(i) is
// the producer's trace context of event i ("" for none), each a link.
func (t *Tracer) StartBatch(ctx context.Context, size int, traceparent func(int) string) *Batch {
	if t == nil {
		return nil
	}
	_, span := t.tracer.Start(ctx, "deliver batch", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(links(size, traceparent)...), trace.WithAttributes(AttrBatchSize.Int(size)))
	return &Batch{span: span}
}

// Request records one request of the batch (or of a part of it) and
// Konnect's answer: status (0 when none came), the verdict, and whether
// the answer is retried.
func (b *Batch) Request(status int, verdict string, retried bool) {
	if b == nil {
		return
	}
	b.requests++
	b.status = status
	if retried {
		b.retries++
	}
	b.span.AddEvent("request", trace.WithAttributes(AttrStatus.Int(status), attribute.String("konnect_bridge.verdict", verdict)))
}

// Settled counts what became of one event: delivered, rejected (it will be
// dead-lettered) or neither (handed back to NATS).
func (b *Batch) Settled(delivered, rejected bool) {
	if b == nil {
		return
	}
	switch {
	case delivered:
		b.delivered++
	case rejected:
		b.rejected++
	default:
		b.handedBack++
	}
}

// End ends the span with the last answer, the retries and the counts. It
// is an error when events were handed back rather than delivered.
func (b *Batch) End() {
	if b == nil {
		return
	}
	b.span.SetAttributes(AttrStatus.Int(b.status), AttrRequests.Int(b.requests), AttrRetries.Int(b.retries),
		AttrDelivered.Int(b.delivered), AttrRejected.Int(b.rejected), AttrHandedBack.Int(b.handedBack))
	if b.handedBack > 0 {
		b.span.SetStatus(codes.Error, "events handed back to NATS for redelivery")
	}
	b.span.End()
}

// DeadLetter records storing one dead letter: its kind and reason, the
// subject it came from, linked to its producer's trace context, and err
// when it could not be stored.
func (t *Tracer) DeadLetter(traceparent, subject, kind, reason string, err error) {
	if t == nil {
		return
	}
	_, span := t.tracer.Start(context.Background(), "dead-letter event", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(links(1, func(int) string { return traceparent })...),
		trace.WithAttributes(AttrSubject.String(subject), AttrKind.String(kind), AttrReason.String(reason)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "dead letter not stored")
	}
	span.End()
}
