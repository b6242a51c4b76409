// Package service registers each replica of the bridge with the NATS
// service API (nats.go/micro) as konnect-bridge, so that NATS's own tooling
// finds it: `nats service ls`, `info`, `stats` and `ping`. It reads the
// metrics and readiness and answers with them; it never changes anything,
// and a replica that cannot register runs on.
package service

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// Name is the service's name in the NATS service API.
const Name = "konnect-bridge"

// StatusSubject is the service's one endpoint: a request there is answered
// with the Status of one replica, the same data STATS carries.
const StatusSubject = "$SRV.STATUS." + Name

// Info is what a replica says about itself in INFO.
type Info struct {
	Stream, Consumer string
	// Target is the ingest URL; it is shown without credentials.
	Target string
	// Secrets, when set, scrubs the reasons the status quotes.
	Secrets *config.Scrubber
}

// Status is what an operator asks first about a replica.
type Status struct {
	Delivered       float64 `json:"delivered"`
	DeadLettered    float64 `json:"dead_lettered"`
	Received        float64 `json:"received"`
	Lag             float64 `json:"lag"`
	AckPending      float64 `json:"ack_pending"`
	BatchesInFlight float64 `json:"batches_in_flight"`
	// Held: delivery to Konnect is held (Konnect refuses the token or URL,
	// or asked to wait); HeldReason says why.
	Held         bool      `json:"held"`
	HeldReason   string    `json:"held_reason,omitempty"`
	Ready        bool      `json:"ready"`
	NotReady     []string  `json:"not_ready,omitempty"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
}

// Read builds a Status from the metrics and readiness.
func Read(h *health.Health, m *metrics.Metrics) Status {
	s := m.Snapshot()
	r := h.Report()
	st := Status{
		Delivered: s.Delivered, DeadLettered: s.DeadLettered, Received: s.Received,
		Lag: s.Lag, AckPending: s.AckPending, BatchesInFlight: s.BatchesInFlight,
		Ready: r.Ready, LastDelivery: s.LastDelivery,
	}
	for _, c := range r.Components {
		if c.Ready {
			continue
		}
		st.NotReady = append(st.NotReady, string(c.Component)+": "+c.Reason)
		if !st.Held && (c.Component == health.KonnectAuth || c.Component == health.KonnectReachable) {
			st.Held, st.HeldReason = true, c.Reason
		}
	}
	return st
}

// read is Read with the reasons scrubbed of the configuration's secrets:
// they quote errors of net/http and nats.go, which may carry a URL.
func (info Info) read(h *health.Health, m *metrics.Metrics) Status {
	st := Read(h, m)
	if info.Secrets == nil {
		return st
	}
	st.HeldReason = info.Secrets.String(st.HeldReason)
	for i, r := range st.NotReady {
		st.NotReady[i] = info.Secrets.String(r)
	}
	return st
}

// Register adds this replica to the NATS service API on nc and returns
// what removes it again (call it before draining nc). Failing to register,
// at once or later for want of permission on $SRV.>, is logged as a
// warning: the bridge runs on without it.
func Register(nc *nats.Conn, info Info, h *health.Health, m *metrics.Metrics, log zerolog.Logger) (stop func()) {
	build := metrics.Build()
	var (
		warnOnce sync.Once
		refused  atomic.Bool
	)
	warn := func(err error) {
		refused.Store(true)
		warnOnce.Do(func() {
			log.Warn().Err(err).Msg("not registered with the NATS service API (nats service ls will not list this replica): the bridge's NATS user needs subscribe permission on $SRV.> and allow_responses; delivery goes on")
		})
	}
	restore := onRefusal(nc, warn)
	svc, err := micro.AddService(nc, micro.Config{
		Name:        Name,
		Version:     semver(build.Version),
		Description: "delivers agent runs from NATS to Kong Konnect Metering & Billing",
		Metadata: map[string]string{
			"stream": info.Stream, "consumer": info.Consumer, "target": config.RedactURL(info.Target),
			"build": build.Version, "revision": build.Revision,
		},
		StatsHandler: func(*micro.Endpoint) any { return info.read(h, m) },
		ErrorHandler: func(_ micro.Service, err *micro.NATSError) { warn(err) },
	})
	if err != nil {
		warn(err)
		restore()
		return func() {}
	}
	err = svc.AddEndpoint("status", micro.HandlerFunc(func(req micro.Request) {
		b, _ := json.Marshal(info.read(h, m))
		_ = req.Respond(b)
	}), micro.WithEndpointSubject(StatusSubject))
	if err != nil {
		warn(err)
	}
	// A refusal of the subscriptions comes back on its own; it is mostly
	// in by the time the server answers a flush.
	if nc.FlushTimeout(2*time.Second) == nil && !refused.Load() {
		log.Debug().Str("service", Name).Str("id", svc.Info().ID).Msg("registered with the NATS service API")
	}
	return func() {
		_ = svc.Stop()
		restore()
	}
}

// onRefusal calls refused for every subscription of the service API the
// server refuses, instead of the connection's error handler, until
// restore. The server refuses a subscription after the fact, and nats.go
// tells the connection's error handler without naming the subscription,
// so the refusals are told apart by their $SRV subject.
func onRefusal(nc *nats.Conn, refused func(error)) (restore func()) {
	prev := nc.ErrorHandler()
	nc.SetErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"$SRV.`) {
			refused(err)
			return
		}
		if prev != nil {
			prev(c, sub, err)
		}
	})
	return func() { nc.SetErrorHandler(prev) }
}

// semver makes a build version fit the service API, which takes semantic
// versions only: v1.2.3 is 1.2.3, and a build without a version (from a
// source tree) is 0.0.0-devel.
func semver(v string) string {
	v = strings.TrimPrefix(v, "v")
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	if strings.Count(core, ".") != 2 {
		return "0.0.0-devel"
	}
	return v
}
