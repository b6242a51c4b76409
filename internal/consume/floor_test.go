package consume_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// A floor record is input, not fact: one outside the stream's range or one
// that does not parse makes the bridge refuse to create the consumer and
// say what it found, never skip messages or start again from the start.
// Once the record is fixed the next bind creates the consumer after it.
func TestAckFloorIsCheckedBeforeItIsTrusted(t *testing.T) {
	for name, tc := range map[string]struct {
		record string // %s is the stream's identity
		says   []string
	}{
		"ahead of the stream": {`{"stream_id":"%s","ack_floor":1000}`, []string{"1000", "1 to 5", "BRIDGE_CONSUMER_START"}},
		"does not parse":      {`not json at all`, []string{"does not parse", "BRIDGE_CONSUMER_START"}},
	} {
		t.Run(name, func(t *testing.T) {
			js, cfg, s := withStream(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for range 5 {
				testkit.Publish(t, js, "agent.runs.acme", testkit.Guide()[0].JSON())
			}
			kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: cfg.Bridge.StateBucket, History: 1})
			if err != nil {
				t.Fatal(err)
			}
			key := cfg.Bridge.Stream + "." + cfg.Bridge.Consumer
			id := consume.StreamIdentity(s.CachedInfo())
			if _, err := kv.Put(ctx, key, []byte(strings.ReplaceAll(tc.record, "%s", id))); err != nil {
				t.Fatal(err)
			}

			h := health.New(nil)
			source := consume.NewJetStream(js, cfg, zerolog.Nop(), metrics.New(), h, nil, nil)
			bctx, bcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer bcancel()
			if err := source.Bind(bctx); err == nil {
				t.Fatal("the bridge bound to a consumer after a floor record it cannot trust")
			}
			reason := consumerReason(h.Report())
			for _, want := range tc.says {
				if !strings.Contains(reason, want) {
					t.Errorf("readiness says %q, which does not name %q", reason, want)
				}
			}
			if h.Ready() {
				t.Error("the bridge is ready although it refused the floor")
			}
			if info, _ := js.Stream(ctx, cfg.Bridge.Stream); info.CachedInfo().State.Consumers != 0 {
				t.Errorf("%d consumer(s) created past a floor that was refused", info.CachedInfo().State.Consumers)
			}

			// The operator fixes the record: the next bind takes it.
			if _, err := kv.Put(ctx, key, []byte(`{"stream_id":"`+id+`","ack_floor":3}`)); err != nil {
				t.Fatal(err)
			}
			if err := source.Bind(ctx); err != nil {
				t.Fatalf("bind after the record was fixed: %v", err)
			}
			c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.CachedInfo().Config.OptStartSeq; got != 4 {
				t.Errorf("the consumer starts at %d, want 4, after the fixed floor of 3", got)
			}
		})
	}
}

func consumerReason(r health.Report) string {
	for _, c := range r.Components {
		if c.Component == health.Consumer {
			return c.Reason
		}
	}
	return ""
}

// withStream is an embedded NATS server holding the bridge's stream, empty,
// and a configuration pointing at it with the default names.
func withStream(t *testing.T) (jetstream.JetStream, config.Config, jetstream.Stream) {
	t.Helper()
	ns := testkit.NATS(t)
	_, js := testkit.Connect(t, ns.ClientURL())
	cfg := config.Defaults()
	cfg.NATS.URL = ns.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Bridge.Stream, Subjects: []string{cfg.Bridge.Subject}})
	if err != nil {
		t.Fatal(err)
	}
	return js, cfg, s
}
