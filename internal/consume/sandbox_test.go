package consume_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// On a work-queue stream any consumer removes what it reads, so the
// sandbox refuses to read one: it stays not ready, saying why, and creates
// no consumer that would take messages from billing.
func TestSandboxRefusesAWorkQueueStream(t *testing.T) {
	ns := testkit.NATS(t)
	_, js := testkit.Connect(t, ns.ClientURL())
	cfg := config.Defaults()
	cfg.NATS.URL = ns.ClientURL()
	cfg.Bridge.Sandbox = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Bridge.Stream, Subjects: []string{cfg.Bridge.Subject}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	h := health.New(nil)
	source := consume.NewJetStream(js, cfg, zerolog.Nop(), metrics.New(), h, nil, consume.Rules{})
	if err := source.Bind(ctx); err == nil {
		t.Fatal("the sandbox bound to a work-queue stream")
	}
	r := h.Report()
	reason := ""
	for _, c := range r.Components {
		if c.Component == health.Consumer {
			reason = c.Reason
		}
	}
	if r.Ready || !strings.Contains(reason, "work queue") || !strings.Contains(reason, "KONNECT_TOKEN") {
		t.Errorf("readiness %v does not say the work queue is refused and what to do: %q", r.Ready, reason)
	}
	s, err := js.Stream(context.Background(), cfg.Bridge.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Consumers; n != 0 {
		t.Errorf("%d consumer(s) created on the work queue", n)
	}
}
