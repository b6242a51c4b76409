package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/service"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// restricted starts NATS with two users: "admin", who may do anything, and
// "bridge", who may do exactly what p says, as the permission set of
// docs/nats.md does. It returns the admin's connection and JetStream.
func restricted(t *testing.T, p natsconn.Permissions, change func(*server.Options)) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	perms := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
	if p.Responses {
		perms.Response = &server.ResponsePermission{MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS, Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION}
	}
	opts := &server.Options{Users: []*server.User{{Username: "admin", Password: "admin-pw"}, {Username: "bridge", Password: "bridge-pw", Permissions: perms}}}
	change(opts)
	ns := testkit.NATSWith(t, opts)
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("admin", "admin-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return ns, nc, js
}

// asBridgeUser points cfg at ns as the restricted user.
func asBridgeUser(cfg *config.Config, ns *server.Server) {
	cfg.NATS.URL, cfg.NATS.User, cfg.NATS.Password = ns.ClientURL(), "bridge", "bridge-pw"
}

// createForBindOnly creates what an operator creates for a bind-only bridge.
func createForBindOnly(t *testing.T, js jetstream.JetStream, cfg config.Config) {
	t.Helper()
	ctx, cancel := brief()
	defer cancel()
	b := cfg.Bridge
	for _, sc := range []jetstream.StreamConfig{{Name: b.Stream, Subjects: []string{b.Subject}}, {Name: b.DLQStream, Subjects: []string{natsconn.DeadLetterSubjects(cfg)}}} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateConsumer(ctx, b.Stream, jetstream.ConsumerConfig{Durable: b.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

// serviceRequest asks the service API on nc and decodes the answer.
func serviceRequest(t *testing.T, nc *nats.Conn, subject string, into any) {
	t.Helper()
	msg, err := nc.Request(subject, nil, 5*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	if err := json.Unmarshal(msg.Data, into); err != nil {
		t.Fatalf("%s answered %s: %v", subject, msg.Data, err)
	}
}

// A bridge whose NATS user has exactly the documented bind-only permission
// set binds to what an operator created, delivers, dead-letters, acks, and
// is found by NATS's service tooling, with no permission refused.
func TestBindOnlyRunsWithTheDocumentedPermissions(t *testing.T) {
	t.Parallel()
	cfg := testkit.Config("", "")
	cfg.Bridge.BindOnly = true
	ns, admin, js := restricted(t, natsconn.NeededPermissions(cfg, "$SRV.>"), func(*server.Options) {})
	createForBindOnly(t, js, cfg)
	k := testkit.NewKonnect(t)
	cfg.Konnect.URL = k.URL
	asBridgeUser(&cfg, ns)
	log, logger := testkit.NewLog(t)
	testkit.StartBridgeLog(t, cfg, logger)

	for _, r := range runs("bind-only", 3) {
		testkit.Publish(t, js, "agent.runs.acme", r.JSON())
	}
	testkit.Publish(t, js, "agent.runs.acme", []byte(`{"specversion":"1.0","type":"agent_run","id":"no-source","subject":"acme-inc"}`))
	testkit.Eventually(t, wait, func() bool { return len(k.IDs()) == 3 }, "Konnect holds %d events, want 3", len(k.IDs()))
	testkit.Eventually(t, wait, func() bool {
		ctx, cancel := brief()
		defer cancel()
		dlq, err := js.Stream(ctx, cfg.Bridge.DLQStream)
		if err != nil {
			return false
		}
		c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
		if err != nil {
			return false
		}
		ci := c.CachedInfo()
		return dlq.CachedInfo().State.Msgs == 1 && ci.AckFloor.Stream == 4 && ci.NumAckPending == 0
	}, "one dead letter stored and all four messages acked")

	var ping micro.Ping
	serviceRequest(t, admin, "$SRV.PING."+service.Name, &ping)
	if ping.Name != service.Name || ping.ID == "" {
		t.Errorf("PING answered %+v", ping)
	}
	var info micro.Info
	serviceRequest(t, admin, "$SRV.INFO."+service.Name, &info)
	if info.Metadata["stream"] != "AGENT_RUNS" || info.Metadata["consumer"] != "konnect-bridge" || info.Metadata["target"] != k.URL || info.Version == "" {
		t.Errorf("INFO answered %+v", info)
	}
	var stats micro.Stats
	testkit.Eventually(t, wait, func() bool {
		serviceRequest(t, admin, "$SRV.STATS."+service.Name, &stats)
		var st service.Status
		return len(stats.Endpoints) == 1 && json.Unmarshal(stats.Endpoints[0].Data, &st) == nil && st.Delivered == 3 && st.DeadLettered == 1 && !st.Held
	}, "STATS carries 3 delivered, 1 dead-lettered, not held: %+v", stats.Endpoints)
	if log.Contains("Permissions Violation") || log.Contains("not registered") {
		t.Error("a subject of the documented permission set was refused; see the log")
	}
}

// A bridge whose NATS user may create the stream and consumer (the
// documented set without bind-only) creates them and delivers; a user
// without $SRV permissions still runs the bridge, which says it is not
// registered with the service API.
func TestCreatesWithTheDocumentedPermissionsAndRunsWithoutServiceAPI(t *testing.T) {
	t.Parallel()
	cfg := testkit.Config("", "")
	ns, _, js := restricted(t, natsconn.NeededPermissions(cfg), func(*server.Options) {})
	k := testkit.NewKonnect(t)
	cfg.Konnect.URL = k.URL
	asBridgeUser(&cfg, ns)
	log, logger := testkit.NewLog(t)
	testkit.StartBridgeLog(t, cfg, logger)

	testkit.Publish(t, js, "agent.runs.acme", run("created").JSON())
	testkit.Eventually(t, wait, func() bool { return k.IDs()["acme-platform/created"] }, "the event was not delivered")
	testkit.Eventually(t, wait, func() bool { return log.Contains("not registered with the NATS service API") }, "no warning that the service API is not registered")

	// A decoy on the subject of the next bad run's dead letter: with the
	// documented permissions the bridge reads what holds it, checks its
	// seal, and stores the genuine dead letter beside it.
	ctx, cancel := brief()
	defer cancel()
	info, err := js.Stream(ctx, cfg.Bridge.Stream)
	if err != nil {
		t.Fatal(err)
	}
	st := info.CachedInfo()
	decoy := nats.NewMsg("dlq.agent.runs." + consume.StreamIdentity(st) + "." + strconv.FormatUint(st.State.LastSeq+1, 10) + ".all")
	decoy.Header.Set(deadletter.HeaderReason, "nothing to see")
	decoy.Data = []byte("{}")
	if _, err := js.PublishMsg(ctx, decoy); err != nil {
		t.Fatal(err)
	}
	testkit.Publish(t, js, "agent.runs.acme", []byte(`{"specversion":"1.0","type":"agent_run","id":"no-source","subject":"acme-inc"}`))
	testkit.Eventually(t, wait, func() bool {
		dlq, err := js.Stream(ctx, cfg.Bridge.DLQStream)
		if err != nil {
			return false
		}
		c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
		return err == nil && dlq.CachedInfo().State.Msgs == 2 && c.CachedInfo().AckFloor.Stream == st.State.LastSeq+1
	}, "the bad run's dead letter was not stored beside the decoy, and the run acked")
	if log.Contains("Permissions Violation for Publish") {
		t.Error("a subject of the documented permission set was refused; see the log")
	}
}

// In bind-only mode a missing stream or consumer, or a consumer the bridge
// cannot read safely, stops the start with a message naming it and the
// setting; nothing is created or changed.
func TestBindOnlyRefusesToStartWithoutWhatItBindsTo(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		streams  []string
		consumer *jetstream.ConsumerConfig
		tune     func(*config.Config)
		want     []string
	}{
		"no consumer":           {streams: []string{"AGENT_RUNS", "AGENT_RUNS_DLQ"}, want: []string{"BRIDGE_CONSUMER konnect-bridge", "BRIDGE_BIND_ONLY"}},
		"no dead-letter stream": {streams: []string{"AGENT_RUNS"}, want: []string{"BRIDGE_DLQ_STREAM AGENT_RUNS_DLQ", "BRIDGE_BIND_ONLY"}},
		"a consumer without acks": {streams: []string{"AGENT_RUNS", "AGENT_RUNS_DLQ"}, consumer: &jetstream.ConsumerConfig{Durable: "konnect-bridge", AckPolicy: jetstream.AckNonePolicy},
			want: []string{"BRIDGE_CONSUMER konnect-bridge", "explicit acks"}},
		"a consumer of another priority policy": {streams: []string{"AGENT_RUNS", "AGENT_RUNS_DLQ"}, consumer: &jetstream.ConsumerConfig{Durable: "konnect-bridge", AckPolicy: jetstream.AckExplicitPolicy},
			tune: func(c *config.Config) { c.Bridge.PriorityPolicy = config.PriorityPinned },
			want: []string{"BRIDGE_CONSUMER konnect-bridge has priority policy none and BRIDGE_PRIORITY_POLICY is pinned_client: set BRIDGE_PRIORITY_POLICY=none"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testkit.Config("", "")
			cfg.Bridge.BindOnly = true
			if tt.tune != nil {
				tt.tune(&cfg)
			}
			ns, _, js := restricted(t, natsconn.NeededPermissions(cfg, "$SRV.>"), func(*server.Options) {})
			ctx, cancel := brief()
			defer cancel()
			subjects := map[string]string{"AGENT_RUNS": cfg.Bridge.Subject, "AGENT_RUNS_DLQ": natsconn.DeadLetterSubjects(cfg)}
			for _, s := range tt.streams {
				if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: s, Subjects: []string{subjects[s]}}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.consumer != nil {
				if _, err := js.CreateConsumer(ctx, "AGENT_RUNS", *tt.consumer); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Konnect.URL = testkit.NewKonnect(t).URL
			asBridgeUser(&cfg, ns)
			_, logger := testkit.NewLog(t)
			rctx, stop := context.WithTimeout(context.Background(), wait)
			defer stop()
			err := bridge.Run(rctx, cfg, logger, nil)
			if !errors.Is(err, natsconn.ErrNotBound) {
				t.Fatalf("Run = %v, want a refusal to start (ErrNotBound)", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal %q does not name %q", err, w)
				}
			}
			names := js.StreamNames(ctx)
			var streams []string
			for n := range names.Name() {
				streams = append(streams, n)
			}
			if len(streams) != len(tt.streams) {
				t.Errorf("streams %v after the refusal, want only %v", streams, tt.streams)
			}
			if _, err := js.Consumer(ctx, "AGENT_RUNS", "konnect-bridge"); tt.consumer == nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				t.Errorf("the consumer was created in bind-only mode: %v", err)
			}
		})
	}
}
