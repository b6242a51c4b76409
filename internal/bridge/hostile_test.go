package bridge_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// junkArray is a JSON array of n non-events, `[1,1,1,...]`.
func junkArray(n int) []byte {
	b := make([]byte, 0, 2*n+1)
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '1')
	}
	return append(b, ']')
}

// array joins events into one JSON array.
func array(events ...[]byte) []byte {
	return append(append([]byte("["), bytes.Join(events, []byte(","))...), ']')
}

// byKind counts dead letters by their kind.
func byKind(dls []*jetstream.RawStreamMsg) map[string]int {
	out := map[string]int{}
	for _, d := range dls {
		out[d.Header.Get("Konnect-Bridge-Reason-Kind")]++
	}
	return out
}

// A producer floods the subject with messages at the server's max_payload,
// each a JSON array of about 500,000 non-events, between good events. Each
// junk message yields one dead letter, whole; an array of 40 bad events
// one dead letter, whole, with the count; an array of 3 bad and 2 good
// events one dead letter per bad event, without the message's headers;
// every good event is delivered and the bridge keeps running.
func TestJunkArraysCostOneDeadLetterEachAndGoodEventsFlow(t *testing.T) {
	t.Parallel()
	const subject = "agent.runs.x"
	e := start(t, nil)
	maxPayload := int(e.nc.MaxPayload())
	junk := junkArray((maxPayload - 4<<10) / 2)

	var good []testkit.Run
	publishGood := func(name string) {
		r := run(name)
		testkit.Publish(t, e.js, subject, r.JSON())
		good = append(good, r)
	}
	publishGood("before-junk")
	const junkMessages = 3
	for i := range junkMessages {
		m := payload(subject, junk)
		m.Header.Set("X-Producer", "careless")
		e.publishMsg(m)
		publishGood(fmt.Sprintf("after-junk-%d", i))
	}
	bad := structured("", func(ev map[string]any) { delete(ev, "subject") })
	manyBad := make([][]byte, 40)
	for i := range manyBad {
		manyBad[i] = bad
	}
	e.publishMsg(payload(subject, array(manyBad...)))
	mixed := payload(subject, array(bad, run("mixed-1").JSON(), bad, run("mixed-2").JSON(), bad))
	mixed.Header.Set("X-Producer", "careless")
	e.publishMsg(mixed)
	good = append(good, run("mixed-1"), run("mixed-2"))
	publishGood("last")

	e.waitHeld(len(good))
	e.waitSettled()
	if got, want := e.konnect.IDs(), keys(good...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want the good events %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	dls := e.deadLetters()
	want := map[string]int{"too_many_events": junkMessages, "too_many_bad_events": 1, "invalid": 3}
	if got := byKind(dls); !maps.Equal(got, want) {
		t.Fatalf("dead letters by kind %v, want %v", got, want)
	}
	for _, d := range dls {
		h := d.Header
		switch h.Get("Konnect-Bridge-Reason-Kind") {
		case "too_many_events":
			if !bytes.Equal(d.Data, junk) || h.Get("X-Producer") != "careless" {
				t.Errorf("a junk message's dead letter is not the message as published (%d bytes, headers %v)", len(d.Data), h)
			}
			if r := h.Get("Konnect-Bridge-Reason"); !strings.Contains(r, "BRIDGE_MAX_EVENTS_PER_MESSAGE") {
				t.Errorf("reason %q does not name the setting", r)
			}
		case "too_many_bad_events":
			if r := h.Get("Konnect-Bridge-Reason"); !strings.Contains(r, "40 of the message's 40 events") || !strings.Contains(r, "subject") {
				t.Errorf("reason %q does not give the count and the first reasons", r)
			}
		case "invalid":
			if h.Get("X-Producer") != "" || h.Get("Konnect-Bridge-Index") == "" || !bytes.Equal(d.Data, bad) {
				t.Errorf("a per-event dead letter should hold the event alone with its index, without the message's headers: %v %q", h, d.Data)
			}
		}
	}
	if code, _ := e.readiness(); code != 200 {
		t.Errorf("/readyz %d after the flood, want 200", code)
	}
}

// A message packing more events than BRIDGE_MAX_EVENTS_PER_MESSAGE is
// dead-lettered whole and none of its events is delivered; one at the cap
// is delivered in full.
func TestMessageOverTheEventCapIsDeadLetteredWhole(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config) { c.Batch.MaxEventsPerMessage = 5 })
	atCap, over := runs("at-cap", 5), runs("over", 6)
	pack := func(rs []testkit.Run) []byte {
		var evs [][]byte
		for _, r := range rs {
			evs = append(evs, r.JSON())
		}
		return array(evs...)
	}
	overPayload := pack(over)
	e.publishMsg(payload("agent.runs.acme", overPayload))
	e.publishMsg(payload("agent.runs.acme", pack(atCap)))
	e.waitHeld(len(atCap))
	e.waitSettled()
	if got, want := e.konnect.IDs(), keys(atCap...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want only the message at the cap %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	dls := e.deadLetters()
	if len(dls) != 1 || dls[0].Header.Get("Konnect-Bridge-Reason-Kind") != "too_many_events" || !bytes.Equal(dls[0].Data, overPayload) {
		t.Fatalf("want one too_many_events dead letter holding the whole message, got %d: %v", len(dls), byKind(dls))
	}
}

