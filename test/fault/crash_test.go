package fault_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// A bridge killed with SIGKILL while batches are on their way to a slow
// Konnect loses nothing: after a restart every run is in Konnect, once per
// (source, id), even the batch Konnect stored but the bridge never saw
// accepted.
func TestBridgeKilledMidBatchLosesNothing(t *testing.T) {
	s := newSuite(t)
	slow := holding(300 * time.Millisecond)
	s.konnect.SetFault(slow.fault())
	b := s.startBridge("bridge")
	p := s.produce(newProducer(s.js), 300, 10*time.Millisecond)

	testkit.Eventually(t, 30*time.Second, func() bool {
		return len(s.konnect.IDs()) >= 60
	}, "Konnect received no runs before the kill")
	// Hang Konnect so that a batch is surely in flight at the kill.
	hang := holding(time.Minute)
	s.konnect.SetFault(hang.fault())
	testkit.Eventually(t, 30*time.Second, func() bool { return hang.holding.Load() > 0 },
		"no batch reached the hanging Konnect")
	b.kill(t)
	testkit.Eventually(t, 10*time.Second, func() bool { return hang.holding.Load() == 0 },
		"Konnect still holds a request of the killed bridge")

	s.konnect.SetFault(slow.fault())
	s.startBridge("bridge-restarted")
	p.wait(t)
	s.assertDelivered(p)
	sent, runs := s.konnect.AcceptedEvents(), p.count()
	t.Logf("%d runs published; Konnect accepted %d events in all, %d of them resent after the kill", runs, sent, sent-runs)
	if sent <= runs {
		t.Errorf("Konnect accepted %d events in all for %d runs: the batch in flight at the kill should have been sent again", sent, runs)
	}
}

// SIGTERM while Konnect is slow: the bridge hands back what it could not
// finish within BRIDGE_SHUTDOWN_TIMEOUT and exits 0 in time; after a
// restart every run is in Konnect once.
func TestBridgeStopsCleanlyDuringSlowKonnect(t *testing.T) {
	const shutdown = 2 * time.Second
	s := newSuite(t, "BRIDGE_SHUTDOWN_TIMEOUT="+shutdown.String())
	// Konnect stores nothing it has not answered: what the bridge cuts
	// off at its deadline must come again after the restart.
	slow := holding(3 * time.Second)
	slow.then = sandbox.Answer(http.StatusServiceUnavailable, 0)
	s.konnect.SetFault(slow.fault())
	b := s.startBridge("bridge")
	p := s.produce(newProducer(s.js), 200, 10*time.Millisecond)

	// Adaptive concurrency keeps to one request at a time against a
	// Konnect this slow that answers 503: one held request is the stop's
	// worst case.
	testkit.Eventually(t, 30*time.Second, func() bool { return slow.holding.Load() >= 1 },
		"no batch reached the slow Konnect")
	held := slow.holding.Load()
	code, took := b.terminate(t, shutdown+10*time.Second)
	t.Logf("SIGTERM while Konnect held %d request(s): the bridge exited with %d after %s", held, code, took)
	if code != 0 {
		t.Errorf("after SIGTERM the bridge exited with %d after %s, want 0", code, took)
	}
	if took > shutdown+2*time.Second {
		t.Errorf("after SIGTERM the bridge took %s to exit, want at most BRIDGE_SHUTDOWN_TIMEOUT %s + 2s", took, shutdown)
	}

	s.konnect.SetFault(nil)
	s.startBridge("bridge-restarted")
	p.wait(t)
	s.assertDelivered(p)
}
