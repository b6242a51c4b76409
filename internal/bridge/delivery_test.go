package bridge_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// The guide's walk-through, however the producer publishes: Konnect ends
// with three agent runs of acme-inc, two by summarizer and one by
// translator, with the guide's ids, and every message is acked.
func TestGuideWalkThroughReachesKonnect(t *testing.T) {
	t.Parallel()
	producers := map[string]func(t *testing.T, e *env, guide []testkit.Run){
		"structured mode": func(t *testing.T, e *env, guide []testkit.Run) {
			for _, r := range guide {
				testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
			}
		},
		"binary mode": func(t *testing.T, e *env, guide []testkit.Run) {
			for _, r := range guide {
				e.publishMsg(binaryMsg("agent.runs.acme", r))
			}
		},
		"one message holding an array of the events": func(t *testing.T, e *env, guide []testkit.Run) {
			var parts [][]byte
			for _, r := range guide {
				parts = append(parts, r.JSON())
			}
			testkit.Publish(t, e.js, "agent.runs.acme", append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']'))
		},
		// The binding's protocol.Sender publishes on core NATS; the stream
		// captures the subject and stores the events all the same.
		"CloudEvents SDK NATS binding over core NATS": func(t *testing.T, e *env, guide []testkit.Run) {
			sender, err := cenats.NewSender(e.natsURL, "agent.runs.acme", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sender.Close(context.Background()) })
			for _, r := range guide {
				ev := ce.New()
				ev.SetID(r.ID)
				ev.SetType("agent_run")
				ev.SetSource(r.Source)
				ev.SetSubject(r.Subject)
				ev.SetTime(r.Time)
				if err := ev.SetData(ce.ApplicationJSON, map[string]string{"agent_name": r.Agent}); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := brief()
				err := sender.Send(ctx, binding.ToMessage(&ev))
				cancel()
				if err != nil {
					t.Fatalf("send %s: %v", r.ID, err)
				}
			}
		},
	}
	for name, produce := range producers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := start(t, nil)
			guide := testkit.Guide()
			produce(t, e, guide)

			e.waitHeld(len(guide))
			e.waitSettled()
			u := e.konnect.Usage()
			if u.Events != 3 || u.ByType["agent_run"] != 3 || u.BySubject["acme-inc"] != 3 {
				t.Errorf("Konnect's usage = %+v, want 3 agent runs of acme-inc", u)
			}
			if want := map[string]int{"summarizer": 2, "translator": 1}; !maps.Equal(u.ByAgentName, want) {
				t.Errorf("runs by agent = %v, want %v", u.ByAgentName, want)
			}
			if got, want := e.konnect.IDs(), keys(guide...); !maps.Equal(got, want) {
				t.Errorf("Konnect holds %v, want the guide's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			for _, ev := range e.konnect.Events() {
				if ev.Time != "2026-11-27T08:00:00Z" {
					t.Errorf("event %s has time %q, want the producer's 2026-11-27T08:00:00Z", ev.ID, ev.Time)
				}
			}
			if dl := e.deadLetters(); len(dl) != 0 {
				t.Errorf("%d dead letters, want none: first is %q", len(dl), dl[0].Header.Get("Konnect-Bridge-Reason"))
			}
		})
	}
}

// "A duplicate id not counted twice": Konnect deduplicates on (source, id),
// and the bridge sends both copies without dropping either.
func TestDuplicateIDNotCountedTwice(t *testing.T) {
	t.Parallel()
	first := run("dup-001")
	otherSource := first
	otherSource.Source = "acme-billing"
	cases := map[string]struct {
		runs []testkit.Run
		want map[string]bool
	}{
		"same source and id published twice": {runs: []testkit.Run{first, first}, want: keys(first)},
		"same id from another source":        {runs: []testkit.Run{first, otherSource}, want: keys(first, otherSource)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := start(t, nil)
			for _, r := range c.runs {
				testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
			}
			// The consumer's pending count follows the stream a moment
			// late on a loaded machine: wait for the requests first.
			testkit.Eventually(t, wait, func() bool { return e.konnect.AcceptedEvents() >= len(c.runs) },
				"Konnect accepted %v events in its requests, want both copies (%d) sent", lazy(func() string { return strconv.Itoa(e.konnect.AcceptedEvents()) }), len(c.runs))
			e.waitSettled()
			if got := e.konnect.AcceptedEvents(); got != len(c.runs) {
				t.Errorf("Konnect accepted %d events in its requests, want both copies (%d) sent", got, len(c.runs))
			}
			if got := e.konnect.IDs(); !maps.Equal(got, c.want) {
				t.Errorf("Konnect holds %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(c.want)))
			}
			if u := e.konnect.Usage(); u.Events != len(c.want) {
				t.Errorf("usage counts %d runs, want %d", u.Events, len(c.want))
			}
		})
	}
}
