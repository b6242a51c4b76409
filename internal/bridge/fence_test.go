package bridge_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// refusal is the dead letter a refused event gives: the subject it came
// on, what the reason says, and its place in an array.
type refusal struct{ subject, reason, index string }

// tenant is a run billing customer, published by acme's producer.
func tenant(id, customer string) testkit.Run {
	r := run(id)
	r.Subject = customer
	return r
}

// "Producers bill only their own customers": with the fence on, acme's
// producer publishing on its own subjects bills acme-inc only. Events that
// name another customer, on JetStream or core NATS, structured, binary or
// in an array, are dead-lettered as fenced with a reason naming both
// values, and never reach Konnect; the allowed ones around them are
// delivered. Replayed, the refused events are checked again on arrival and
// refused again.
func TestFenceHoldsEachEventToItsSubject(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config) {
		c.Bridge.CoreSubject = "core.agent.runs.>"
		c.Fence = config.Fence{
			Subjects:    "agent.runs.{customer}, core.agent.runs.{customer}",
			Customers:   "acme=acme-inc,globex=globex-corp",
			FillSubject: true,
		}
	})
	const acme = "agent.runs.acme"
	array := func(runs ...testkit.Run) []byte {
		parts := make([]string, len(runs))
		for i, r := range runs {
			parts[i] = string(r.JSON())
		}
		return []byte("[" + strings.Join(parts, ",") + "]")
	}
	// refused are the dead letters each refused event must give: its
	// subject, what the reason says, and its place in an array.
	refused := map[string]refusal{
		"globex-on-acme":        {acme, `subject "globex-corp" is not allowed on agent.runs.acme, which bills only "acme-inc"`, ""},
		"binary-globex-on-acme": {acme, `subject "globex-corp" is not allowed on agent.runs.acme`, ""},
		"array-globex-on-acme":  {acme, `subject "globex-corp" is not allowed on agent.runs.acme`, "1"},
		"initech-unmapped":      {"agent.runs.initech", `maps "initech" to no customer`, ""},
		"deeper-subject":        {"agent.runs.acme.eu", "agent.runs.acme.eu fits no template of BRIDGE_FENCE_SUBJECTS", ""},
		"core-globex-on-acme":   {"core." + acme, `subject "globex-corp" is not allowed on core.agent.runs.acme`, ""},
	}
	allowed := []testkit.Run{tenant("acme-own", "acme-inc"), tenant("binary-acme-own", "acme-inc"),
		tenant("array-acme-0", "acme-inc"), tenant("array-acme-2", "acme-inc"), tenant("globex-own", "globex-corp")}

	testkit.Publish(t, e.js, acme, allowed[0].JSON())
	testkit.Publish(t, e.js, acme, tenant("globex-on-acme", "globex-corp").JSON())
	e.publishMsg(binaryMsg(acme, allowed[1]))
	e.publishMsg(binaryMsg(acme, tenant("binary-globex-on-acme", "globex-corp")))
	testkit.Publish(t, e.js, acme, array(allowed[2], tenant("array-globex-on-acme", "globex-corp"), allowed[3]))
	testkit.Publish(t, e.js, "agent.runs.globex", allowed[4].JSON())
	testkit.Publish(t, e.js, "agent.runs.initech", tenant("initech-unmapped", "initech").JSON())
	testkit.Publish(t, e.js, "agent.runs.acme.eu", tenant("deeper-subject", "acme-inc").JSON())
	// No subject: the event bills the customer its NATS subject allows.
	testkit.Publish(t, e.js, "agent.runs.globex", structured("filled-globex", func(ev map[string]any) { delete(ev, "subject") }))
	allowed = append(allowed, tenant("filled-globex", "globex-corp"))

	testkit.Eventually(t, wait, func() bool { return e.nats.GlobalAccount().SubscriptionInterest("core." + acme) },
		"the bridge did not subscribe to core NATS")
	answer := func(r testkit.Run) (status, reason string) {
		reply, err := e.nc.Request("core."+acme, r.JSON(), wait)
		if err != nil {
			t.Fatalf("core NATS request: %v", err)
		}
		var a struct{ Status, Reason string }
		_ = json.Unmarshal(reply.Data, &a)
		return a.Status, a.Reason
	}
	if status, reason := answer(tenant("core-globex-on-acme", "globex-corp")); status != "dead_lettered" || !strings.Contains(reason, refused["core-globex-on-acme"].reason) {
		t.Errorf("core NATS producer billing globex-corp on core.agent.runs.acme was answered %s %q, want dead_lettered with the reason", status, reason)
	}
	if status, reason := answer(tenant("core-acme-own", "acme-inc")); status != "accepted" {
		t.Errorf("core NATS producer billing its own customer was answered %s %q, want accepted", status, reason)
	}
	allowed = append(allowed, tenant("core-acme-own", "acme-inc"))

	e.waitHeld(len(allowed))
	e.waitSettled()
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) >= len(refused) }, "fewer than %d dead letters", len(refused))
	if got, want := e.konnect.IDs(), keys(allowed...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want exactly the allowed events %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for _, ev := range e.konnect.Events() {
		if want := map[string]string{"filled-globex": "globex-corp"}[ev.ID]; want != "" && ev.Subject != want {
			t.Errorf("event %s without subject billed %q, want %q, the customer of agent.runs.globex", ev.ID, ev.Subject, want)
		}
	}
	firstRound := checkFenced(t, e, refused, 0, false)
	if got := e.scrape().value(t, `konnect_bridge_events_dead_lettered_total{reason="fenced"}`); got != float64(len(refused)) {
		t.Errorf(`konnect_bridge_events_dead_lettered_total{reason="fenced"} = %v, want %d`, got, len(refused))
	}
	x, byReason := e.scrape(), 0.0
	for _, reason := range []string{"customer", "source", "unmapped", "no_template"} {
		byReason += x.value(t, `konnect_bridge_fence_refusals_total{reason="`+reason+`"}`)
	}
	if byReason != float64(len(refused)) || x.value(t, `konnect_bridge_fence_refusals_total{reason="customer"}`) == 0 {
		t.Errorf("konnect_bridge_fence_refusals_total adds up to %v, want %d with some for another customer", byReason, len(refused))
	}

	// Replayed, each goes back the way it came and is checked again on
	// arrival: the stream's dead letters are republished and refused anew;
	// the core one is sent as a request, refused again, and kept.
	dlq := deadletter.NewDeadLetters(e.js, e.cfg, zerolog.Nop(), metrics.New(), nil)
	ctx, cancel := brief()
	var said []string
	// Without the fence in the options, as an older dlq tool did: the
	// bridge still checks each replayed event on arrival.
	n, err := dlq.Replay(ctx, deadletter.Filter{}, deadletter.ReplayOptions{Stream: e.cfg.Bridge.Stream, Timeout: 5 * time.Second}, func(_ deadletter.Stored, what string) { said = append(said, what) })
	replayed := n.Stored
	cancel()
	if !errors.Is(err, deadletter.ErrNotReplayed) || !strings.Contains(strings.Join(said, "\n"), "dead-lettered again: fenced") {
		t.Fatalf("replay: %v; want the core dead letter kept as fenced again (%q)", err, said)
	}
	if replayed != len(refused)-1 {
		t.Fatalf("replayed %d dead letters, want the %d from the stream", replayed, len(refused)-1)
	}
	testkit.Eventually(t, wait, func() bool {
		n := 0
		for _, dl := range e.deadLetters() {
			if dl.Sequence > firstRound {
				n++
			}
		}
		return n == replayed
	}, "the replayed events were not all dead-lettered again")
	delete(refused, "core-globex-on-acme")
	e.waitSettled()
	checkFenced(t, e, refused, firstRound, true)
	if got, want := e.konnect.IDs(), keys(allowed...); !maps.Equal(got, want) {
		t.Errorf("after the replay Konnect holds %v, want still only the allowed events", slices.Sorted(maps.Keys(got)))
	}
}