// An operator deletes the dead-letter stream under a running bridge: the
// next dead letter creates it again and is stored there.
func TestDeletedDeadLetterStreamIsCreatedAgain(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx, cancel := brief()
	defer cancel()
	if err := e.js.DeleteStream(ctx, e.cfg.Bridge.DLQStream); err != nil {
		t.Fatal(err)
	}
	e.publishMsg(payload("agent.runs.acme", []byte("not an event")))
	testkit.Eventually(t, wait, func() bool {
		s, err := e.js.Stream(ctx, e.cfg.Bridge.DLQStream)
		return err == nil && s.CachedInfo().State.Msgs == 1
	}, "the dead letter was not stored in a re-created dead-letter stream")
	e.waitSettled()
	if code, r := e.readiness(); code != 200 {
		t.Errorf("/readyz %d, want 200: %+v", code, r)
	}
}

// The dead-letter stream is full: /readyz turns 503 naming dead_letters and
// the reason, the message is handed back (not acked, not lost), good
// events keep flowing, and once room is made the dead letter is stored,
// once, and readiness recovers.
func TestFullDeadLetterStreamHoldsUntilThereIsRoom(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	ctx, cancel := brief()
	defer cancel()
	s, err := e.js.Stream(ctx, e.cfg.Bridge.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	roomy := s.CachedInfo().Config
	full := roomy
	full.MaxBytes = 1 << 10 // smaller than any dead letter with its headers
	if _, err := e.js.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	bad := payload("agent.runs.acme", append([]byte("not an event "), bytes.Repeat([]byte("x"), 2<<10)...))
	seq := e.publishMsg(bad).Sequence
	testkit.Eventually(t, wait, func() bool {
		code, r := e.readiness()
		dl := component(r, health.DeadLetters)
		return code == 503 && !dl.Ready && strings.Contains(dl.Reason, "maximum bytes") &&
			strings.Contains(dl.Reason, "is full") && strings.Contains(dl.Reason, "bridge dlq replay") && strings.Contains(dl.Reason, "BRIDGE_DLQ_MAX_BYTES")
	}, "/readyz does not say that the dead-letter stream is full and what to do")
	testkit.Eventually(t, wait, func() bool { return e.scrape().value(t, "konnect_bridge_dead_letter_store_failures_total") >= 2 },
		"the message was not handed back and tried again")
	if info := e.consumer(); info.AckFloor.Stream >= seq {
		t.Fatalf("the message was acked (ack floor %d) while its dead letter was not stored", info.AckFloor.Stream)
	}
	good := run("while-full")
	testkit.Publish(t, e.js, "agent.runs.acme", good.JSON())
	e.waitHeld(1)

	if _, err := e.js.UpdateStream(ctx, roomy); err != nil {
		t.Fatal(err)
	}
	e.waitSettled()
	if dls := e.deadLetters(); len(dls) != 1 || !bytes.Equal(dls[0].Data, bad.Data) {
		t.Fatalf("%d dead letters once there was room, want the one", len(dls))
	}
	testkit.Eventually(t, wait, func() bool { code, _ := e.readiness(); return code == 200 }, "/readyz did not recover")
}

// A message Konnect keeps failing is handed back again and again, long
// after the dead-letter stream's duplicate window (shortened here), and its
// bad event is still dead-lettered once.
func TestMessageHandedBackRepeatedlyIsDeadLetteredOnce(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config) {
		c.Retry.Budget, c.Retry.NakDelay = 300*time.Millisecond, 1200*time.Millisecond
	}, sandbox.WithFault(sandbox.Answer(503, 0)))
	ctx, cancel := brief()
	defer cancel()
	s, err := e.js.Stream(ctx, e.cfg.Bridge.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	short := s.CachedInfo().Config
	short.Duplicates = time.Second
	if _, err := e.js.UpdateStream(ctx, short); err != nil {
		t.Fatal(err)
	}
	bad := structured("", func(ev map[string]any) { delete(ev, "subject") })
	e.publishMsg(payload("agent.runs.acme", array(run("held").JSON(), bad)))
	testkit.Eventually(t, 2*wait, func() bool { return e.consumer().NumRedelivered > 0 && deliveries(t, e) >= 4 },
		"the message was not handed back several times")
	if dls := e.deadLetters(); len(dls) != 1 {
		t.Fatalf("%d dead letters after %d deliveries of the message, want 1", len(dls), deliveries(t, e))
	}
}

