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
	owners := make([]tracedOwner, len(items))
	for i := range items {
		owners[i] = tracedOwner{batch: b, owner: items[i].Owner}
		items[i].Owner = &owners[i]
	}
}

// tracedOwner counts an item's outcome into its batch's span, then gives it
// to the item's owner.
type tracedOwner struct {
	batch *tracing.Batch
	owner delivery.Owner
}

func (t *tracedOwner) Settle(i int, o delivery.Settlement) {
	t.batch.Settled(o.Fate == delivery.Delivered, o.Fate == delivery.DeadLetter)
	t.owner.Settle(i, o)
}

func (s *sender) endTrace() {
	s.batch.End()
	s.batch = nil
}
