package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// Core reads producers that publish on core NATS (no JetStream) through a
// queue-group subscription, so replicas split the work. A message with a
// reply subject is answered only once Konnect accepted its events (or with
// the reason it did not), which makes request/reply producers at least
// once. Without a reply subject delivery is at most once: an event still in
// the bridge when it stops is lost.
type Core struct {
	nc      *nats.Conn
	subject string
	group   string
	limit   int
	log     zerolog.Logger
	emitter emitter
	health  *health.Health

	sub *nats.Subscription

	mu      sync.Mutex
	closed  bool
	pending map[*time.Timer]struct{}
	// waiting and waitingBytes count the retries not yet back in Run's
	// loop, bounded like the subscription's own pending messages.
	waiting, waitingBytes int
	wg                    sync.WaitGroup
	// retries brings messages due again back to Run's loop; done closes
	// when Run stops taking them.
	retries chan retry
	done    chan struct{}
}

// CorePendingBytes bounds the bytes of core NATS messages waiting for the
// bridge, next to BRIDGE_CORE_PENDING's count.
const CorePendingBytes = config.CorePendingBytes

// NewCore subscribes to cfg's BRIDGE_CORE_SUBJECT in BRIDGE_QUEUE_GROUP;
// r fences each event to the subject it arrived on and maps messages, where on. h,
// when not nil, shows messages NATS dropped as the last error.
func NewCore(nc *nats.Conn, cfg config.Config, log zerolog.Logger, m *metrics.Metrics, h *health.Health, dlq *deadletter.DeadLetters, r Rules) *Core {
	return &Core{
		nc: nc, subject: cfg.Bridge.CoreSubject, group: cfg.Bridge.QueueGroup, limit: cfg.Bridge.CorePending, log: log,
		emitter: newEmitter(cfg, dlq, log, m, r), health: h,
		pending: map[*time.Timer]struct{}{}, retries: make(chan retry), done: make(chan struct{}),
	}
}

// Subscribe joins the queue group and returns once the server knows of the
// subscription, so that a producer's request right after start finds it.
// At most BRIDGE_CORE_PENDING messages (and CorePendingBytes) wait for the
// bridge; past that NATS drops them, which Run counts and says.
func (c *Core) Subscribe() error {
	sub, err := c.nc.QueueSubscribeSync(c.subject, c.group)
	if err != nil {
		return fmt.Errorf("subscribe to core NATS %s: %w", c.subject, err)
	}
	if err := sub.SetPendingLimits(c.limit, CorePendingBytes); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("core NATS %s: BRIDGE_CORE_PENDING %d: %w", c.subject, c.limit, err)
	}
	if err := c.nc.FlushTimeout(5 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("subscribe to core NATS %s: %w", c.subject, err)
	}
	c.sub = sub
	c.log.Warn().Str("subject", c.subject).Str("queue_group", c.group).
		Msg("reading core NATS: request/reply producers are answered after Konnect accepts (at least once); messages without a reply subject are delivered at most once. Publish to the JetStream stream for no loss")
	return nil
}

// Run sends the subscription's events to out until ctx ends, and counts
// the messages NATS dropped because the bridge fell behind. Subscribe
// first. It owns the goroutines it starts: the subscription's reader, the
// drop counter, and the retries of messages without a reply subject, which
// come back through its loop. An error means the subscription ended.
func (c *Core) Run(ctx context.Context, out chan<- delivery.Item) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		c.stop(c.sub)
		wg.Wait()
	}()
	msgs := make(chan *nats.Msg)
	ended := make(chan error, 1)
	wg.Go(func() { ended <- c.read(ctx, msgs) })
	wg.Go(func() { c.countDrops(ctx, time.Second) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-ended:
			return err
		case msg := <-msgs:
			c.process(ctx, msg, out, received())
		case r := <-c.retries:
			c.process(ctx, r.msg, out, r.p)
		}
	}
}

