package natsconn

import (
	"context"
	"errors"
	neturl "net/url"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// Connect opens the NATS connection the bridge keeps for its whole life.
// It tries until the first connection succeeds or ctx ends, reporting
// each failure as an *Unreachable to h (h may be nil for one-shot
// commands) and logging it when its cause changes, then at most once a
// minute; once connected it reconnects forever, logging every change of
// state. When ctx ends first, the error is ctx's joined with the last
// *Unreachable. A URL that does not parse is an error at once.
func Connect(ctx context.Context, url string, n config.NATS, log zerolog.Logger, h *health.Health) (*nats.Conn, error) {
	set := func(ready bool, reason string) {
		if h != nil {
			h.Set(health.NATS, ready, reason)
		}
	}
	tries := &attempts{addr: config.RedactURL(url), log: log, set: set}
	opts := []nats.Option{
		nats.Name("konnect-bridge"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		// Credentials fixed on the server are picked up on the next try.
		nats.IgnoreAuthErrorAbort(),
		nats.ConnectHandler(func(c *nats.Conn) {
			tries.connected()
			log.Info().Str("server", c.ConnectedUrlRedacted()).Msg("connected to NATS")
		}),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			reason := "disconnected"
			if err != nil {
				reason = err.Error()
			}
			set(false, "disconnected from NATS at "+tries.addr+": "+reason)
			if c.IsClosed() || c.IsDraining() {
				log.Info().Msg("disconnected from NATS")
				return
			}
			log.Warn().Str("nats", tries.addr).Str("reason", reason).Msg("disconnected from NATS; reconnecting")
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { tries.failed(err) }),
		nats.ReconnectHandler(func(c *nats.Conn) {
			tries.connected()
			log.Info().Str("server", c.ConnectedUrlRedacted()).Msg("reconnected to NATS")
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			set(false, "connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Str("nats", tries.addr).Err(err)
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
	for {
		nc, err := nats.Connect(url, opts...)
		var bad *neturl.Error
		switch {
		case err == nil:
			return nc, nil
		case errors.As(err, &bad):
			return nil, err // NATS_URL does not parse: no retry helps
		}
		u := tries.failed(err)
		if !wait.Sleep(ctx, time.Second) {
			return nil, errors.Join(ctx.Err(), u)
		}
	}
}

// attempts reports failed connection attempts: each to health, and to the
// log when the cause changes, otherwise at most once a minute. Safe for
// concurrent use.
type attempts struct {
	addr string
	log  zerolog.Logger
	set  func(ready bool, reason string)

	mu     sync.Mutex
	last   string
	logged time.Time
}

func (a *attempts) failed(err error) *Unreachable {
	u := &Unreachable{Addr: a.addr, Cause: cause(err), Err: err}
	a.set(false, u.Error())
	a.mu.Lock()
	defer a.mu.Unlock()
	if u.Cause != a.last || time.Since(a.logged) >= time.Minute {
		a.log.Warn().Str("nats", a.addr).Str("cause", u.Cause).Msg("NATS at " + a.addr + " is not reachable; retrying every second")
		a.last, a.logged = u.Cause, time.Now()
	}
	return u
}

func (a *attempts) connected() {
	a.set(true, "")
	a.mu.Lock()
	a.last = ""
	a.mu.Unlock()
}
