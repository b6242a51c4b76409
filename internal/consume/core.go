package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
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
	wg      sync.WaitGroup
}

// CorePendingBytes bounds the bytes of core NATS messages waiting for the
// bridge, next to BRIDGE_CORE_PENDING's count.
const CorePendingBytes = 64 << 20

// NewCore subscribes to cfg's BRIDGE_CORE_SUBJECT in BRIDGE_QUEUE_GROUP;
// rule, when not nil, fences each event to the subject it arrived on. h,
// when not nil, shows messages NATS dropped as the last error.
func NewCore(nc *nats.Conn, cfg config.Config, log zerolog.Logger, m *metrics.Metrics, h *health.Health, dlq *DeadLetters, rule *fence.Rule) *Core {
	return &Core{
		nc: nc, subject: cfg.Bridge.CoreSubject, group: cfg.Bridge.QueueGroup, limit: cfg.Bridge.CorePending, log: log,
		emitter: newEmitter(cfg, dlq, log, m, rule), health: h,
		pending: map[*time.Timer]struct{}{},
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
// first.
func (c *Core) Run(ctx context.Context, out chan<- delivery.Item) {
	defer c.stop(c.sub)
	go c.countDrops(ctx, time.Second)
	for {
		msg, err := c.sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, nats.ErrSlowConsumer):
			continue // counted by countDrops
		case err != nil:
			c.log.Error().Err(err).Str("subject", c.subject).Msg("core NATS subscription ended")
			return
		}
		c.process(ctx, msg, out, received())
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
	s := &coreSettler{c: c, msg: msg, ctx: ctx, out: out, p: p}
	c.emitter.emit(ctx, msg, s, p, out, func(*message) func() { return func() {} })
}

// received is what a core NATS message carries instead of a stream's
// identity and sequence: a random id base drawn once, and the receive time.
func received() provenance {
	base := uuid.NewString()
	return provenance{idBase: func() string { return base }, stored: time.Now()}
}

// retry sends a message without a reply subject through the bridge again
// after delay: there is nobody to hand it back to.
func (c *Core) retry(ctx context.Context, msg *nats.Msg, out chan<- delivery.Item, p provenance, delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.log.Error().Str("subject", msg.Subject).Msg("core NATS event lost: the bridge stopped before Konnect accepted it (use JetStream for no loss)")
		return
	}
	c.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		defer c.wg.Done()
		c.mu.Lock()
		delete(c.pending, t)
		c.mu.Unlock()
		c.process(ctx, msg, out, p)
	})
	c.pending[t] = struct{}{}
}

func (c *Core) stop(sub *nats.Subscription) {
	_ = sub.Unsubscribe()
	c.mu.Lock()
	c.closed = true
	for t := range c.pending {
		if t.Stop() {
			c.wg.Done()
			c.log.Error().Msg("core NATS event lost: the bridge stopped before Konnect accepted it (use JetStream for no loss)")
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// coreSettler answers request/reply producers; the answer is JSON:
// {"status":"accepted"}, {"status":"dead_lettered","reason":...} or
// {"status":"retry","reason":...,"retry_after_ms":...}.
type coreSettler struct {
	c   *Core
	msg *nats.Msg
	ctx context.Context
	out chan<- delivery.Item
	p   provenance
}

type coreAnswer struct {
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

// The statuses of a core NATS answer.
const (
	answerAccepted     = "accepted"
	answerDeadLettered = "dead_lettered"
	answerRetry        = "retry"
)

func parseCoreAnswer(b []byte) (coreAnswer, error) {
	var a coreAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return a, err
	}
	if a.Status != answerAccepted && a.Status != answerDeadLettered && a.Status != answerRetry {
		return a, fmt.Errorf("unknown status %q", a.Status)
	}
	return a, nil
}

func (s *coreSettler) respond(a coreAnswer) error {
	if s.msg.Reply == "" {
		return nil
	}
	b, _ := json.Marshal(a)
	return s.msg.Respond(b)
}

func (s *coreSettler) ack() error { return s.respond(coreAnswer{Status: answerAccepted}) }
func (s *coreSettler) term(reason string) error {
	return s.respond(coreAnswer{Status: answerDeadLettered, Reason: reason})
}
func (s *coreSettler) handBack(delay time.Duration, reason string) error {
	if s.msg.Reply == "" {
		s.c.retry(s.ctx, s.msg, s.out, s.p, delay)
		return nil
	}
	return s.respond(coreAnswer{Status: answerRetry, Reason: reason, RetryAfterMS: delay.Milliseconds()})
}
func (s *coreSettler) origin() Origin { return Origin{Subject: s.msg.Subject} }
