package bridge_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// "Events without ids keeping their derived id across a redelivery": Konnect
// fails the first attempts until JetStream has redelivered every message;
// what Konnect finally holds carries exactly the ids the bridge derived the
// first time, one per event, so a resend after a partial write is never
// billed twice. A Nats-Msg-Id header is the id of an event without one.
func TestDerivedIDsSurviveRedelivery(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		refused = map[string]bool{} // source/id of every event in a refused request
		failing atomic.Bool
	)
	failing.Store(true)
	fault := func(w http.ResponseWriter, r *http.Request) bool {
		if !failing.Load() {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		var events []struct{ ID, Source string }
		if err := json.Unmarshal(body, &events); err != nil {
			t.Errorf("the bridge sent a body that is not a JSON array: %v", err)
		}
		mu.Lock()
		for _, ev := range events {
			refused[ev.Source+"/"+ev.ID] = true
		}
		mu.Unlock()
		return sandbox.Answer(http.StatusServiceUnavailable, 0)(w, r)
	}
	e := start(t, func(c *config.Config) {
		c.Retry.Budget = 300 * time.Millisecond
		c.Retry.NakDelay = 100 * time.Millisecond
	}, sandbox.WithFault(fault))

	anonymous := runs("anonymous", 4)
	for i := range anonymous {
		anonymous[i].ID = ""
		testkit.Publish(t, e.js, "agent.runs.acme", anonymous[i].JSON())
	}
	testkit.Publish(t, e.js, "agent.runs.acme", []byte("["+string(anonymous[0].JSON())+","+string(anonymous[1].JSON())+"]"))
	withMsgID := nats.NewMsg("agent.runs.acme")
	withMsgID.Header.Set(jetstream.MsgIDHeader, "run-42")
	withMsgID.Data = anonymous[0].JSON()
	e.publishMsg(withMsgID)
	const messages, events = 6, 7

	testkit.Eventually(t, wait, func() bool { return e.consumer().NumRedelivered >= messages },
		"JetStream did not redeliver all %d messages while Konnect failed", messages)
	failing.Store(false)
	e.waitHeld(events)
	e.waitSettled()

	held := e.konnect.IDs()
	mu.Lock()
	defer mu.Unlock()
	if !maps.Equal(held, refused) {
		t.Errorf("Konnect holds %v, want the ids derived at the first attempt %v",
			slices.Sorted(maps.Keys(held)), slices.Sorted(maps.Keys(refused)))
	}
	if len(held) != events {
		t.Errorf("Konnect holds %d distinct events, want the %d published", len(held), events)
	}
	if !held["acme-platform/run-42"] {
		t.Errorf("Konnect holds %v, want the Nats-Msg-Id run-42 as an id", slices.Sorted(maps.Keys(held)))
	}
}

// Time defaulting: an event without a time is billed at the time the
// stream stored it, not when Konnect finally accepted it; an event with a
// time keeps the producer's.
func TestTimeDefaultsToWhenTheStreamStoredTheEvent(t *testing.T) {
	t.Parallel()
	// Konnect fails until 1.5s after the events were stored, so "now" at
	// delivery is well after storage.
	var recoversAt atomic.Pointer[time.Time]
	slowToRecover := func(w http.ResponseWriter, r *http.Request) bool {
		if at := recoversAt.Load(); at == nil || time.Now().Before(*at) {
			return sandbox.Answer(http.StatusServiceUnavailable, 0)(w, r)
		}
		return false
	}
	e := start(t, nil, sandbox.WithFault(slowToRecover))

	untimed, timed := run("untimed"), run("timed")
	untimed.Time = time.Time{}
	ack := testkit.Publish(t, e.js, "agent.runs.acme", untimed.JSON())
	testkit.Publish(t, e.js, "agent.runs.acme", timed.JSON())
	at := time.Now().Add(1500 * time.Millisecond)
	recoversAt.Store(&at)
	e.waitHeld(2)

	ctx, cancel := brief()
	defer cancel()
	s, err := e.js.Stream(ctx, e.cfg.Bridge.Stream)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	var acceptedAt time.Time
	for _, r := range e.konnect.Requests() {
		if r.Status == http.StatusAccepted {
			acceptedAt = r.At
		}
	}
	for _, ev := range e.konnect.Events() {
		switch ev.ID {
		case "timed":
			if want := timed.Time.Format(time.RFC3339); ev.Time != want {
				t.Errorf("the timed event has time %q, want the producer's %q", ev.Time, want)
			}
		case "untimed":
			at, err := time.Parse(time.RFC3339Nano, ev.Time)
			if err != nil {
				t.Fatalf("the untimed event reached Konnect with time %q: %v", ev.Time, err)
			}
			if d := at.Sub(stored.Time).Abs(); d > time.Second {
				t.Errorf("the untimed event has time %s, %s from when the stream stored it (%s)", at, d, stored.Time)
			}
			if acceptedAt.Sub(at) < time.Second {
				t.Errorf("the untimed event has time %s, less than 1s before Konnect accepted it at %s: the test proves nothing", at, acceptedAt)
			}
		default:
			t.Errorf("Konnect holds an unexpected event %q", ev.ID)
		}
	}
}
