package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// StreamMaxAge is how long a stream the bridge creates keeps messages.
const StreamMaxAge = 7 * 24 * time.Hour

// JetStream reads the durable pull consumer. Bind, then Run.
type JetStream struct {
	js      jetstream.JetStream
	cfg     config.Config
	log     zerolog.Logger
	metrics *metrics.Metrics
	health  *health.Health
	emitter emitter
	alive   *keepAlive

	// mu guards what follows, which a rebind replaces.
	mu      sync.Mutex
	current *binding
	// streamSeen is set once a stream was bound: from then on a missing
	// stream disappeared, and is reported rather than created empty.
	streamSeen bool
	// floor is the consumer's last ack floor read, floors the bucket that
	// keeps it across consumer deletions (nil without one) and saved what
	// was last written there.
	floor  ackFloor
	floors jetstream.KeyValue
	saved  string
}

// binding is the consumer the bridge reads and the identity of the stream
// under it. Messages fetched through it take their ids from streamID, so a
// message always gets the identity of the stream it was read from.
type binding struct {
	cons     jetstream.Consumer
	streamID string
	// created is when the stream was created.
	created time.Time
	// reconnects is the connection's reconnect count when bound (or last
	// checked): a missed deletion can only hide behind a reconnect.
	reconnects uint64
}

func (j *JetStream) bound() *binding {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.current
}

// NewJetStream reads cfg's stream and consumer through js; rule, when not
// nil, fences each event to the subject it arrived on.
func NewJetStream(js jetstream.JetStream, cfg config.Config, log zerolog.Logger, m *metrics.Metrics, h *health.Health, dlq *DeadLetters, rule *fence.Rule) *JetStream {
	return &JetStream{
		js: js, cfg: cfg, log: log, metrics: m, health: h,
		emitter: newEmitter(cfg, dlq, log, m, rule),
		alive:   newKeepAlive(),
	}
}

// Bind makes sure the stream and the durable consumer exist, creating what
// is missing at start and changing no existing stream. While NATS cannot be
// reached, the stream cannot be created or it disappeared, it waits, saying
// so in readiness, until ctx ends.
func (j *JetStream) Bind(ctx context.Context) error {
	return wait.Retry(ctx, func() error { return j.bind(ctx) }, func(err error, retryIn time.Duration) {
		j.health.Set(health.Consumer, false, err.Error())
		j.log.Warn().Err(err).Dur("retry_in", retryIn).Msg("waiting for the stream and consumer")
	})
}

func (j *JetStream) bind(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	name := j.cfg.Bridge.Stream
	s, err := j.js.Stream(ctx, name)
	j.mu.Lock()
	seen := j.streamSeen
	j.mu.Unlock()
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound) && seen:
		return fmt.Errorf("stream %s disappeared (deleted, or NATS lost its storage): its undelivered messages are gone from NATS. Restore it from a backup (it keeps its ids) or create it; restarting the bridge creates an empty one", name)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if s, err = j.createStream(ctx); err != nil {
			return fmt.Errorf("stream %s is missing and could not be created (create it, or grant the bridge's NATS user the right to): %w", name, err)
		}
		j.log.Info().Str("stream", name).Str("subjects", j.cfg.Bridge.Subject).Msg("created the stream")
	case err != nil:
		return fmt.Errorf("look up stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	if j.cfg.ReadingConsumer() != j.cfg.Bridge.Consumer && info.Config.Retention == jetstream.WorkQueuePolicy {
		return fmt.Errorf("stream %s is a work queue: any consumer the sandbox read it through would remove messages that BRIDGE_CONSUMER must bill. Give the sandbox a stream of its own (BRIDGE_STREAM, BRIDGE_SUBJECT), or set KONNECT_TOKEN to bill", name)
	}
	j.mu.Lock()
	j.streamSeen = true
	j.mu.Unlock()
	if j.cfg.ReadingConsumer() == j.cfg.Bridge.Consumer {
		j.openFloors(ctx, info.Config.Replicas)
	}
	return j.bindConsumer(ctx, StreamIdentity(info), info.Created)
}

