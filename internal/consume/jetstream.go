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

	// mu guards cons and streamID, which a rebind replaces.
	mu   sync.Mutex
	cons jetstream.Consumer
	// streamID tells this stream apart from an earlier one of the same
	// name, so ids derived from sequences are never reused.
	streamID string
	// ackFloor is the last stream sequence below which every message was
	// acked, as last read from the consumer, and floorStream the stream it
	// was read from. A consumer deleted under the bridge is recreated just
	// after it, so the stream's history is not delivered again.
	ackFloor    uint64
	floorStream string
}

func (j *JetStream) bound() (jetstream.Consumer, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cons, j.streamID
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
// is missing and changing no existing stream. While NATS cannot be reached
// or the stream cannot be created it waits, saying so, until ctx ends.
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
	if errors.Is(err, jetstream.ErrStreamNotFound) && !j.cfg.Bridge.BindOnly {
		s, err = j.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        name,
			Description: "agent runs for konnect-bridge to deliver to Konnect",
			Subjects:    []string{j.cfg.Bridge.Subject},
			Storage:     jetstream.FileStorage,
			MaxAge:      StreamMaxAge,
		})
		if err != nil {
			return fmt.Errorf("stream %s is missing and could not be created (create it, or grant the bridge's NATS user the right to): %w", name, err)
		}
		j.log.Info().Str("stream", name).Str("subjects", j.cfg.Bridge.Subject).Msg("created the stream")
	} else if err != nil {
		return fmt.Errorf("look up stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	j.mu.Lock()
	j.streamID = StreamIdentity(info)
	j.mu.Unlock()
	return j.bindConsumer(ctx)
}

func (j *JetStream) bindConsumer(ctx context.Context) error {
	if j.cfg.Bridge.BindOnly {
		return j.bindExisting(ctx)
	}
	stream, durable := j.cfg.Bridge.Stream, j.cfg.Bridge.Consumer
	cc := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "konnect-bridge: delivers agent runs to Konnect",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       j.cfg.Batch.AckWait,
		MaxAckPending: j.cfg.MaxAckPending(),
		MaxDeliver:    -1,
		FilterSubject: j.cfg.Bridge.Subject,
	}
	existing, err := j.js.Consumer(ctx, stream, durable)
	switch {
	case err == nil:
		// Where a consumer starts cannot be changed; keep what it has.
		ec := existing.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = ec.DeliverPolicy, ec.OptStartSeq, ec.OptStartTime
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		j.mu.Lock()
		floor, same := j.ackFloor, j.floorStream == j.streamID
		j.mu.Unlock()
		if floor > 0 && same {
			cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, floor+1
			j.log.Warn().Str("consumer", durable).Uint64("start_seq", floor+1).
				Msg("recreating the deleted durable consumer after the last acknowledged message, so the stream's history is not billed again")
		}
	default:
		return fmt.Errorf("look up durable consumer %s on stream %s: %w", durable, stream, err)
	}
	c, err := j.js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return fmt.Errorf("create durable consumer %s on stream %s: %w", durable, stream, err)
	}
	j.use(c)
	return nil
}

// noteFloor records the consumer's ack floor; j.mu must be held.
func (j *JetStream) noteFloor(info *jetstream.ConsumerInfo) {
	if info != nil && info.AckFloor.Stream > 0 {
		j.ackFloor, j.floorStream = info.AckFloor.Stream, j.streamID
	}
}

// Run pulls messages and sends their events to out until ctx ends. The
// pull iterator prefetches, so the next messages arrive while a batch is
// being delivered. A consumer deleted under the bridge is created again.
func (j *JetStream) Run(ctx context.Context, out chan<- publish.Item) error {
	go j.watchConsumer(ctx)
	for ctx.Err() == nil {
		cons, _ := j.bound()
		iter, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(j.cfg.Prefetch(), j.prefetchBytes()))
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
			j.handle(ctx, msg, out)
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

func (j *JetStream) handle(ctx context.Context, msg jetstream.Msg, out chan<- publish.Item) {
	// Read per message: a rebind after the stream was recreated changes it.
	_, streamID := j.bound()
	md, err := msg.Metadata()
	if err != nil {
		j.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without JetStream metadata; leaving it to redeliver")
		return
	}
	raw := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	p := provenance{
		idBase: func() string { return sequenceID(streamID, md.Sequence.Stream) },
		stored: md.Timestamp,
	}
	j.emitter.emit(ctx, raw, &jsSettler{msg: msg, md: md, streamID: streamID}, p, out, func(m *message) func() {
		j.alive.add(m, msg)
		return func() { j.alive.remove(m) }
	})
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
		cons, _ := j.bound()
		info, err := cons.Info(ictx)
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			j.log.Warn().Str("consumer", j.cfg.Bridge.Consumer).Bool("bind_only", j.cfg.Bridge.BindOnly).Msg("the durable consumer was deleted; binding it again (created again unless BRIDGE_BIND_ONLY)")
			j.health.Set(health.Consumer, false, "consumer deleted")
			_ = j.Bind(ctx)
		case err != nil:
			// NATS is away; the connection's own handlers report it.
		default:
			j.mu.Lock()
			j.noteFloor(info)
			j.mu.Unlock()
			j.metrics.ConsumerPending.Set(float64(info.NumPending))
			j.metrics.ConsumerAckPending.Set(float64(info.NumAckPending))
			j.metrics.ConsumerRedelivered.Set(float64(info.NumRedelivered))
			j.metrics.ConsumerAckFloor.Set(float64(info.AckFloor.Stream))
		}
	}
}

// jsSettler settles a JetStream message.
type jsSettler struct {
	msg      jetstream.Msg
	md       *jetstream.MsgMetadata
	streamID string
}

func (s *jsSettler) ack() error { return s.msg.Ack() }
func (s *jsSettler) handBack(delay time.Duration, _ string) error {
	return s.msg.NakWithDelay(delay)
}
func (s *jsSettler) term(reason string) error { return s.msg.TermWithReason(reason) }
func (s *jsSettler) origin() Origin {
	return Origin{Subject: s.msg.Subject(), Stream: s.md.Stream, StreamID: s.streamID, Sequence: s.md.Sequence.Stream, Deliveries: s.md.NumDelivered}
}