// read hands the subscription's messages to msgs until ctx ends or the
// subscription does. Messages wait in the subscription meanwhile, within
// BRIDGE_CORE_PENDING.
func (c *Core) read(ctx context.Context, msgs chan<- *nats.Msg) error {
	for {
		msg, err := c.sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrSlowConsumer):
			continue // counted by countDrops
		case err != nil:
			c.log.Error().Err(err).Str("subject", c.subject).Msg("core NATS subscription ended")
			return fmt.Errorf("core NATS subscription to %s ended: %w", c.subject, err)
		}
		select {
		case msgs <- msg:
		case <-ctx.Done():
			c.lost(msg)
			return nil
		}
	}
}

// countDrops reads, every interval, how many messages NATS dropped for
// the subscription, and counts, logs and shows any new ones.
func (c *Core) countDrops(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := c.sub.Dropped()
		if err != nil || n <= seen {
			continue
		}
		c.emitter.metrics.CoreDropped.Add(float64(n - seen))
		msg := fmt.Sprintf("core NATS dropped %d message(s) on %s (%d in all): more than BRIDGE_CORE_PENDING (%d) waited for the bridge, a slow consumer. Their events are lost; publish to the JetStream stream for no loss", n-seen, c.subject, n, c.limit)
		c.log.Error().Int("dropped", n-seen).Int("dropped_total", n).Str("subject", c.subject).Msg(msg)
		if c.health != nil {
			c.health.Error(msg)
		}
		seen = n
	}
}

// process sends a message's events on. A message without ids gets one id
// base when first received, kept through its retries, so that a retry
// after Konnect stored the event but the answer was lost is deduplicated.
func (c *Core) process(ctx context.Context, msg *nats.Msg, out chan<- delivery.Item, p provenance) {
	c.emitter.emit(ctx, &message{raw: msg, s: &coreSettler{c: c, msg: msg, p: p}, p: p}, out)
}

// received is what a core NATS message carries instead of a stream's
// identity and sequence: a random id base drawn once, and the receive time.
func received() provenance {
	return provenance{base: uuid.NewString(), stored: time.Now()}
}

// retry is a message without a reply subject, due back in Run's loop:
// there is nobody to hand it back to.
type retry struct {
	msg *nats.Msg
	p   provenance
}

// retry sends msg through Run's loop again after delay.
func (c *Core) retry(msg *nats.Msg, p provenance, delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.lost(msg)
		return
	}
	if c.waiting >= c.limit || c.waitingBytes+len(msg.Data) > CorePendingBytes {
		// As NATS drops what waits past the limit, so do retries: memory
		// stays bounded however long Konnect fails.
		c.emitter.metrics.CoreDropped.Inc()
		c.log.Error().Str("subject", msg.Subject).Int("waiting", c.waiting).
			Msg("core NATS event dropped: more than BRIDGE_CORE_PENDING messages wait to be retried (use JetStream for no loss)")
		return
	}
	c.waiting, c.waitingBytes = c.waiting+1, c.waitingBytes+len(msg.Data)
	c.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		defer c.wg.Done()
		c.mu.Lock()
		delete(c.pending, t)
		c.mu.Unlock()
		select {
		case c.retries <- retry{msg: msg, p: p}:
		case <-c.done:
			c.lost(msg)
		}
		c.mu.Lock()
		c.waiting, c.waitingBytes = c.waiting-1, c.waitingBytes-len(msg.Data)
		c.mu.Unlock()
	})
	c.pending[t] = struct{}{}
}

// lostMessage says a core NATS message without a reply subject was lost.
const lostMessage = "core NATS event lost: the bridge stopped before Konnect accepted it (use JetStream for no loss)"

func (c *Core) lost(msg *nats.Msg) {
	c.log.Error().Str("subject", msg.Subject).Msg(lostMessage)
}

// stop ends the subscription and the retries still waiting; what they held
// is lost, and said to be.
func (c *Core) stop(sub *nats.Subscription) {
	if n, _, err := sub.Pending(); err == nil && n > 0 {
		c.emitter.metrics.CoreDropped.Add(float64(n))
		c.log.Error().Int("messages", n).Msg("core NATS events lost: the bridge stopped with them still waiting in NATS (use JetStream for no loss)")
	}
	_ = sub.Unsubscribe()
	c.mu.Lock()
	c.closed = true
	close(c.done)
	for t := range c.pending {
		if t.Stop() {
			c.wg.Done()
			c.log.Error().Msg(lostMessage)
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
}