func (j *JetStream) bindConsumer(ctx context.Context, streamID string, created time.Time) error {
	stream, durable := j.cfg.Bridge.Stream, j.cfg.ReadingConsumer()
	cc := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "konnect-bridge: delivers agent runs to Konnect",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       j.cfg.Batch.AckWait,
		MaxAckPending: j.cfg.MaxAckPending(),
		MaxDeliver:    -1,
		FilterSubject: j.cfg.Bridge.Subject,
	}
	if durable != j.cfg.Bridge.Consumer {
		// The sandbox's own: it never holds what bills, and NATS removes
		// it an hour after the last sandbox stopped.
		cc.Description = "konnect-bridge sandbox: reads for the built-in sandbox; bills nothing and leaves " + j.cfg.Bridge.Consumer + " untouched"
		cc.InactiveThreshold = SandboxConsumerIdle
	}
	existing, err := j.js.Consumer(ctx, stream, durable)
	switch {
	case err == nil:
		// Where a consumer starts cannot be changed; keep what it has.
		ec := existing.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = ec.DeliverPolicy, ec.OptStartSeq, ec.OptStartTime
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		j.startAt(ctx, &cc, streamID)
	default:
		return fmt.Errorf("look up durable consumer %s on stream %s: %w", durable, stream, err)
	}
	c, err := j.js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return fmt.Errorf("create durable consumer %s on stream %s: %w", durable, stream, err)
	}
	j.mu.Lock()
	j.current = &binding{cons: c, streamID: streamID, created: created, reconnects: j.js.Conn().Stats().Reconnects}
	j.mu.Unlock()
	j.noteFloor(ctx, streamID, c.CachedInfo())
	j.health.Set(health.Consumer, true, "")
	j.log.Info().Str("stream", stream).Str("stream_id", streamID).Str("consumer", durable).Str("subject", j.cfg.Bridge.Subject).Msg("bound to the durable consumer")
	return nil
}

// PullExpiry bounds each pull request. A pull whose server dies (a
// stream or consumer leader lost in a cluster) is noticed after two missed
// heartbeats, half of it each, and pulled again from the new leader: 5 s
// rather than nats.go's 30 s of standing still.
const PullExpiry = jetstream.PullExpiry(5 * time.Second)

// SandboxConsumerIdle is how long after the last sandbox stopped NATS
// removes the sandbox's own consumer.
const SandboxConsumerIdle = time.Hour

// Run pulls messages and sends their events to out until ctx ends. The
// pull iterator prefetches, so the next messages arrive while a batch is
// being delivered. A consumer deleted under the bridge is created again.
func (j *JetStream) Run(ctx context.Context, out chan<- publish.Item) error {
	go j.watchConsumer(ctx)
	for ctx.Err() == nil {
		b := j.bound()
		iter, err := b.cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(j.cfg.Prefetch(), j.prefetchBytes()), PullExpiry)
		if err != nil {
			j.recover(ctx, err)
			continue
		}
		for {
			msg, err := iter.Next(jetstream.NextContext(ctx))
			if err != nil {
				if ctx.Err() != nil {
					handBackPrefetched(iter)
					return nil
				}
				if errors.Is(err, jetstream.ErrNoHeartbeat) {
					// The iterator re-issues its pulls by itself.
					j.log.Debug().Err(err).Msg("missed a pull heartbeat; pulling on")
					continue
				}
				iter.Stop()
				j.recover(ctx, err)
				break
			}
			if !j.handle(ctx, msg, b, out) {
				iter.Stop()
				break
			}
		}
	}
	return nil
}

// prefetchBytes bounds one pull in bytes: BRIDGE_PREFETCH_BYTES, but never
// below the largest message the server takes (max_payload, with room for
// the subject and reply), or a message at that size would stall the
// consumer. The iterator holds at most about two pulls.
func (j *JetStream) prefetchBytes() int {
	return max(j.cfg.Batch.PrefetchBytes, int(j.js.Conn().MaxPayload())+64<<10)
}

// handBackPrefetched stops pulling and gives back the messages the
// iterator fetched ahead but the bridge never read, so another replica gets
// them now rather than after AckWait. They were never worked on, so this is
// a plain Nak.
func handBackPrefetched(iter jetstream.MessagesContext) {
	iter.Drain()
	for {
		msg, err := iter.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		_ = msg.Nak()
	}
}

