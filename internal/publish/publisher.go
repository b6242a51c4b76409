package publish

import (
	"context"
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
	InFlight    int
	RetryBudget time.Duration
	MaxBackoff  time.Duration
	NakDelay    time.Duration
	ProbeMax    time.Duration
}

// Publisher turns a stream of delivery.Items into batches delivered to Konnect.
type Publisher struct {
	client  *Client
	limits  Limits
	log     zerolog.Logger
	metrics *metrics.Metrics
	health  *health.Health
	gate    *gate
	// tracer is nil when tracing is off.
	tracer *tracing.Tracer
}

// New builds a Publisher; Run starts it.
func New(client *Client, limits Limits, log zerolog.Logger, m *metrics.Metrics, h *health.Health) *Publisher {
	return &Publisher{client: client, limits: limits, log: log, metrics: m, health: h, gate: newGate()}
}

// Run batches the items from in and delivers them with up to InFlight
// requests at once. It returns once in is closed and every item is settled.
// When ctx ends first (the deadline of a stop), every item not yet
// delivered is handed back (RetryLater), and so is every item that still
// arrives, at once, until in is closed: the caller stops whatever sends on
// in, then closes it. Nothing is lost; every Item gets exactly one Done.
func (p *Publisher) Run(ctx context.Context, in <-chan delivery.Item) {
	batches := make(chan []delivery.Item)
	var wg sync.WaitGroup
	for range p.limits.InFlight {
		wg.Go(func() {
			s := sender{p: p}
			for b := range batches {
				s.deliver(ctx, b)
			}
		})
	}
	p.collect(ctx, in, batches)
	close(batches)
	wg.Wait()
}

// collect owns the batch being filled: it is sent when it holds Size events,
// when the next event would pass Bytes, or Linger after its first event.
func (p *Publisher) collect(ctx context.Context, in <-chan delivery.Item, out chan<- []delivery.Item) {
	var (
		cur    []delivery.Item
		bytes  int
		linger = time.NewTimer(time.Hour)
	)
	linger.Stop()
	flush := func() {
		linger.Stop()
		if len(cur) == 0 {
			return
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			p.handBack(cur, "shutting down", 0)
		}
		cur, bytes = nil, 0
	}
	for {
		select {
		case it, ok := <-in:
			if !ok {
				flush()
				return
			}
			// The body is '[', each event after '[' or ',', then ']'.
			if len(cur) > 0 && bytes+len(it.JSON)+2 > p.limits.Bytes {
				flush()
			}
			if len(cur) == 0 {
				cur = make([]delivery.Item, 0, p.limits.Size)
				linger.Reset(p.limits.Linger)
			}
			cur = append(cur, it)
			bytes += len(it.JSON) + 1
			if len(cur) >= p.limits.Size {
				flush()
			}
		case <-linger.C:
			flush()
		case <-ctx.Done():
			p.handBack(cur, "shutting down", 0)
			p.handBackRest(in)
			return
		}
	}
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
