package consume

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// Connect opens the NATS connection the bridge keeps for its whole life:
// it retries the first connection and reconnects forever, logging every
// change of state and reporting it to h (h may be nil for one-shot
// commands).
func Connect(url string, n config.NATS, log zerolog.Logger, h *health.Health) (*nats.Conn, error) {
	set := func(ready bool, reason string) {
		if h != nil {
			h.Set(health.NATS, ready, reason)
		}
	}
	opts := []nats.Option{
		nats.Name("konnect-bridge"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(c *nats.Conn) {
			set(true, "")
			log.Info().Str("server", c.ConnectedUrlRedacted()).Msg("connected to NATS")
		}),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			reason := "disconnected"
			if err != nil {
				reason = err.Error()
			}
			set(false, reason)
			if c.IsClosed() || c.IsDraining() {
				log.Info().Msg("disconnected from NATS")
				return
			}
			log.Warn().Str("reason", reason).Msg("disconnected from NATS; reconnecting")
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			set(true, "")
			log.Info().Str("server", c.ConnectedUrlRedacted()).Msg("reconnected to NATS")
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			set(false, "connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subscription", sub.Subject)
			}
			ev.Msg("NATS error")
		}),
	}
	auth, err := authOptions(n)
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	return nc, nil
}

// WaitConnected blocks until nc is connected or ctx ends.
func WaitConnected(ctx context.Context, nc *nats.Conn) error {
	for !nc.IsConnected() {
		if !wait.Sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}