// deliveries is how often the held message was delivered: Konnect sees a
// round of requests per delivery, the rounds NakDelay (over 1 s) apart.
func deliveries(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	var last time.Time
	for _, r := range e.konnect.Requests() {
		if r.Events == 0 {
			continue // the start-up check of the token
		}
		if n == 0 || r.At.Sub(last) > time.Second {
			n++
		}
		last = r.At
	}
	return n
}

// replayOf reads dead letter seq of the dead-letter stream.
func replayOf(t *testing.T, e *env, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := brief()
	defer cancel()
	s, err := e.js.Stream(ctx, e.cfg.Bridge.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		t.Fatalf("dead letter %d: %v", seq, err)
	}
	return m
}

// putBack stores a dead letter again as it was, as when a replay sent it
// but could not remove it.
func putBack(t *testing.T, e *env, m *jetstream.RawStreamMsg) {
	t.Helper()
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Data
	for k, v := range m.Header {
		if k != jetstream.MsgIDHeader {
			msg.Header[k] = v
		}
	}
	e.publishMsg(msg)
}

// A dead-letter stream of an earlier bridge, every dead letter on one
// subject, is taken over: its dead letters are all kept and new ones are
// stored beside them.
func TestEarlierDeadLetterStreamKeepsItsDeadLetters(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	k := testkit.NewKonnect(t)
	cfg := testkit.Config(ns.ClientURL(), k.URL)
	_, js := testkit.Connect(t, ns.ClientURL())
	ctx, cancel := brief()
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: cfg.Bridge.DLQStream, Subjects: []string{cfg.Bridge.DLQSubject}, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute,
		Description: "konnect-bridge dead letters: events Konnect will not accept, with the reason in headers",
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, cfg.Bridge.DLQSubject, fmt.Appendf(nil, "old dead letter %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.StartBridge(t, cfg)
	e := &env{t: t, nats: ns, natsURL: ns.ClientURL(), cfg: cfg, konnect: k, js: js}
	e.publishMsg(payload("agent.runs.acme", []byte("not an event")))
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) == 4 }, "want the 3 old dead letters and the new one")
	if got := string(e.deadLetters()[0].Data); got != "old dead letter 0" {
		t.Errorf("first dead letter %q, want the oldest kept", got)
	}
}
