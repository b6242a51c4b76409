package bridge

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
)

// source is a stage that reads NATS into out until its context ends.
type source struct {
	name string
	run  func(context.Context, chan<- delivery.Item) error
}

// run runs the parts as actors until ctx ends or one of them fails, then
// stops them in order: the sources stop pulling first; the publisher gets
// BRIDGE_SHUTDOWN_TIMEOUT (the hard deadline) to finish its in-flight
// batches; the dead-letter stage stores what is queued within the same
// deadline; held messages are kept alive until then. The caller drains the
// NATS connection once run returned.
func (p *parts) run(ctx context.Context, started func(Started)) error {
	// Readiness waits for Konnect's word on the token and URL.
	p.front.st.Health.Set(health.KonnectAuth, false, "asking Konnect whether it accepts the token")
	refused := p.pub.CheckAuth(ctx)

	pull, stopPull := context.WithCancel(ctx)
	defer stopPull()
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	var once sync.Once
	stopping := func() {
		once.Do(func() {
			p.log.Info().Dur("deadline", p.cfg.Bridge.ShutdownTimeout).Msg("stopping: no more pulls; finishing in-flight batches")
			stopPull()
			time.AfterFunc(p.cfg.Bridge.ShutdownTimeout, cancelHard)
		})
	}

	var g group
	g.add("stop", func() error { <-pull.Done(); return nil }, stopping)
	items := make(chan delivery.Item, p.cfg.Batch.Size)
	p.addSources(&g, pull, items, stopping)
	g.add("publisher", func() error {
		p.pub.Run(hard, items)
		p.dlq.Close()
		p.dlq.Wait()
		// Every message is settled or handed back: nothing is held.
		cancelHard()
		return nil
	}, stopping)
	g.add("dead letters", func() error { p.dlq.Run(hard); return nil }, stopping)
	// Held messages are kept alive for as long as the publisher may still
	// deliver them, past the end of pulling.
	g.add("keep-alive", func() error { p.source.KeepAlive(hard); return nil }, stopping)
	g.background(ctx, "billing check", func(ctx context.Context) { p.front.bill.Run(ctx, p.js, p.dlq) }) // off the delivery path
	if refused {
		g.background(ctx, "token check", p.pub.WatchAuth)
	}
	if started != nil {
		started(p.front.st)
	}
	return g.run()
}

// addSources adds an actor per source, the last of which to return closes
// items: nothing is sent on it after that.
func (p *parts) addSources(g *group, pull context.Context, items chan<- delivery.Item, stopping func()) {
	sources := []source{{"JetStream", p.source.Run}}
	if p.core != nil {
		sources = append(sources, source{"core NATS", p.core.Run})
	}
	var left atomic.Int32
	left.Store(int32(len(sources)))
	for _, s := range sources {
		g.add(s.name, func() error {
			defer func() {
				if left.Add(-1) == 0 {
					close(items)
				}
			}()
			return s.run(pull, items)
		}, stopping)
	}
}
