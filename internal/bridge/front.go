package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/admin"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// front is what runs before NATS is reached: readiness and metrics, the
// admin server's listener, the sandbox and the embedded NATS server of dev
// mode, and the billing watcher the status page shows.
type front struct {
	st    Started
	token string
	bill  *billing.Watcher
	ln    net.Listener
	srv   *http.Server
	nats  *server.Server
	log   zerolog.Logger
}

// newFront listens on BRIDGE_HTTP_ADDR and starts the embedded NATS server
// when nothing else is configured.
func newFront(cfg config.Config, log zerolog.Logger) (*front, error) {
	m := metrics.New()
	h := health.New(func(c health.Component, ready bool) {
		v := 0.0
		if ready {
			v = 1
		}
		m.Ready.WithLabelValues(string(c)).Set(v)
	})
	f := &front{st: Started{Health: h, Metrics: m, NATSURL: cfg.NATS.URL, IngestURL: cfg.Konnect.URL}, log: log,
		token: cfg.Konnect.Token.Reveal()}
	ln, err := net.Listen("tcp", cfg.Bridge.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("BRIDGE_HTTP_ADDR %s: %w (is another bridge running? choose another address)", cfg.Bridge.HTTPAddr, err)
	}
	f.ln = ln
	f.st.AdminAddr = ln.Addr().String()
	if cfg.Target() == config.TargetSandbox {
		opts := []sandbox.Option{sandbox.WithGuide(), sandbox.WithKeep(cfg.Bridge.SandboxKeep)}
		if cfg.Embedded() {
			started, err := sandboxStarted(cfg.NATS.DataDir, time.Now())
			if err != nil {
				log.Warn().Err(err).Msg("the sandbox's first start is not kept: its guide subscription starts now")
			}
			opts = append(opts, sandbox.WithStarted(started))
		}
		f.st.Sandbox = sandbox.New(opts...)
		f.st.IngestURL = "http://" + f.st.AdminAddr + "/v3/openmeter/events"
		f.token = ownToken() // the sandbox's API opens to it, never anything else
	}
	if cfg.Embedded() {
		ns, err := natsconn.Embedded(cfg.NATS.EmbeddedAddr, cfg.NATS.DataDir)
		if err != nil {
			ln.Close()
			return nil, err
		}
		f.nats = ns
		f.st.NATSURL = ns.ClientURL()
	}
	f.bill = billing.NewWatcher(cfg, f.st.IngestURL, f.token, log, m)
	info := admin.Info{Version: metrics.Build().Version, NATS: f.st.NATSURL, Stream: cfg.Bridge.Stream,
		Consumer: cfg.ReadingConsumer(), Target: f.st.IngestURL, Reading: cfg.Reading(), Secrets: cfg.Scrubber(), Billing: f.bill,
		Access: admin.Access{Token: cfg.Bridge.AdminToken.Reveal(), Own: f.token, Open: cfg.AdminOpen()}}
	if cfg.Target() != config.TargetSandbox {
		info.Access.Own = ""
	}
	if info.Access.Token == "" && !info.Access.Open {
		log.Warn().Str("addr", f.st.AdminAddr).Msg("BRIDGE_HTTP_ADDR is not loopback and BRIDGE_ADMIN_TOKEN is not set: the status page, /billing and the sandbox answer 403 (only /healthz, /readyz and /metrics are served); set BRIDGE_ADMIN_TOKEN, or bind to 127.0.0.1")
	}
	var sb admin.Sandbox // a nil *sandbox.Sandbox would not be a nil Sandbox
	if f.st.Sandbox != nil {
		sb = f.st.Sandbox
	}
	f.srv = &http.Server{Handler: admin.Handler(h, m, sb, info), ReadHeaderTimeout: 10 * time.Second}
	return f, nil
}

// serve runs the admin server until shutdown.
func (f *front) serve() error {
	if err := f.srv.Serve(f.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdown stops the admin server, giving open requests a second.
func (f *front) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}

// close stops the embedded NATS server, last of all.
func (f *front) close() {
	f.ln.Close()
	if f.nats != nil {
		f.nats.Shutdown()
	}
}

// ownToken is a token made for this process only, which the bridge
// presents to its own sandbox.
func ownToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
