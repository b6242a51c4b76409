package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// stalled holds every ingest request but the start-up token check until
// release is closed.
func stalled(release <-chan struct{}) sandbox.Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.ContentLength == 2 {
			return false // the start-up token check, an empty batch
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	}
}

// Core NATS keeps nothing: while Konnect is stalled, at most
// BRIDGE_CORE_PENDING messages (plus what the bridge's pipeline holds) wait,
// and NATS drops the rest. Every message is either delivered once Konnect
// is back or counted as dropped, in the metric, the log and the status
// page. The test logs how many it absorbed: the figure in
// docs/delivery.md.
func TestCoreNATSLossIsCountedAndSaid(t *testing.T) {
	const subject, published, pending = "core.agent.runs.acme", 3000, 500
	release := make(chan struct{})
	e := start(t, func(c *config.Config) {
		c.Bridge.CoreSubject = "core.agent.runs.>"
		c.Bridge.CorePending = pending
		c.Batch = config.Defaults().Batch // the pipeline as shipped
		c.Konnect.Timeout = time.Minute
		c.Retry.Budget = time.Minute
	}, sandbox.WithFault(stalled(release)))
	testkit.Eventually(t, wait, func() bool { return e.nats.GlobalAccount().SubscriptionInterest(subject) },
		"the bridge did not subscribe to %s", subject)
	for i := range published {
		if err := e.nc.Publish(subject, run(fmt.Sprintf("core-%05d", i)).JSON()); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dropped := func() float64 { return e.scrape().series["konnect_bridge_core_dropped_total"] }
	testkit.Eventually(t, wait, func() bool { return dropped() > 0 }, "no drop was counted")
	if _, _, page := e.get("/"); !strings.Contains(string(page), "core NATS dropped") {
		t.Errorf("the status page does not show the drops as the last error:\n%s", page)
	}
	close(release)
	testkit.Eventually(t, wait, func() bool { return len(e.konnect.Events())+int(dropped()) == published },
		"delivered %v + dropped %v != published %d", lazy(func() string { return fmt.Sprint(len(e.konnect.Events())) }),
		lazy(func() string { return fmt.Sprint(dropped()) }), published)
	absorbed := len(e.konnect.Events())
	if absorbed < pending {
		t.Errorf("only %d messages absorbed, want at least BRIDGE_CORE_PENDING %d", absorbed, pending)
	}
	t.Logf("a stalled Konnect: %d of %d core NATS messages absorbed with BRIDGE_CORE_PENDING=%d and the default batch settings (pipeline: %d)",
		absorbed, published, pending, absorbed-pending)
}