// checkFenced checks that the dead letters after sequence after are
// exactly the refused events, each once, as fenced with its reason, and
// returns the last sequence. replayed: each is a replay, so the
// Konnect-Bridge-Index of an event from an array is gone with its array.
func checkFenced(t *testing.T, e *env, refused map[string]refusal, after uint64, replayed bool) uint64 {
	t.Helper()
	seen := map[string]bool{}
	var last uint64
	for _, dl := range e.deadLetters() {
		last = max(last, dl.Sequence)
		if dl.Sequence <= after {
			continue
		}
		var ev struct{ ID string }
		_ = json.Unmarshal(dl.Data, &ev)
		if ev.ID == "" {
			ev.ID = dl.Header.Get("ce-id")
		}
		want, ok := refused[ev.ID]
		if replayed {
			want.index = ""
		}
		h := dl.Header
		switch {
		case !ok:
			t.Errorf("event %q was dead-lettered (%s): it is allowed", ev.ID, h.Get("Konnect-Bridge-Reason"))
		case seen[ev.ID]:
			t.Errorf("event %q was dead-lettered twice", ev.ID)
		case h.Get("Konnect-Bridge-Reason-Kind") != "fenced" || !strings.Contains(h.Get("Konnect-Bridge-Reason"), want.reason):
			t.Errorf("event %q dead-lettered as %s %q, want fenced saying %q", ev.ID, h.Get("Konnect-Bridge-Reason-Kind"), h.Get("Konnect-Bridge-Reason"), want.reason)
		case h.Get("Konnect-Bridge-Subject") != want.subject || h.Get("Konnect-Bridge-Index") != want.index:
			t.Errorf("event %q dead-lettered from %q index %q, want %q index %q", ev.ID, h.Get("Konnect-Bridge-Subject"), h.Get("Konnect-Bridge-Index"), want.subject, want.index)
		}
		seen[ev.ID] = true
	}
	for id := range refused {
		if !seen[id] {
			t.Errorf("event %q was not dead-lettered", id)
		}
	}
	return last
}
