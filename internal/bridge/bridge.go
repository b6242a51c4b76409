// Package bridge wires the parts into the running service: the embedded dev
// stack when nothing is configured, the NATS sources, the publisher, the
// admin server, and the order they stop in. It owns the goroutines of the
// running service, each an actor of a group (see group), and the stop
// order; it holds no delivery logic of its own and never decodes, settles
// or sends an event itself.
//
// Run is three steps: serve (the admin server, up first: readiness is
// asked before NATS answers, and in sandbox mode it is where events are
// delivered), build (connect, bind, construct the parts; every failure is
// an error) and run (the parts as actors, stopped in order).
package bridge

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// Started tells a caller (the banner, tests) what the bridge is running.
type Started struct {
	NATSURL   string
	AdminAddr string
	IngestURL string
	Sandbox   *sandbox.Sandbox
	Health    *health.Health
	Metrics   *metrics.Metrics
}

// Run runs the bridge until ctx ends, then stops in order: stop pulling,
// finish or hand back in-flight batches within BRIDGE_SHUTDOWN_TIMEOUT,
// store the dead letters left, drain the NATS connection, stop the admin
// server. started, when not nil, is called once everything is up. A nil
// error means a clean stop; otherwise the error holds every part's failure.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger, started func(Started), opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	rules, err := consume.RulesOf(cfg) // the fence and the mapping: a mistake stops the start
	if err != nil {
		return err
	}
	f, err := newFront(cfg, log)
	if err != nil {
		return err
	}
	defer f.close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var g group
	g.add("admin server", f.serve, f.shutdown)
	g.add("", func() error { // the delivery: its errors speak for themselves
		p, err := build(ctx, cfg, rules, log, f, o)
		if err != nil || p == nil {
			return err
		}
		defer p.close()
		return p.run(ctx, started)
	}, stop)
	return g.run()
}
