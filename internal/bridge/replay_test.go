package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// seen records every event Konnect was sent, accepted or not, and refuses
// the ghost agent's runs while broken is set (a meter that did not know
// the agent yet).
type seen struct {
	broken atomic.Bool
	mu     sync.Mutex
	events []sandbox.Event
}

func (s *seen) reject(ev sandbox.Event) string {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	if s.broken.Load() && bytes.Contains(ev.Data, []byte("ghost")) {
		return "meter agent_runs knows no agent_name ghost"
	}
	return ""
}

// sent lists the times each id was sent with, in order.
func (s *seen) sent(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ev := range s.events {
		if ev.ID == id {
			out = append(out, ev.Time)
		}
	}
	return out
}

// Konnect refuses the ghost agent's runs (one from the stream, one from a
// core NATS request, neither with an id or a time) and they are
// dead-lettered. With no bridge running, replay sends the stream's dead
// letter back to the stream and removes it, and keeps the core one (no
// bridge answers), exiting with ErrNotReplayed. A bridge started again
// delivers the first with the id and time it had; a second replay
// delivers the core one. Replayed again after a removal that failed, the
// event is sent with the same id and time, and billed once.
func TestReplayNeverLosesAndNeverBillsTwice(t *testing.T) {
	t.Parallel()
	k := &seen{}
	k.broken.Store(true)
	e := start(t, func(c *config.Config) { c.Bridge.CoreSubject = "core.agent.runs.>" }, sandbox.WithReject(k.reject))
	ghost := testkit.Run{Source: "acme-platform", Subject: "acme-inc", Agent: "ghost"}
	testkit.Publish(t, e.js, "agent.runs.acme", ghost.JSON())
	resp, err := e.nc.Request("core.agent.runs.acme", ghost.JSON(), wait)
	if err != nil || !strings.Contains(string(resp.Data), "dead_lettered") {
		t.Fatalf("the core request was answered %v, %v; want dead_lettered", resp, err)
	}
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) == 2 }, "the two refused runs were not dead-lettered")
	letters := e.deadLetters()
	fromStream, fromCore := letters[0], letters[1]
	if fromStream.Header.Get("Konnect-Bridge-Stream") == "" {
		fromStream, fromCore = fromCore, fromStream
	}
	streamID := fromStream.Header.Get("Konnect-Bridge-Id-Base")
	coreID := fromCore.Header.Get("Konnect-Bridge-Id-Base")
	storedAt := fromStream.Header.Get("Konnect-Bridge-Stored-At")
	if streamID == "" || coreID == "" || storedAt == "" {
		t.Fatalf("the dead letters do not record the ids and time the events had: %v / %v", fromStream.Header, fromCore.Header)
	}
	e.bridge.Stop(t)
	k.broken.Store(false) // the meter is fixed

	dlq := deadletter.NewDeadLetters(e.js, e.cfg, zerolog.Nop(), metrics.New(), nil)
	replay := func() (deadletter.ReplayCounts, error, []string) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var said []string
		n, err := dlq.Replay(ctx, deadletter.Filter{}, deadletter.ReplayOptions{Stream: e.cfg.Bridge.Stream, Timeout: 5 * time.Second}, func(_ deadletter.Stored, what string) { said = append(said, what) })
		return n, err, said
	}
	n, err, said := replay()
	if n != (deadletter.ReplayCounts{Stored: 1, Kept: 1}) || !errors.Is(err, deadletter.ErrNotReplayed) {
		t.Fatalf("replay with no bridge running: %v, %v; want the stream's stored again and the core one kept (%q)", n, err, said)
	}
	if left := e.deadLetters(); len(left) != 1 || left[0].Header.Get("Konnect-Bridge-Stream") != "" {
		t.Fatalf("want the core dead letter kept and the stream's removed, %d left", len(left))
	}
	if !strings.Contains(strings.Join(said, "\n"), "no bridge reads core NATS") {
		t.Errorf("replay does not say why it kept the core dead letter: %q", said)
	}

	e.bridge = testkit.StartBridge(t, e.cfg)
	e.waitHeld(1)
	if got := e.konnect.IDs(); !got["acme-platform/"+streamID] {
		t.Fatalf("Konnect holds %v, want the replayed run under its first id %s", got, streamID)
	}
	times := k.sent(streamID)
	if !sameTime(times[len(times)-1], storedAt) {
		t.Errorf("the replayed run was sent with time %s, want %s, when the stream first stored it", times[len(times)-1], storedAt)
	}
	if n, err, said := replay(); n != (deadletter.ReplayCounts{Replayed: 1}) || err != nil {
		t.Fatalf("replay with a bridge reading core NATS: %v, %v (%q); want the core one accepted", n, err, said)
	}
	if got := e.konnect.IDs(); !got["acme-platform/"+coreID] || len(got) != 2 {
		t.Fatalf("Konnect holds %v, want both runs, the core one under %s", got, coreID)
	}
	if left := e.deadLetters(); len(left) != 0 {
		t.Fatalf("%d dead letters left after both were replayed", len(left))
	}

	putBack(t, e, fromStream)
	before := e.konnect.AcceptedEvents()
	if n, err, _ := replay(); n != (deadletter.ReplayCounts{Stored: 1}) || err != nil {
		t.Fatalf("replaying again: %v, %v", n, err)
	}
	testkit.Eventually(t, wait, func() bool { return e.konnect.AcceptedEvents() > before }, "the second replay was not sent")
	e.waitSettled()
	if got := e.konnect.IDs(); len(got) != 2 {
		t.Errorf("Konnect holds %d events after a second replay, want still 2: billed twice", len(got))
	}
	times = k.sent(streamID)
	if a, b := times[len(times)-2], times[len(times)-1]; a != b {
		t.Errorf("replayed twice with times %s and %s, want the same", a, b)
	}
}

