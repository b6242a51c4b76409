package bridge_test

import (
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Graceful stop while Konnect is slow: the batches in flight are finished
// and acked, the rest is handed back, and a bridge started afterwards
// delivers exactly what is left, so Konnect receives every event once.
func TestStopWhileKonnectIsSlowLosesAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	var holding atomic.Int32
	slow := func(w http.ResponseWriter, r *http.Request) bool {
		holding.Add(1)
		defer holding.Add(-1)
		return sandbox.Delay(time.Second)(w, r)
	}
	tune := func(c *config.Config) {
		c.Bridge.ShutdownTimeout = 10 * time.Second
		c.Batch.InFlight = 1 // most events are still queued when the stop comes
	}
	e := start(t, tune, sandbox.WithFault(slow))
	all := runs("stop", 200)
	e.publishRuns(all)

	testkit.Eventually(t, wait, func() bool { return holding.Load() > 0 }, "no request reached Konnect")
	e.bridge.Stop(t)

	finished := len(e.konnect.Events())
	if finished == 0 {
		t.Errorf("Konnect holds nothing after the stop: the batches in flight were abandoned")
	}
	if finished == len(all) {
		t.Fatalf("all %d events were delivered before the stop: nothing was left to hand back", finished)
	}
	// Every message is now acked (its event is in Konnect), or waiting in
	// JetStream for the next bridge: nothing Konnect holds is left unacked.
	testkit.Eventually(t, wait, func() bool {
		info := e.consumer()
		acked := len(all) - int(info.NumPending) - info.NumAckPending
		return acked == finished
	}, "the stopped bridge did not ack exactly the %d events Konnect holds", finished)

	e.konnect.SetFault(nil)
	cfg := e.cfg
	testkit.StartBridge(t, cfg)
	e.waitHeld(len(all))
	e.waitSettled()
	if got, want := e.konnect.IDs(), keys(all...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want every published event %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if got := e.konnect.AcceptedEvents(); got != len(all) {
		t.Errorf("Konnect was sent %d events in accepted requests, want each of the %d once", got, len(all))
	}
	t.Logf("%d of %d events delivered before the stop", finished, len(all))
}
