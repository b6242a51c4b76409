package fault_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// NATS killed and restarted in place while runs flow: the bridge says it is
// not ready because of NATS while the server is away, reconnects by itself
// (no restart of the bridge), and every run reaches Konnect once.
func TestBridgeRidesOutANATSRestart(t *testing.T) {
	s := newSuite(t)
	s.konnect.SetFault(holding(100 * time.Millisecond).fault())
	b := s.startBridge("bridge")
	prod := newProducer(s.js)
	prod.msgIDs = true // the producer's publishes are retried across the restart
	p := s.produce(prod, 300, 15*time.Millisecond)

	testkit.Eventually(t, 30*time.Second, func() bool { return len(s.konnect.IDs()) >= 50 },
		"Konnect received no runs before NATS went away")
	s.nats.kill()
	testkit.Eventually(t, 30*time.Second, func() bool { return b.notReady(health.NATS) },
		"while NATS is down, /readyz does not answer 503 naming %s: %s", health.NATS, lazy(func() string {
			code, body := b.get("/readyz")
			return fmt.Sprintf("%d %s", code, body)
		}))
	// Keep NATS away past the bridge's reconnect wait; the bridge must say
	// so the whole time.
	const outage = 2 * time.Second
	for down := time.Now(); time.Since(down) < outage; time.Sleep(100 * time.Millisecond) {
		if !b.notReady(health.NATS) {
			code, body := b.get("/readyz")
			t.Fatalf("NATS is still down, but /readyz answers %d %s", code, body)
		}
	}
	s.nats.restart()
	testkit.Eventually(t, 60*time.Second, b.ready, "after NATS came back, /readyz does not answer 200: %s",
		lazy(func() string { _, body := b.get("/readyz"); return string(body) }))

	p.wait(t)
	s.assertDelivered(p)
	if !b.running() {
		t.Errorf("the bridge exited (%s); it should have reconnected by itself", b.state)
	}
}