// KeepAlive signals progress, every third of AckWait, on every message the
// bridge holds, until ctx ends. Run it for as long as the publisher may
// still be delivering, which is past the end of Run on a graceful stop.
func (j *JetStream) KeepAlive(ctx context.Context) {
	j.alive.run(ctx, j.cfg.Batch.AckWait/3)
}

// recover waits a moment after a pull failure and binds the consumer again.
func (j *JetStream) recover(ctx context.Context, err error) {
	j.health.Set(health.Consumer, false, err.Error())
	j.log.Warn().Err(err).Msg("pulling from the consumer failed; binding it again")
	if wait.Sleep(ctx, time.Second) {
		_ = j.Bind(ctx)
	}
}

// handle sends msg's events on, with the identity of the stream of b, the
// binding msg was fetched through. It reports false when msg may come from
// a stream that replaced b's: then it is handed back, for NATS to deliver
// through the new binding, and b must be left.
func (j *JetStream) handle(ctx context.Context, msg jetstream.Msg, b *binding, out chan<- publish.Item) bool {
	md, err := msg.Metadata()
	if err != nil {
		j.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without JetStream metadata; leaving it to redeliver")
		return true
	}
	if j.foreign(ctx, b, md.Timestamp) {
		_ = msg.Nak()
		return false
	}
	streamID := b.streamID
	raw := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	p := provenance{
		idBase: func() string { return sequenceID(streamID, md.Sequence.Stream) },
		stored: md.Timestamp,
	}
	j.emitter.emit(ctx, raw, &jsSettler{msg: msg, md: md, streamID: streamID, bound: j.bound}, p, out, func(m *message) func() {
		j.alive.add(m, msg)
		return func() { j.alive.remove(m) }
	})
	return true
}

// sequenceID is "<streamID>-<sequence>", built in one allocation.
func sequenceID(streamID string, seq uint64) string {
	var buf [96]byte
	b := append(append(buf[:0], streamID...), '-')
	return string(strconv.AppendUint(b, seq, 10))
}

// watchConsumer reads the consumer's lag and redeliveries into the metrics
// and recreates a consumer deleted under the bridge.
func (j *JetStream) watchConsumer(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		b := j.bound()
		info, err := b.cons.Info(ictx)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrStreamNotFound):
			j.log.Warn().Str("consumer", j.cfg.ReadingConsumer()).Msg("the durable consumer or its stream was deleted; binding again")
			j.health.Set(health.Consumer, false, "consumer or stream deleted")
			_ = j.Bind(ctx)
		case err != nil:
			// NATS is away; the connection's own handlers report it.
		default:
			j.noteFloor(ictx, b.streamID, info)
			j.metrics.ConsumerPending.Set(float64(info.NumPending))
			j.metrics.ConsumerAckPending.Set(float64(info.NumAckPending))
			j.metrics.ConsumerRedelivered.Set(float64(info.NumRedelivered))
			j.metrics.ConsumerAckFloor.Set(float64(info.AckFloor.Stream))
		}
		cancel()
	}
}

// jsSettler settles a JetStream message, unless its stream was replaced
// by another of the same name: an ack goes to "<stream>.<consumer>" by
// name, so it would settle the new stream's message of the same sequence,
// which would then never be delivered. The old stream is gone; nothing is
// left to settle there.
type jsSettler struct {
	msg      jetstream.Msg
	md       *jetstream.MsgMetadata
	streamID string
	bound    func() *binding
}

func (s *jsSettler) replaced() bool { return s.bound().streamID != s.streamID }

func (s *jsSettler) ack() error {
	if s.replaced() {
		return nil
	}
	return s.msg.Ack()
}
func (s *jsSettler) handBack(delay time.Duration, _ string) error {
	if s.replaced() {
		return nil
	}
	return s.msg.NakWithDelay(delay)
}
func (s *jsSettler) term(reason string) error {
	if s.replaced() {
		return nil
	}
	return s.msg.TermWithReason(reason)
}
func (s *jsSettler) origin() Origin {
	return Origin{Subject: s.msg.Subject(), Stream: s.md.Stream, StreamID: s.streamID, Sequence: s.md.Sequence.Stream, Deliveries: s.md.NumDelivered}
}
