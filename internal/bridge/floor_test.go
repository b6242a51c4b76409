package bridge_test

import (
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// The durable consumer is deleted while no bridge runs (a cleanup script,
// an operator): the next bridge finds its ack floor in BRIDGE_STATE_BUCKET
// and recreates it after the last acknowledged message, so the stream's
// history, older than Konnect's deduplication window perhaps, is not
// posted again.
func TestConsumerDeletedWhileNoBridgeRunsResumesAfterItsAckFloor(t *testing.T) {
	var posted postedIDs
	e := start(t, nil, sandbox.WithFault(posted.fault))
	e.publishRuns(runs("history", 20))
	e.waitHeld(20)
	e.waitSettled()
	e.bridge.Stop(t)

	e.loseConsumerAndRestart(&posted, 20)
}

// A brand-new consumer (no ack floor on record) starts where
// BRIDGE_CONSUMER_START says: the whole stream, only what arrives from
// now on, or what was stored from a time on.
func TestNewConsumerStartsWhereTheSettingSays(t *testing.T) {
	for name, tc := range map[string]struct {
		start string // "" for the time between the two lots
		want  int
	}{
		"all by default": {config.StartAll, 15},
		"new":            {config.StartNew, 5},
		"from a time":    {"", 10},
	} {
		t.Run(name, func(t *testing.T) {
			k, cfg, js := unstarted(t, true)
			for _, r := range runs("older", 5) {
				testkit.Publish(t, js, "agent.runs.acme", r.JSON())
			}
			time.Sleep(1100 * time.Millisecond) // RFC 3339 times have whole seconds
			between := time.Now().UTC().Truncate(time.Second)
			for _, r := range runs("before-start", 5) {
				testkit.Publish(t, js, "agent.runs.acme", r.JSON())
			}
			cfg.Bridge.ConsumerStart = tc.start
			if tc.start == "" {
				cfg.Bridge.ConsumerStart = between.Format(time.RFC3339)
			}
			testkit.StartBridge(t, cfg)
			for _, r := range runs("after-start", 5) {
				testkit.Publish(t, js, "agent.runs.acme", r.JSON())
			}
			testkit.Eventually(t, wait, func() bool {
				ctx, cancel := brief()
				defer cancel()
				c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
				if err != nil {
					return false
				}
				info, err := c.Info(ctx)
				return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream == 15
			}, "the consumer never read the stream to its end")
			if got := len(k.Events()); got != tc.want {
				t.Errorf("Konnect holds %d events, want %d", got, tc.want)
			}
		})
	}
}

// BRIDGE_STATE_BUCKET deleted under a running bridge: the next save
// creates it again with the floor kept in memory, so that a consumer lost
// later, while no bridge runs, is recreated after what was billed rather
// than from the start of the stream.
func TestStateBucketDeletedWhileRunningIsCreatedAgain(t *testing.T) {
	var posted postedIDs
	e := start(t, nil, sandbox.WithFault(posted.fault))
	e.publishRuns(runs("history", 20))
	e.waitHeld(20)
	e.waitSettled()
	ctx, cancel := brief()
	defer cancel()
	first, err := e.js.KeyValue(ctx, e.cfg.Bridge.StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := first.Get(ctx, deadletter.SealKeyName)
	if err != nil {
		t.Fatalf("no dead-letter key in BRIDGE_STATE_BUCKET: %v", err)
	}
	if err := e.js.DeleteKeyValue(ctx, e.cfg.Bridge.StateBucket); err != nil {
		t.Fatal(err)
	}
	e.publishRuns(runs("later", 5))
	e.waitHeld(25)
	e.waitSettled()
	e.bridge.Stop(t)

	kv, err := e.js.KeyValue(ctx, e.cfg.Bridge.StateBucket)
	if err != nil {
		t.Fatalf("BRIDGE_STATE_BUCKET was not created again: %v", err)
	}
	if _, err := kv.Get(ctx, e.cfg.Bridge.Stream+"."+e.cfg.Bridge.Consumer); err != nil {
		t.Fatalf("no ack floor in the bucket created again: %v", err)
	}
	// The dead-letter key too: the dead letters sealed so far still read
	// as the bridge's to `bridge dlq` and to the next bridge.
	if again, err := kv.Get(ctx, deadletter.SealKeyName); err != nil || string(again.Value()) != string(seal.Value()) {
		t.Fatalf("the dead-letter key in the bucket created again: %v (same: %v)", err, err == nil && string(again.Value()) == string(seal.Value()))
	}
	e.loseConsumerAndRestart(&posted, 25)
}

// loseConsumerAndRestart deletes the durable consumer while no bridge runs
// (the bridge is stopped), starts a bridge again and publishes 5 more runs:
// every run is posted once, and the consumer is recreated just after the
// first acked messages, which were acknowledged.
func (e *env) loseConsumerAndRestart(posted *postedIDs, acked int) {
	t := e.t
	t.Helper()
	ctx, cancel := brief()
	defer cancel()
	if err := e.js.DeleteConsumer(ctx, e.cfg.Bridge.Stream, e.cfg.Bridge.Consumer); err != nil {
		t.Fatal(err)
	}
	testkit.StartBridge(t, e.cfg)
	e.publishRuns(runs("after", 5))
	e.waitHeld(acked + 5)
	e.waitSettled()
	for id, n := range posted.snapshot() {
		if n != 1 {
			t.Errorf("run %s was posted %d times, want once", id, n)
		}
	}
	if got := e.consumer().Config.OptStartSeq; got != uint64(acked+1) {
		t.Errorf("the recreated consumer starts at %d, want %d, after the %d acknowledged", got, acked+1, acked)
	}
}
