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
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			js, cfg, kv, key, id := withFloorRecord(t, ctx, tc.record)
			source, h, reason := refusedBind(t, ctx, js, cfg)
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
			if got := created(t, ctx, js, cfg).OptStartSeq; got != 4 {
				t.Errorf("the consumer starts at %d, want 4, after the fixed floor of 3", got)
			}
		})
	}
}

// withFloorRecord is a stream holding five runs, and BRIDGE_STATE_BUCKET
// holding record (%s: the stream's identity, id) at the consumer's key.
func withFloorRecord(t *testing.T, ctx context.Context, record string) (js jetstream.JetStream, cfg config.Config, kv jetstream.KeyValue, key, id string) {
	t.Helper()
	js, cfg, s := testkit.Stream(t)
	for range 5 {
		testkit.Publish(t, js, "agent.runs.acme", testkit.Guide()[0].JSON())
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: cfg.Bridge.StateBucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	key = cfg.Bridge.Stream + "." + cfg.Bridge.Consumer
	id = consume.StreamIdentity(s.CachedInfo())
	if _, err := kv.Put(ctx, key, []byte(strings.ReplaceAll(record, "%s", id))); err != nil {
		t.Fatal(err)
	}
	return js, cfg, kv, key, id
}

// refusedBind binds as the bridge does, and fails the test unless the
// bridge refuses to create the consumer; it returns what readiness says.
func refusedBind(t *testing.T, ctx context.Context, js jetstream.JetStream, cfg config.Config) (*consume.JetStream, *health.Health, string) {
	t.Helper()
	h := health.New(nil)
	source := consume.NewJetStream(js, cfg, zerolog.Nop(), metrics.New(), h, nil, consume.Rules{})
	bctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if err := source.Bind(bctx); err == nil {
		t.Fatal("the bridge bound to a consumer after a floor record it cannot trust")
	}
	return source, h, consumerReason(h.Report())
}

// created is the configuration of the consumer the bridge created.
func created(t *testing.T, ctx context.Context, js jetstream.JetStream, cfg config.Config) jetstream.ConsumerConfig {
	t.Helper()
	c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	return c.CachedInfo().Config
}

func consumerReason(r health.Report) string {
	for _, c := range r.Components {
		if c.Component == health.Consumer {
			return c.Reason
		}
	}
	return ""
}

// A floor record deleted or purged (nats kv del, nats kv purge) is not "no
// floor": the bucket says one existed, and starting by the default of
// BRIDGE_CONSUMER_START could send the stream again. The bridge refuses,
// with the stream's range and the ways out, until the operator says where
// to start by setting BRIDGE_CONSUMER_START explicitly.
func TestAckFloorRemovedIsRefusedUntilTheStartIsSetExplicitly(t *testing.T) {
	for name, remove := range map[string]func(context.Context, jetstream.KeyValue, string) error{
		"deleted": func(ctx context.Context, kv jetstream.KeyValue, key string) error { return kv.Delete(ctx, key) },
		"purged":  func(ctx context.Context, kv jetstream.KeyValue, key string) error { return kv.Purge(ctx, key) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			js, cfg, kv, key, _ := withFloorRecord(t, ctx, `{"stream_id":"%s","ack_floor":3}`)
			if err := remove(ctx, kv, key); err != nil {
				t.Fatal(err)
			}
			_, h, reason := refusedBind(t, ctx, js, cfg)
			for _, want := range []string{"was " + name, "1 to 5", "nats kv put", "set BRIDGE_CONSUMER_START explicitly"} {
				if !strings.Contains(reason, want) {
					t.Errorf("readiness says %q, which does not name %q", reason, want)
				}
			}
			if info, _ := js.Stream(ctx, cfg.Bridge.Stream); info.CachedInfo().State.Consumers != 0 {
				t.Errorf("%d consumer(s) created after the floor record was %s", info.CachedInfo().State.Consumers, name)
			}

			// The operator says where to start: new, leaving what was billed.
			cfg.Bridge.ConsumerStart, cfg.Bridge.ConsumerStartSet = config.StartNew, true
			source := consume.NewJetStream(js, cfg, zerolog.Nop(), metrics.New(), h, nil, consume.Rules{})
			if err := source.Bind(ctx); err != nil {
				t.Fatalf("bind with BRIDGE_CONSUMER_START=new set explicitly: %v", err)
			}
			if got := created(t, ctx, js, cfg).DeliverPolicy; got != jetstream.DeliverNewPolicy {
				t.Errorf("the consumer starts by %v, want new as BRIDGE_CONSUMER_START says", got)
			}
		})
	}
}

// A bucket that never held the record is a first start: the consumer
// starts by BRIDGE_CONSUMER_START, set or not.
func TestNoFloorEverRecordedStartsByTheDefault(t *testing.T) {
	js, cfg, _ := testkit.Stream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: cfg.Bridge.StateBucket, History: 1}); err != nil {
		t.Fatal(err)
	}
	source := consume.NewJetStream(js, cfg, zerolog.Nop(), metrics.New(), health.New(nil), nil, consume.Rules{})
	if err := source.Bind(ctx); err != nil {
		t.Fatalf("bind on a first start: %v", err)
	}
	if got := created(t, ctx, js, cfg).DeliverPolicy; got != jetstream.DeliverAllPolicy {
		t.Errorf("the consumer starts by %v, want all, BRIDGE_CONSUMER_START's default", got)
	}
}
