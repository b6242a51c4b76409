package consume

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// CheckBound is the start of bind-only mode: the stream, the durable
// consumer and the dead-letter stream must exist, and the consumer must be
// a pull consumer with explicit acks. It creates and changes nothing. It
// returns cfg with BRIDGE_ACK_WAIT set to the consumer's AckWait, which
// the bridge's progress signals must keep up with.
func CheckBound(ctx context.Context, js jetstream.JetStream, cfg config.Config, log zerolog.Logger) (config.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b := cfg.Bridge
	for _, s := range []struct{ env, name string }{{"BRIDGE_STREAM", b.Stream}, {"BRIDGE_DLQ_STREAM", b.DLQStream}} {
		if _, err := js.Stream(ctx, s.name); err != nil {
			return cfg, fmt.Errorf("%w: %s %s: %w; BRIDGE_BIND_ONLY is set, so the bridge creates nothing: create the stream first, or unset BRIDGE_BIND_ONLY", natsconn.ErrNotBound, s.env, s.name, err)
		}
	}
	// The sandbox reads its own consumer, never the billing one.
	b.Consumer = cfg.ReadingConsumer()
	cons, err := js.Consumer(ctx, b.Stream, b.Consumer)
	if err != nil {
		return cfg, fmt.Errorf("%w: BRIDGE_CONSUMER %s on stream %s: %w; BRIDGE_BIND_ONLY is set, so the bridge creates nothing: create a durable pull consumer with explicit acks first, or unset BRIDGE_BIND_ONLY", natsconn.ErrNotBound, b.Consumer, b.Stream, err)
	}
	cc := cons.CachedInfo().Config
	switch {
	case cc.DeliverSubject != "":
		return cfg, fmt.Errorf("%w: BRIDGE_CONSUMER %s is a push consumer (deliver subject %s): the bridge reads a pull consumer", natsconn.ErrNotBound, b.Consumer, cc.DeliverSubject)
	case cc.AckPolicy != jetstream.AckExplicitPolicy:
		return cfg, fmt.Errorf("%w: BRIDGE_CONSUMER %s acks %s: the bridge needs explicit acks, or messages would count as delivered before Konnect accepted them", natsconn.ErrNotBound, b.Consumer, cc.AckPolicy)
	}
	if m := priorityMismatch(cfg, cc); m != "" {
		return cfg, fmt.Errorf("%w: BRIDGE_CONSUMER %s %s", natsconn.ErrNotBound, b.Consumer, m)
	}
	if cc.AckWait > 0 && cc.AckWait != cfg.Batch.AckWait {
		log.Info().Dur("ack_wait", cc.AckWait).Msg("bind-only: using the consumer's AckWait instead of BRIDGE_ACK_WAIT")
		cfg.Batch.AckWait = cc.AckWait
	}
	if cc.MaxAckPending > 0 && cc.MaxAckPending < cfg.MaxAckPending() {
		log.Warn().Int("max_ack_pending", cc.MaxAckPending).Int("advised", cfg.MaxAckPending()).
			Msg("bind-only: the consumer's MaxAckPending is below what the batch settings keep in flight; deliveries will stall on it")
	}
	return cfg, nil
}

// bindExisting binds the durable consumer without creating or changing it:
// bind-only mode. A consumer deleted later is waited for, never recreated.
func (j *JetStream) bindExisting(ctx context.Context, streamID string, created time.Time) error {
	durable := j.cfg.ReadingConsumer()
	c, err := j.js.Consumer(ctx, j.cfg.Bridge.Stream, durable)
	if err != nil {
		return fmt.Errorf("durable consumer %s on stream %s (BRIDGE_BIND_ONLY: waiting for it to be created): %w", durable, j.cfg.Bridge.Stream, err)
	}
	if m := priorityMismatch(j.cfg, c.CachedInfo().Config); m != "" {
		return fmt.Errorf("durable consumer %s on stream %s (BRIDGE_BIND_ONLY: waiting for it to be changed) %s", durable, j.cfg.Bridge.Stream, m)
	}
	j.use(ctx, c, streamID, created)
	return nil
}
