package deadletter_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// A core NATS dead letter replayed onto a subject that the bridge's stream
// captures is answered by JetStream's PubAck, not by a bridge: the event is
// stored, so the replay counts it, removes the dead letter, and a second
// replay sends nothing more.
func TestReplayTakesAStreamsPubAckAsStored(t *testing.T) {
	js, cfg, _ := testkit.Stream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dlq := deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New(), nil)
	if err := dlq.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(cfg.Bridge.DLQSubject + ".core.base1.all")
	m.Header.Set(deadletter.HeaderSubject, "agent.runs.acme")
	m.Header.Set(deadletter.HeaderKind, "rejected")
	m.Header.Set(deadletter.HeaderReason, "Konnect answered 400")
	m.Data = testkit.Guide()[0].JSON()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	var said []string
	report := func(_ deadletter.Stored, what string) { said = append(said, what) }
	// Written here, not by a bridge: unsealed, so replayed only when asked.
	o := deadletter.ReplayOptions{Stream: cfg.Bridge.Stream, Timeout: 2 * time.Second, Unverified: true}
	n, err := dlq.Replay(ctx, deadletter.Filter{}, o, report)
	if err != nil || n != (deadletter.ReplayCounts{Stored: 1}) {
		t.Fatalf("replay: %v, %v (%q); want 1 stored and no error", n, err, said)
	}
	n, err = dlq.Replay(ctx, deadletter.Filter{}, o, report)
	if err != nil || n != (deadletter.ReplayCounts{}) {
		t.Fatalf("second replay: %v, %v (%q); want nothing", n, err, said)
	}
	s, err := js.Stream(ctx, cfg.Bridge.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != 1 {
		t.Errorf("the bridge's stream holds %d replayed message(s), want exactly 1", got)
	}
}
