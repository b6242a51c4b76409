package fault_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Three replicas share the durable consumer and each delivers a share; one
// is killed with SIGKILL while Konnect holds its batches, and the two left
// deliver everything, the dead replica's unacknowledged runs included, once
// per (source, id).
func TestReplicaLostMidStream(t *testing.T) {
	s := newSuite(t)
	slow := holding(100 * time.Millisecond)
	s.konnect.SetFault(slow.fault())
	replicas := []*bridge{s.startBridge("replica-1"), s.startBridge("replica-2"), s.startBridge("replica-3")}
	p := s.produce(newProducer(s.js), 450, 10*time.Millisecond)

	const delivered = "konnect_bridge_events_delivered_total"
	testkit.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, r := range replicas {
			if r.metric(delivered) > 0 {
				n++
			}
		}
		return n >= 2
	}, "fewer than two replicas delivered while sharing the consumer: %s", lazy(func() string {
		var counts []string
		for _, r := range replicas {
			counts = append(counts, fmt.Sprintf("%s %v", r.name, r.metric(delivered)))
		}
		return strings.Join(counts, ", ")
	}))

	// Hang Konnect, and strike a replica once every batch in flight,
	// its own included, is held there.
	hang := holding(time.Minute)
	s.konnect.SetFault(hang.fault())
	const inFlight = "konnect_bridge_batches_in_flight"
	var victim *bridge
	testkit.Eventually(t, 30*time.Second, func() bool {
		held, busy := 0.0, (*bridge)(nil)
		for _, r := range replicas {
			n := r.metric(inFlight)
			held += n
			if n > 0 && r.metric(delivered) > 0 {
				busy = r
			}
		}
		victim = busy
		return busy != nil && held == float64(hang.holding.Load())
	}, "no replica that delivered had its batches held by Konnect")
	by := victim.metric(delivered)
	victim.kill(t)
	t.Logf("killed %s with batches held by Konnect, after it delivered %v of the %d runs published so far", victim.name, by, p.count())
	s.konnect.SetFault(slow.fault())
	hang.letGo()

	p.wait(t)
	s.assertDelivered(p)
	sent, runs := s.konnect.AcceptedEvents(), p.count()
	if sent <= runs {
		t.Errorf("Konnect accepted %d events in all for %d runs: the batches held at the kill should have been sent again", sent, runs)
	}
	for _, r := range replicas {
		if r != victim && !r.running() {
			t.Errorf("%s exited (%s)", r.name, r.state)
		}
	}
}

// Two replicas with BRIDGE_PRIORITY_POLICY=pinned_client: only the pinned
// one delivers while both run, the other says it stands by, ready. The
// pinned one is killed with SIGKILL mid-stream; the standby takes over
// within BRIDGE_PINNED_TTL and a few seconds, and Konnect holds every run
// once per (source, id).
func TestPinnedReplicaKilledStandbyTakesOver(t *testing.T) {
	const ttl = 6 * time.Second
	s := newSuite(t, "BRIDGE_PRIORITY_POLICY=pinned_client", "BRIDGE_PINNED_TTL="+ttl.String())
	replicas := []*bridge{s.startBridge("replica-1"), s.startBridge("replica-2")}
	p := s.produce(newProducer(s.js), 400, 20*time.Millisecond)

	const delivered = "konnect_bridge_events_delivered_total"
	var pinned, standby *bridge
	testkit.Eventually(t, 30*time.Second, func() bool {
		a, b := replicas[0].metric(delivered), replicas[1].metric(delivered)
		switch {
		case a > 0 && b == 0:
			pinned, standby = replicas[0], replicas[1]
		case b > 0 && a == 0:
			pinned, standby = replicas[1], replicas[0]
		}
		return pinned != nil && standby.metric("konnect_bridge_standby") == 1
	}, "not one replica delivering and the other standing by: %s", lazy(func() string {
		return fmt.Sprintf("delivered %v and %v, standby %v and %v", replicas[0].metric(delivered), replicas[1].metric(delivered),
			replicas[0].metric("konnect_bridge_standby"), replicas[1].metric("konnect_bridge_standby"))
	}))
	if !standby.ready() {
		t.Errorf("%s stands by and is not ready: Kubernetes would restart it", standby.name)
	}
	if got := standby.metric(delivered); got != 0 {
		t.Errorf("%s delivered %v runs while %s was pinned, want 0", standby.name, got, pinned.name)
	}

	pinned.kill(t)
	killed := time.Now()
	testkit.Eventually(t, ttl+10*time.Second, func() bool { return standby.metric(delivered) > 0 },
		"%s did not take over within BRIDGE_PINNED_TTL (%s) and 10s of the kill", standby.name, ttl)
	t.Logf("%s took over %s after the kill", standby.name, time.Since(killed).Round(100*time.Millisecond))

	p.wait(t)
	s.assertDelivered(p)
	if !standby.running() {
		t.Errorf("%s exited (%s)", standby.name, standby.state)
	}
}
