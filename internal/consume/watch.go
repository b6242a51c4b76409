package consume

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
)

// watchConsumer reads the consumer's lag and redeliveries into the metrics
// and, when the consumer was deleted under the bridge, asks the pull loop
// to bind again (on rebind); it never binds itself.
func (j *JetStream) watchConsumer(ctx context.Context, rebind chan<- struct{}) {
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
			j.log.Warn().Str("consumer", j.cfg.ReadingConsumer()).Bool("bind_only", j.cfg.Bridge.BindOnly).Msg("the durable consumer or its stream was deleted; binding again (the consumer created again unless BRIDGE_BIND_ONLY)")
			j.health.Set(health.Consumer, false, "consumer or stream deleted")
			askRebind(rebind)
		case err != nil:
			// NATS is away; the connection's own handlers report it.
		case !info.Created.Equal(b.cons.CachedInfo().Created):
			// Another replica, or whoever owns them, created the stream and
			// consumer again under the same names: this binding's identity
			// must not give the new stream's messages their ids.
			j.log.Warn().Str("consumer", j.cfg.ReadingConsumer()).Msg("the durable consumer was created again (with its stream, perhaps); binding again")
			j.health.Set(health.Consumer, false, "consumer created again")
			askRebind(rebind)
		default:
			j.noteFloor(ictx, b.streamID, info)
			j.metrics.ConsumerPending.Set(float64(info.NumPending))
			j.metrics.ConsumerAckPending.Set(float64(info.NumAckPending))
			j.metrics.ConsumerRedelivered.Set(float64(info.NumRedelivered))
			j.metrics.ConsumerAckFloor.Set(float64(info.AckFloor.Stream))
			j.noteStandby(standby(j.cfg, b, info))
		}
		cancel()
	}
}

// askRebind asks the pull loop to bind again, once: a request not yet
// answered stands for both.
func askRebind(rebind chan<- struct{}) {
	select {
	case rebind <- struct{}{}:
	default: // asked already
	}
}

// noteStandby records why this replica stands by ("" while it pulls) in
// the status page and the standby gauge.
func (j *JetStream) noteStandby(reason string) {
	j.health.SetStandby(reason)
	if reason == "" {
		j.metrics.Standby.Set(0)
	} else {
		j.metrics.Standby.Set(1)
	}
}
