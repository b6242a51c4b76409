package bridge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// anonymousRuns are n runs without an id, told apart by their agent name
// (prefix-0, prefix-1, ...), so that the bridge derives their ids.
func anonymousRuns(prefix string, n int) []testkit.Run {
	out := runs(prefix, n)
	for i := range out {
		out[i].ID, out[i].Agent = "", fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// agents counts the events Konnect holds by agent name.
func agents(k *testkit.Konnect) map[string]int {
	out := map[string]int{}
	for _, e := range k.Events() {
		var d struct {
			AgentName string `json:"agent_name"`
		}
		_ = json.Unmarshal(e.Data, &d)
		out[d.AgentName]++
	}
	return out
}

// The stream is deleted and created again while the bridge holds messages
// of the old one (Konnect stalled): those are delivered under the old
// stream's identity, and the new stream's messages, with the same
// sequences, under the new one. None of the new stream's events is taken
// for a duplicate of an old one and left unbilled.
func TestIDsComeFromTheStreamTheMessageWasReadFrom(t *testing.T) {
	gate := make(chan struct{})
	e := start(t, func(c *config.Config) { c.Konnect.Timeout = time.Minute; c.Retry.Budget = time.Minute }, sandbox.WithFault(stalled(gate)))
	e.publishRuns(anonymousRuns("old", 300))
	testkit.Eventually(t, wait, func() bool { return e.consumer().NumAckPending >= 60 }, "the bridge never filled its pipeline: %v", lazy(func() string { return fmt.Sprint(e.consumer().NumAckPending) }))

	ctx, cancel := brief()
	defer cancel()
	if err := e.js.DeleteStream(ctx, e.cfg.Bridge.Stream); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: e.cfg.Bridge.Stream, Subjects: []string{e.cfg.Bridge.Subject}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool {
		ctx, cancel := brief()
		defer cancel()
		_, err := e.js.Consumer(ctx, e.cfg.Bridge.Stream, e.cfg.Bridge.Consumer)
		return err == nil
	}, "the bridge never bound to the new stream")
	fresh := anonymousRuns("new", 300)
	e.publishRuns(fresh)
	close(gate)

	testkit.Eventually(t, wait, func() bool {
		held := agents(e.konnect)
		for _, r := range fresh {
			if held[r.Agent] != 1 {
				return false
			}
		}
		return true
	}, "Konnect does not hold every run of the new stream once: %v", lazy(func() string {
		missing := 0
		held := agents(e.konnect)
		for _, r := range fresh {
			if held[r.Agent] != 1 {
				missing++
			}
		}
		ids := map[string]int{}
		for _, ev := range e.konnect.Events() {
			ids[ev.ID[:strings.LastIndex(ev.ID, "-")]]++
		}
		return fmt.Sprintf("%d of %d missing; ids by stream %v; consumer %+v", missing, len(fresh), ids, e.consumer())
	}))
	for name, n := range agents(e.konnect) {
		if n != 1 {
			t.Errorf("run %s held %d times", name, n)
		}
	}
}

// unstarted is a NATS server and a Konnect stand-in with no bridge yet,
// and the stream already created by others when withStream.
func unstarted(t *testing.T, withStream bool) (*testkit.Konnect, config.Config, jetstream.JetStream) {
	t.Helper()
	ns := testkit.NATS(t)
	k := testkit.NewKonnect(t)
	cfg := testkit.Config(ns.ClientURL(), k.URL)
	_, js := testkit.Connect(t, ns.ClientURL())
	if withStream {
		ctx, cancel := brief()
		defer cancel()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Bridge.Stream, Subjects: []string{cfg.Bridge.Subject}}); err != nil {
			t.Fatal(err)
		}
	}
	return k, cfg, js
}

// A stream the bridge creates records its id base in its metadata; the
// same stream restored (new creation time, same metadata and sequences)
// derives the same ids, so what is delivered again is deduplicated. A
// stream created by others without it derives new ids once recreated.
func TestRestoredStreamKeepsItsIDs(t *testing.T) {
	for name, byBridge := range map[string]bool{"created by the bridge": true, "created by others": false} {
		t.Run(name, func(t *testing.T) {
			k, cfg, js := unstarted(t, !byBridge)
			ctx, cancel := brief()
			defer cancel()
			b := testkit.StartBridge(t, cfg)
			anon := anonymousRuns("run", 10)
			for _, r := range anon {
				testkit.Publish(t, js, "agent.runs.acme", r.JSON())
			}
			testkit.Eventually(t, wait, func() bool { return len(k.Events()) == 10 }, "10 runs delivered")
			b.Stop(t)

			s, err := js.Stream(ctx, cfg.Bridge.Stream)
			if err != nil {
				t.Fatal(err)
			}
			sc := s.CachedInfo().Config
			if got := sc.Metadata[consume.IDBaseMetadata] != ""; got != byBridge {
				t.Fatalf("stream metadata %v: id base recorded %v, want %v", sc.Metadata, got, byBridge)
			}
			// The restore: same configuration and messages, a new creation
			// time, and the ack floor of a backup taken before the acks.
			if err := js.DeleteStream(ctx, cfg.Bridge.Stream); err != nil {
				t.Fatal(err)
			}
			if kv, err := js.KeyValue(ctx, cfg.Bridge.StateBucket); err == nil {
				_ = kv.Delete(ctx, cfg.Bridge.Stream+"."+cfg.Bridge.Consumer)
			}
			time.Sleep(2 * time.Millisecond) // a creation time of its own
			if _, err := js.CreateStream(ctx, sc); err != nil {
				t.Fatal(err)
			}
			for _, r := range anon {
				testkit.Publish(t, js, "agent.runs.acme", r.JSON())
			}
			// With the record deleted, the operator says where to start.
			cfg.Bridge.ConsumerStart, cfg.Bridge.ConsumerStartSet = config.StartAll, true
			testkit.StartBridge(t, cfg)
			testkit.Eventually(t, wait, func() bool { return k.AcceptedEvents() == 20 }, "the restored runs were not delivered again")
			want := 20
			if byBridge {
				want = 10
			}
			if got := len(k.Events()); got != want {
				t.Errorf("Konnect holds %d events after the restore, want %d", got, want)
			}
		})
	}
}

// A stream deleted under a running bridge is not created again empty: the
// bridge turns not ready saying so, until the stream is back.
func TestDisappearedStreamTurnsReadinessRed(t *testing.T) {
	e := start(t, nil)
	e.publishRuns(runs("before", 5))
	e.waitHeld(5)
	ctx, cancel := brief()
	defer cancel()
	if err := e.js.DeleteStream(ctx, e.cfg.Bridge.Stream); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool {
		code, r := e.readiness()
		return code == http.StatusServiceUnavailable && strings.Contains(component(r, health.Consumer).Reason, "disappeared")
	}, "/readyz never said the stream disappeared")
	if _, err := e.js.Stream(ctx, e.cfg.Bridge.Stream); err == nil {
		t.Error("the bridge created the deleted stream again, empty")
	}
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: e.cfg.Bridge.Stream, Subjects: []string{e.cfg.Bridge.Subject}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { code, _ := e.readiness(); return code == http.StatusOK }, "the bridge never became ready again")
	e.publishRuns(runs("after", 5))
	e.waitHeld(10)
}
