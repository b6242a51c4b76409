package consume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// Bind makes sure the stream and the durable consumer exist, creating what
// is missing at start and changing no existing stream. While NATS cannot be
// reached, the stream cannot be created or it disappeared, it waits, saying
// so in readiness, until ctx ends. Call it once before Run; from then on
// only Run's pull loop binds again.
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
	case errors.Is(err, jetstream.ErrStreamNotFound) && j.cfg.Bridge.BindOnly:
		return fmt.Errorf("stream %s is missing (BRIDGE_BIND_ONLY: waiting for it to be created or restored): %w", name, err)
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
	j.health.SetDurability(Durability(info.Config))
	if j.cfg.ReadingConsumer() == j.cfg.Bridge.Consumer {
		j.openFloors(ctx, info.Config.Replicas)
	}
	if j.emitter.dlq != nil {
		j.emitter.dlq.OpenSeal(ctx, info.Config.Replicas)
	}
	return j.bindConsumer(ctx, StreamIdentity(info), info.Created, info.State)
}

func (j *JetStream) bindConsumer(ctx context.Context, streamID string, created time.Time, state jetstream.StreamState) error {
	if j.cfg.Bridge.BindOnly {
		return j.bindExisting(ctx, streamID, created)
	}
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
	prioritize(j.cfg, &cc)
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
		if m := priorityMismatch(j.cfg, ec); m != "" {
			j.log.Info().Str("consumer", durable).Str("priority_policy", j.cfg.Bridge.PriorityPolicy).Str("priority_group", j.cfg.Bridge.PriorityGroup).
				Msg("changing the consumer's priority policy to BRIDGE_PRIORITY_POLICY's")
		}
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if err := j.startAt(ctx, &cc, streamID, state); err != nil {
			return err
		}
	default:
		return fmt.Errorf("look up durable consumer %s on stream %s: %w", durable, stream, err)
	}
	c, err := j.js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return fmt.Errorf("create durable consumer %s on stream %s: %w", durable, stream, err)
	}
	j.use(ctx, c, streamID, created)
	return nil
}

// use makes c, on the stream of identity streamID created at created, the
// consumer the bridge reads.
func (j *JetStream) use(ctx context.Context, c jetstream.Consumer, streamID string, created time.Time) {
	b := &binding{cons: c, streamID: streamID, created: created}
	b.reconnects.Store(j.js.Conn().Stats().Reconnects)
	j.current.Store(b)
	j.noteFloor(ctx, streamID, c.CachedInfo())
	j.health.Set(health.Consumer, true, "")
	j.log.Info().Str("stream", j.cfg.Bridge.Stream).Str("stream_id", streamID).Str("consumer", c.CachedInfo().Name).
		Str("subject", j.cfg.Bridge.Subject).Msg("bound to the durable consumer")
}

// SandboxConsumerIdle is how long after the last sandbox stopped NATS
// removes the sandbox's own consumer.
const SandboxConsumerIdle = time.Hour
