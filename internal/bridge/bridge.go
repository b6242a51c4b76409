// Package bridge wires the parts into the running service: the embedded dev
// stack when nothing is configured, the NATS sources, the publisher, the
// admin server, and the order they stop in. It holds no logic of its own
// beyond that order.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/admin"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/service"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
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
// drain the NATS connection, stop the admin server. started, when not nil,
// is called once everything is up. A nil error means a clean stop.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger, started func(Started), opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := metrics.New()
	h := health.New(func(c health.Component, ready bool) {
		v := 0.0
		if ready {
			v = 1
		}
		m.Ready.WithLabelValues(string(c)).Set(v)
	})
	st := Started{Health: h, Metrics: m}

	// Admin server first: in sandbox mode it is where events are delivered.
	ln, err := net.Listen("tcp", cfg.Bridge.HTTPAddr)
	if err != nil {
		return fmt.Errorf("BRIDGE_HTTP_ADDR %s: %w (is another bridge running? choose another address)", cfg.Bridge.HTTPAddr, err)
	}
	st.AdminAddr = ln.Addr().String()
	st.IngestURL = cfg.Konnect.URL
	token := cfg.Konnect.Token.Reveal()
	if cfg.Target() == config.TargetSandbox {
		st.Sandbox = sandbox.New(sandbox.WithGuide(), sandbox.WithKeep(cfg.Bridge.SandboxKeep))
		st.IngestURL = "http://" + st.AdminAddr + "/v3/openmeter/events"
		token = ""
	}

	// NATS: the embedded dev server, or the configured one.
	st.NATSURL = cfg.NATS.URL
	if cfg.Embedded() {
		ns, err := consume.Embedded(cfg.NATS.EmbeddedAddr, cfg.NATS.DataDir)
		if err != nil {
			ln.Close()
			return err
		}
		defer ns.Shutdown()
		st.NATSURL = ns.ClientURL()
	}
	bill := billing.NewWatcher(cfg, st.IngestURL, token, log, m)
	info := admin.Info{Version: metrics.Build().Version, NATS: st.NATSURL, Stream: cfg.Bridge.Stream,
		Consumer: cfg.ReadingConsumer(), Target: st.IngestURL, Reading: cfg.Reading(), Secrets: cfg.Scrubber(), Billing: bill}
	srv := &http.Server{Handler: admin.Handler(h, m, st.Sandbox, info), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin server stopped")
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	nc, err := consume.Connect(st.NATSURL, cfg.NATS, log, h)
	if err != nil {
		return err
	}
	defer nc.Close()
	if !nc.IsConnected() {
		log.Warn().Str("nats", config.RedactURL(nc.Opts.Url)).Msg("NATS is not reachable yet; retrying")
	}
	if err := consume.WaitConnected(ctx, nc); err != nil {
		return nil
	}
	js, err := consume.OpenJetStream(nc, cfg.NATS)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	if cfg.Bridge.BindOnly {
		if cfg, err = consume.CheckBound(ctx, js, cfg, log); err != nil {
			return err
		}
	}
	// Dead letters must have a place before the first message is read.
	dlq := consume.NewDeadLetters(js, cfg, log, m, h)
	err = wait.Retry(ctx, func() error { return dlq.Ensure(ctx) }, func(err error, retryIn time.Duration) {
		h.Set(health.DeadLetters, false, err.Error())
		log.Warn().Err(err).Dur("retry_in", retryIn).Msg("waiting for the dead-letter stream")
	})
	if err != nil {
		return nil // stopped while waiting
	}
	h.Set(health.DeadLetters, true, "")
	// The fence holds every event, from either source, to its subject.
	rule, err := cfg.Fence.Rule()
	if err != nil {
		return err
	}
	if rule != nil {
		log.Info().Str("templates", cfg.Fence.Subjects).Bool("customer_table", cfg.Fence.Customers != "").
			Msg("fence on: an event bills only a customer its NATS subject allows; others are dead-lettered (fenced)")
	}
	source := consume.NewJetStream(js, cfg, log, m, h, dlq, rule)
	if err := source.Bind(ctx); err != nil {
		return nil // stopped while waiting
	}
	go bill.Run(ctx, js) // off the delivery path

	client := publish.NewClient(st.IngestURL, token, cfg.Konnect.Timeout, cfg.Konnect.ConnectTimeout, 2*cfg.Batch.InFlight)
	pub := publish.New(client, publish.Limits{
		Size: cfg.Batch.Size, Bytes: cfg.Batch.Bytes, Linger: cfg.Batch.Linger, InFlight: cfg.Batch.InFlight,
		RetryBudget: cfg.Retry.Budget, MaxBackoff: cfg.Retry.MaxBackoff, NakDelay: cfg.Retry.NakDelay, ProbeMax: cfg.Retry.ProbeMax,
	}, log, m, h)
	o.trace(dlq, pub)

	// Sources stop when ctx ends; the publisher gets ShutdownTimeout more
	// to finish what is in flight before everything left is handed back.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopHard := context.AfterFunc(ctx, func() {
		log.Info().Dur("deadline", cfg.Bridge.ShutdownTimeout).Msg("stopping: no more pulls; finishing in-flight batches")
		time.AfterFunc(cfg.Bridge.ShutdownTimeout, cancelHard)
	})
	defer stopHard()

	// Dead letters are stored until the shutdown deadline.
	go dlq.Run(hard)
	items := make(chan delivery.Item, cfg.Batch.Size)
	var sources sync.WaitGroup
	if cfg.Bridge.CoreSubject != "" {
		core := consume.NewCore(nc, cfg, log, m, h, dlq, rule)
		if err := core.Subscribe(); err != nil {
			return err
		}
		sources.Go(func() { core.Run(ctx, items) })
	}
	sources.Go(func() { _ = source.Run(ctx, items) })
	// Held messages are kept alive for as long as the publisher may still
	// deliver them, past the end of pulling.
	go source.KeepAlive(hard)
	go func() {
		sources.Wait()
		close(items)
	}()
	stopService := service.Register(nc, service.Info{Stream: cfg.Bridge.Stream, Consumer: cfg.ReadingConsumer(), Target: st.IngestURL}, h, m, log)
	// Readiness waits for Konnect's word on the token and URL.
	h.Set(health.KonnectAuth, false, "asking Konnect whether it accepts the token")
	if pub.CheckAuth(ctx) {
		go pub.WatchAuth(ctx)
	}
	if started != nil {
		started(st)
	}
	pub.Run(hard, items)
	dlq.Close()
	dlq.Wait()
	source.SaveFloor(context.WithoutCancel(ctx))
	stopService()

	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		log.Warn().Err(err).Msg("draining the NATS connection")
	} else {
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			log.Warn().Msg("the NATS connection did not drain in 2s; closing it")
		}
	}
	log.Info().Msg("stopped")
	return nil
}