func sameTime(a, b string) bool {
	x, err1 := time.Parse(time.RFC3339Nano, a)
	y, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

// A core NATS request holds one good event and eleven bad ones: the good
// one is delivered and the message is dead-lettered whole. Replayed while
// the bad ones are still bad, the bridge answers that some events were
// dead-lettered again, and replay keeps the dead letter.
func TestReplayKeepsACoreDeadLetterWhoseEventsAreStillBad(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config) { c.Bridge.CoreSubject = "core.agent.runs.>" })
	bad := structured("", func(ev map[string]any) { delete(ev, "subject") })
	events := [][]byte{run("core-good").JSON()}
	for range 11 {
		events = append(events, bad)
	}
	resp, err := e.nc.Request("core.agent.runs.acme", array(events...), wait)
	if err != nil || !strings.Contains(string(resp.Data), `"dead_lettered":11`) {
		t.Fatalf("the request was answered %q, %v; want accepted with 11 dead-lettered", resp.Data, err)
	}
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) == 1 }, "the message was not dead-lettered whole")
	dlq := deadletter.NewDeadLetters(e.js, e.cfg, zerolog.Nop(), metrics.New(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var said []string
	n, err := dlq.Replay(ctx, deadletter.Filter{}, deadletter.ReplayOptions{Stream: e.cfg.Bridge.Stream, Timeout: 5 * time.Second}, func(_ deadletter.Stored, what string) { said = append(said, what) })
	if n != (deadletter.ReplayCounts{Kept: 1}) || !errors.Is(err, deadletter.ErrNotReplayed) || !strings.Contains(strings.Join(said, "\n"), "dead-lettered again") {
		t.Fatalf("replay: %v, %v (%q); want the dead letter kept, its events still bad", n, err, said)
	}
	if len(e.deadLetters()) != 1 {
		t.Fatal("the dead letter of events still bad was removed")
	}
}
