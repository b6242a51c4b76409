package publish

import (
	"context"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Trace makes a span of every batch with t, linked to the producers' trace
// contexts (Item.Traceparent). Call it before Run; a nil t leaves tracing
// off.
func (p *Publisher) Trace(t *tracing.Tracer) { p.tracer = t }

// startTrace starts the batch's span and counts each item's outcome into
// it. Every outcome of a batch is settled within deliver, on the sender's
// goroutine, so the counts need no lock.
func (s *sender) startTrace(ctx context.Context, items []delivery.Item) {
	b := s.p.tracer.StartBatch(ctx, len(items), func(i int) string { return items[i].Traceparent })
	s.batch = b
	for i := range items {
		done := items[i].Done
		items[i].Done = func(o delivery.Settlement) {
			b.Settled(o.Fate == delivery.Delivered, o.Fate == delivery.DeadLetter)
			done(o)
		}
	}
}

func (s *sender) endTrace() {
	s.batch.End()
	s.batch = nil
}
