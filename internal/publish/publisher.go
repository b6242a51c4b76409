package publish

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Limits bound batches, concurrency and retries.
type Limits struct {
	Size, Bytes int
	Linger      time.Duration
	// InFlight caps the requests at once; adaptive concurrency finds how
	// many, from 1 up, unless FixedConcurrency holds it at InFlight.
	InFlight int
	// FixedConcurrency is for tests that need several requests at once
	// from the start; the bridge never sets it.
	FixedConcurrency bool
	RetryBudget      time.Duration
	MaxBackoff       time.Duration
	NakDelay         time.Duration
	ProbeMax         time.Duration
}

// Publisher turns a stream of delivery.Items into batches delivered to Konnect.
type Publisher struct {
	client  *Client
	limits  Limits
	log     zerolog.Logger
	metrics *metrics.Metrics
	health  *health.Health
	gate    *gate
	limiter *limiter
	// tracer is nil when tracing is off.
	tracer *tracing.Tracer
}

// New builds a Publisher; Run starts it.
func New(client *Client, limits Limits, log zerolog.Logger, m *metrics.Metrics, h *health.Health) *Publisher {
	return &Publisher{client: client, limits: limits, log: log, metrics: m, health: h, gate: newGate(), limiter: newLimiter(limits.InFlight, limits.FixedConcurrency, m.ConcurrencyLimit)}
}

// Run batches the items from in and delivers them with up to InFlight
// requests at once: adaptive concurrency (arc.go) sets how many, from 1 up,
// by Konnect's round trips and answers. It returns once in is closed and
// every item is settled. When ctx ends first (the deadline of a stop),
// every item not yet delivered is handed back, and so is every item that
// still arrives, at once, until in is closed: the caller stops whatever
// sends on in, then closes it. Nothing is lost; every Item gets exactly one
// Done.
func (p *Publisher) Run(ctx context.Context, in <-chan delivery.Item) {
	batches := make(chan []delivery.Item)
	var wg sync.WaitGroup
	for range p.limits.InFlight {
		wg.Go(func() { p.work(ctx, batches) })
	}
	p.collect(ctx, in, batches)
	close(batches)
	wg.Wait()
}

// work delivers batches one at a time, each with a slot of the limiter
// taken before the batch is: a sender holding a slot and waiting is what
// tells collect to send the batch it has.
func (p *Publisher) work(ctx context.Context, batches <-chan []delivery.Item) {
	s := sender{p: p}
	for {
		if p.limiter.acquire(ctx) != nil {
			for b := range batches {
				p.handBack(b, "shutting down", 0)
			}
			return
		}
		b, ok := <-batches
		if !ok {
			p.limiter.release()
			return
		}
		s.deliver(ctx, b)
		p.limiter.release()
	}
}

// collect owns the batch being filled. It hands the batch to a sender as
// soon as one is free and no item waits on in, so that batches stay small
// and quick when the bridge is idle and grow while a backlog waits. It
// sends it in any case when it holds Size events, when the next event
// would pass Bytes, or Linger after its first event.
func (p *Publisher) collect(ctx context.Context, in <-chan delivery.Item, out chan<- []delivery.Item) {
	b := batch{p: p, out: out, linger: time.NewTimer(time.Hour)}
	b.linger.Stop()
	for {
		// Take what already waits before offering the batch to a sender.
		select {
		case it, ok := <-in:
			if !ok {
				b.flush(ctx)
				return
			}
			b.add(ctx, it)
			continue
		default:
		}
		var free chan<- []delivery.Item
		if len(b.items) > 0 {
			free = out
		}
		select {
		case free <- b.items:
			b.reset()
		case it, ok := <-in:
			if !ok {
				b.flush(ctx)
				return
			}
			b.add(ctx, it)
		case <-b.linger.C:
			b.flush(ctx)
		case <-ctx.Done():
			p.handBack(b.items, "shutting down", 0)
			p.handBackRest(in)
			return
		}
	}
}

// batch is the batch collect fills.
type batch struct {
	p      *Publisher
	out    chan<- []delivery.Item
	items  []delivery.Item
	bytes  int
	linger *time.Timer
}

// add puts it in the batch, sending the batch first when it would pass
// Bytes, and after when it holds Size events.
func (b *batch) add(ctx context.Context, it delivery.Item) {
	l := b.p.limits
	// The body is '[', each event after '[' or ',', then ']'.
	if len(b.items) > 0 && b.bytes+len(it.JSON)+2 > l.Bytes {
		b.flush(ctx)
	}
	if len(b.items) == 0 {
		b.items = make([]delivery.Item, 0, l.Size)
		b.linger.Reset(l.Linger)
	}
	b.items = append(b.items, it)
	b.bytes += len(it.JSON) + 1
	if len(b.items) >= l.Size {
		b.flush(ctx)
	}
}

// flush waits for a sender to take the batch, or hands it back when ctx
// ends first.
func (b *batch) flush(ctx context.Context) {
	if len(b.items) == 0 {
		b.linger.Stop()
		return
	}
	select {
	case b.out <- b.items:
	case <-ctx.Done():
		b.p.handBack(b.items, "shutting down", 0)
	}
	b.reset()
}

// reset starts an empty batch.
func (b *batch) reset() {
	b.linger.Stop()
	b.items, b.bytes = nil, 0
}

// handBackRest hands back every item still arriving on in until it is
// closed: the sources may send a few more before they stop.
func (p *Publisher) handBackRest(in <-chan delivery.Item) {
	for it := range in {
		p.handBack([]delivery.Item{it}, "shutting down", 0)
	}
}

// handBackAll gives every item of every part back for redelivery after
// delay.
func (p *Publisher) handBackAll(parts [][]delivery.Item, reason string, delay time.Duration) {
	for _, part := range parts {
		p.handBack(part, reason, delay)
	}
}

// handBack gives every item back for redelivery after delay.
func (p *Publisher) handBack(items []delivery.Item, reason string, delay time.Duration) {
	o := delivery.Later(delay, reason)
	for _, it := range items {
		it.Done(o)
	}
}

// unexpected counts an answer that is not the ingest API's and keeps it for
// the status page, as its log line says it: host, status, content type.
func (p *Publisher) unexpected(o Answer) {
	p.metrics.UnexpectedAnswers.WithLabelValues(strconv.Itoa(o.Status), o.Class).Inc()
	p.health.Unexpected(o.Reason)
}
