package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/service"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// parts is the bridge once built: connected, bound, every part made and
// none of them running yet.
type parts struct {
	cfg    config.Config
	rules  consume.Rules
	log    zerolog.Logger
	front  *front
	nc     *nats.Conn
	js     jetstream.JetStream
	dlq    *deadletter.DeadLetters
	source *consume.JetStream
	core   *consume.Core // nil without BRIDGE_CORE_SUBJECT
	pub    *publish.Publisher
	// stopService takes the NATS service API down.
	stopService func()
}

// build connects to NATS, makes sure the dead-letter stream, the stream and
// the consumer exist, and constructs the parts. It returns nil parts and
// no error when ctx ended while it waited for NATS.
func build(ctx context.Context, cfg config.Config, rules consume.Rules, log zerolog.Logger, f *front, o options) (*parts, error) {
	h, m := f.st.Health, f.st.Metrics
	nc, err := natsconn.Connect(ctx, f.st.NATSURL, cfg.NATS, log, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil // stopped while waiting
		}
		return nil, err
	}
	p := &parts{cfg: cfg, rules: rules, log: log, front: f, nc: nc}
	ok, err := p.bind(ctx)
	if !ok || err != nil {
		nc.Close()
		return nil, err
	}
	cfg = p.cfg // bind-only reads the consumer it found
	client := publish.NewClient(f.st.IngestURL, f.token, cfg.Konnect.Timeout, cfg.Konnect.ConnectTimeout, 2*cfg.Batch.InFlight)
	if f.st.Sandbox != nil {
		client.Own()
	}
	p.pub = publish.New(client,
		publish.Limits{
			Size: cfg.Batch.Size, Bytes: cfg.Batch.Bytes, Linger: cfg.Batch.Linger, InFlight: cfg.Batch.InFlight,
			RetryBudget: cfg.Retry.Budget, MaxBackoff: cfg.Retry.MaxBackoff, NakDelay: cfg.Retry.NakDelay, ProbeMax: cfg.Retry.ProbeMax,
		}, log, m, h)
	o.trace(p.dlq, p.pub)
	p.stopService = service.Register(nc, service.Info{Stream: cfg.Bridge.Stream, Consumer: cfg.ReadingConsumer(), Target: f.st.IngestURL, Secrets: cfg.Scrubber()}, h, m, log)
	return p, nil
}

// bind waits for the dead-letter stream, the stream and the consumer, and
// subscribes to core NATS. false: ctx ended while it waited.
func (p *parts) bind(ctx context.Context) (bool, error) {
	cfg, log, h, m := p.cfg, p.log, p.front.st.Health, p.front.st.Metrics
	js, err := natsconn.OpenJetStream(p.nc, cfg.NATS)
	if err != nil {
		return false, fmt.Errorf("JetStream: %w", err)
	}
	p.js = js
	if cfg.Bridge.BindOnly {
		if cfg, err = consume.CheckBound(ctx, js, cfg, log); err != nil {
			return false, err
		}
		p.cfg = cfg
	}
	// Dead letters must have a place before the first message is read.
	p.dlq = deadletter.NewDeadLetters(js, cfg, log, m, h)
	err = wait.Retry(ctx, func() error { return p.dlq.Ensure(ctx) }, func(err error, retryIn time.Duration) {
		h.Set(health.DeadLetters, false, err.Error())
		log.Warn().Err(err).Dur("retry_in", retryIn).Msg("waiting for the dead-letter stream")
	})
	if err != nil {
		return false, nil // stopped while waiting
	}
	h.Set(health.DeadLetters, true, "")
	// The fence holds every event, from either source, to its subject; the
	// mapping reads messages of producers that do not send CloudEvents.
	rules := p.rules
	if rules.Fence != nil {
		log.Info().Str("templates", cfg.Fence.Subjects).Bool("customer_table", cfg.Fence.Customers != "").
			Msg("fence on: an event bills only a customer its NATS subject allows; others are dead-lettered (fenced)")
	}
	if rules.Mapping != nil {
		log.Info().Str("file", rules.Mapping.File()).Strs("rules", rules.Mapping.Subjects()).
			Msg("mapping on: a message a rule matches becomes the CloudEvent the rule makes; others are read as CloudEvents")
	}
	p.source = consume.NewJetStream(js, cfg, log, m, h, p.dlq, rules)
	if err := p.source.Bind(ctx); err != nil {
		return false, nil // stopped while waiting
	}
	if cfg.Bridge.CoreSubject != "" {
		p.core = consume.NewCore(p.nc, cfg, log, m, h, p.dlq, rules)
		if err := p.core.Subscribe(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// close drains the NATS connection, after the parts stopped: what the
// last settlements sent reaches the server.
func (p *parts) close() {
	p.source.SaveFloor(context.Background())
	p.stopService()
	closed := make(chan struct{})
	p.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := p.nc.Drain(); err != nil {
		p.log.Warn().Err(err).Msg("draining the NATS connection")
	} else {
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			p.log.Warn().Msg("the NATS connection did not drain in 2s; closing it")
		}
	}
	p.nc.Close()
	p.log.Info().Msg("stopped")
}
