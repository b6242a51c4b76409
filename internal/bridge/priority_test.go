package bridge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// replica is another bridge of e's, on the same NATS and Konnect, with
// e's settings changed by tune.
func (e *env) replica(tune func(*config.Config)) *env {
	e.t.Helper()
	cfg := e.cfg
	tune(&cfg)
	r := *e
	r.cfg, r.bridge = cfg, testkit.StartBridge(e.t, cfg)
	return &r
}

// delivered is how many events this replica delivered.
func (e *env) delivered() float64 {
	return e.scrape().value(e.t, "konnect_bridge_events_delivered_total")
}

// waitStandby waits until the replica says it stands by (or, with want
// false, that it pulls) in its gauge, on its status page and, ready all
// along, on /readyz.
func (e *env) waitStandby(want bool) {
	e.t.Helper()
	gauge := 0.0
	if want {
		gauge = 1
	}
	testkit.Eventually(e.t, wait, func() bool { return e.scrape().value(e.t, "konnect_bridge_standby") == gauge },
		"konnect_bridge_standby is not %v", gauge)
	if code, _, _ := e.get("/readyz"); code != http.StatusOK {
		e.t.Errorf("/readyz answers %d, want 200: a standby replica is ready", code)
	}
	_, _, page := e.get("/")
	if got := strings.Contains(string(page), `id="standby"><span class="state">standby</span>`); got != want {
		e.t.Errorf("the status page says standby: %v, want %v", got, want)
	}
}

// ids is the set of "source/id" keys of runs.
func ids(runs []testkit.Run) map[string]bool {
	out := map[string]bool{}
	for _, r := range runs {
		out[r.Source+"/"+r.ID] = true
	}
	return out
}

// sameIDs fails the test unless Konnect holds exactly want.
func (e *env) sameIDs(want map[string]bool) {
	e.t.Helper()
	got := e.konnect.IDs()
	for id := range want {
		if !got[id] {
			e.t.Errorf("Konnect does not hold %s", id)
		}
	}
	if len(got) != len(want) {
		e.t.Errorf("Konnect holds %d events, want %d", len(got), len(want))
	}
}

// Two replicas with pinned_client: one delivers, the other stands by,
// ready, saying so; once the pinned one stops, the standby takes over
// within BRIDGE_PINNED_TTL and a few seconds, and every run is delivered
// once.
func TestPinnedReplicaDeliversAndStandbyTakesOver(t *testing.T) {
	t.Parallel()
	pinned := func(c *config.Config) {
		c.Bridge.PriorityPolicy = config.PriorityPinned
		c.Bridge.PinnedTTL = 6 * time.Second
	}
	a := start(t, pinned)
	b := a.replica(pinned)

	first := testkit.AcmeRuns("pinned-first", 60)
	a.publishRuns(first)
	a.waitHeld(len(first))
	a.waitSettled()
	active, standby := a, b
	if b.delivered() > 0 {
		active, standby = b, a
	}
	if got := active.delivered(); got != float64(len(first)) {
		t.Fatalf("the pinned replica delivered %v of %d runs, the other %v: only one replica may pull", got, len(first), standby.delivered())
	}
	standby.waitStandby(true)
	active.waitStandby(false)

	second := testkit.AcmeRuns("pinned-second", 60)
	a.publishRuns(second)
	a.waitHeld(len(first) + len(second))
	a.waitSettled()
	if got := standby.delivered(); got != 0 {
		t.Errorf("the standby replica delivered %v runs while the pinned one ran, want 0", got)
	}

	active.bridge.Stop(t)
	third := testkit.AcmeRuns("pinned-third", 60)
	a.publishRuns(third)
	testkit.Eventually(t, 6*time.Second+10*time.Second, func() bool { return len(a.konnect.Events()) >= len(first)+len(second)+len(third) },
		"the standby did not take over within BRIDGE_PINNED_TTL and 10s: Konnect holds %v", lazy(func() string { return fmt.Sprint(len(a.konnect.Events())) }))
	if got := standby.delivered(); got != float64(len(third)) {
		t.Errorf("the replica that took over delivered %v runs, want %d", got, len(third))
	}
	standby.waitStandby(false)

	all := ids(first)
	for id := range ids(second) {
		all[id] = true
	}
	for id := range ids(third) {
		all[id] = true
	}
	a.sameIDs(all)
	if got := a.konnect.AcceptedEvents(); got != len(all) {
		t.Errorf("Konnect accepted %d events, want %d: none sent twice", got, len(all))
	}
}

// With overflow, a replica with a threshold pulls while the backlog is
// at least that and stands by below it; the replica without one drains
// the rest and, below the threshold, alone delivers what arrives.
func TestOverflowReplicaJoinsAboveTheThresholdOnly(t *testing.T) {
	t.Parallel()
	const threshold = 1000
	extra := start(t, func(c *config.Config) {
		c.Bridge.PriorityPolicy = config.PriorityOverflow
		c.Bridge.OverflowMinPending = threshold
	})
	backlog := testkit.AcmeRuns("backlog", 3000)
	extra.publishRuns(backlog)
	extra.waitStandby(true)
	took := extra.delivered()
	if took < 1 || took > float64(len(backlog)-threshold+extra.cfg.Prefetch()) {
		t.Fatalf("the overflow replica delivered %v of a backlog of %d, want some, leaving about %d (its threshold)", took, len(backlog), threshold)
	}

	first := extra.replica(func(c *config.Config) {
		c.Bridge.PriorityPolicy = config.PriorityOverflow
		c.Bridge.OverflowMinPending = 0
	})
	first.waitHeld(len(backlog))
	first.waitSettled()
	if got := first.delivered(); got != float64(len(backlog))-took {
		t.Errorf("the first replica delivered %v, want the %v the overflow replica left", got, float64(len(backlog))-took)
	}

	below := testkit.AcmeRuns("below", 100)
	first.publishRuns(below)
	first.waitHeld(len(backlog) + len(below))
	first.waitSettled()
	if got := extra.delivered(); got != took {
		t.Errorf("the overflow replica delivered %v runs below its threshold, want none", got-took)
	}
	first.waitStandby(false)

	all := ids(backlog)
	for id := range ids(below) {
		all[id] = true
	}
	first.sameIDs(all)
}

// A bridge that manages its consumer changes the priority policy of the
// one it finds to BRIDGE_PRIORITY_POLICY's, and delivers through it.
func TestManagedBridgeChangesTheConsumersPriorityPolicy(t *testing.T) {
	t.Parallel()
	before := start(t, nil)
	before.bridge.Stop(t)
	after := before.replica(func(c *config.Config) {
		c.Bridge.PriorityPolicy = config.PriorityPinned
		c.Bridge.PinnedTTL = 20 * time.Second
	})
	cc := after.consumer().Config
	if cc.PriorityPolicy != jetstream.PriorityPolicyPinned || fmt.Sprint(cc.PriorityGroups) != "[konnect-bridge]" || cc.PinnedTTL != 20*time.Second {
		t.Errorf("the consumer has priority policy %v, groups %v and pinned TTL %s, want pinned_client, [konnect-bridge] and 20s", cc.PriorityPolicy, cc.PriorityGroups, cc.PinnedTTL)
	}
	runs := testkit.AcmeRuns("changed", 5)
	after.publishRuns(runs)
	after.waitHeld(len(runs))
	after.sameIDs(ids(runs))
}
