package consume_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// subscribedCore is a core NATS source subscribed on a NATS server of its
// own, and its connection.
func subscribedCore(t *testing.T) (*consume.Core, *nats.Conn) {
	t.Helper()
	ns := testkit.NATS(t)
	nc, js := testkit.Connect(t, ns.ClientURL())
	cfg := config.Defaults()
	cfg.Bridge.CoreSubject = "agent.core.>"
	m, h := metrics.New(), health.New(nil)
	core := consume.NewCore(nc, cfg, zerolog.Nop(), m, h, deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), m, h), consume.Rules{})
	if err := core.Subscribe(); err != nil {
		t.Fatal(err)
	}
	return core, nc
}

// A core NATS subscription that ends under the bridge is an error of Run,
// for the bridge to stop on and exit with, not a source that silently
// stops reading.
func TestCoreRunReturnsAnErrorWhenItsSubscriptionEnds(t *testing.T) {
	core, nc := subscribedCore(t)
	done := make(chan error, 1)
	go func() { done <- core.Run(context.Background(), make(chan delivery.Item, 1)) }()
	nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrConnectionClosed) {
			t.Fatalf("Run() = %v, want the subscription's end (connection closed)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its subscription ended")
	}
}

// A stopped Run returns nil.
func TestCoreRunReturnsNilWhenStopped(t *testing.T) {
	core, _ := subscribedCore(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx, make(chan delivery.Item, 1)) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run() = %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
