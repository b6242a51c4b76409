package bridge_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// NATS permissions and the fence together, as "Fencing producers" in
// docs/nats.md sets them up with deploy/nats/fence.conf: acme's producer
// cannot publish on globex's subject at all, and what it publishes on its
// own subject bills acme-inc only.
func TestNATSPermissionsAndTheFenceTogether(t *testing.T) {
	passwords := map[string]string{"bridge": "bridge-pw", "acme": "acme-pw", "globex": "globex-pw"}
	for user, pw := range passwords {
		t.Setenv(strings.ToUpper(user)+"_NATS_PASSWORD", pw)
	}
	opts, err := server.ProcessConfigFile("../../deploy/nats/fence.conf")
	if err != nil {
		t.Fatalf("deploy/nats/fence.conf: %v", err)
	}
	ns := testkit.NATSWith(t, opts)

	k := testkit.NewKonnect(t)
	cfg := testkit.Config(ns.ClientURL(), k.URL)
	cfg.NATS.User, cfg.NATS.Password = "bridge", config.Secret(passwords["bridge"])
	cfg.Fence = config.Fence{Subjects: "agent.runs.{customer}", Customers: "acme=acme-inc,globex=globex-corp"}
	testkit.StartBridge(t, cfg)

	violations := make(chan error, 10)
	_, js := testkit.Connect(t, ns.ClientURL(), nats.UserInfo("acme", passwords["acme"]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	publish := func(subject string, r testkit.Run) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.Publish(ctx, subject, r.JSON())
		return err
	}

	// NATS refuses acme on globex's subject: nothing is stored, and the
	// server tells the producer why.
	if err := publish("agent.runs.globex", tenant("acme-as-globex", "globex-corp")); err == nil {
		t.Errorf("acme published on agent.runs.globex: NATS permissions did not fence it")
	}
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "agent.runs.globex") {
			t.Errorf("acme was told %v, want a permissions violation on agent.runs.globex", err)
		}
	case <-time.After(wait):
		t.Errorf("NATS did not tell acme it may not publish on agent.runs.globex")
	}
	// On its own subject, the bridge refuses another customer...
	if err := publish("agent.runs.acme", tenant("acme-bills-globex", "globex-corp")); err != nil {
		t.Fatalf("acme publishes on its own subject: %v", err)
	}
	// ...and delivers acme's own.
	own := tenant("acme-bills-acme", "acme-inc")
	if err := publish("agent.runs.acme", own); err != nil {
		t.Fatalf("acme publishes on its own subject: %v", err)
	}

	testkit.Eventually(t, wait, func() bool { return len(k.Events()) >= 1 }, "acme's own run was not delivered")
	// The operator reads the stream and the dead letters as the bridge's user.
	anc, ajs := testkit.Connect(t, ns.ClientURL(), nats.UserInfo("bridge", passwords["bridge"]))
	e := &env{t: t, nats: ns, cfg: cfg, konnect: k, nc: anc, js: ajs}
	e.waitSettled()
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) >= 1 }, "the run billing globex-corp was not dead-lettered")
	if got, want := k.IDs(), keys(own); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want only acme's own run", slices.Sorted(maps.Keys(got)))
	}
	dls := e.deadLetters()
	if len(dls) != 1 || dls[0].Header.Get("Konnect-Bridge-Reason-Kind") != "fenced" ||
		!strings.Contains(dls[0].Header.Get("Konnect-Bridge-Reason"), `subject "globex-corp" is not allowed on agent.runs.acme`) {
		t.Errorf("dead letters %v, want acme's run billing globex-corp, fenced", dls)
	}
	// The bridge's user may keep the ack floor, so a consumer lost later
	// is recreated after what was billed.
	testkit.Eventually(t, wait, func() bool {
		ctx, cancel := brief()
		defer cancel()
		kv, err := ajs.KeyValue(ctx, cfg.Bridge.StateBucket)
		if err != nil {
			return false
		}
		_, err = kv.Get(ctx, cfg.Bridge.Stream+"."+cfg.Bridge.Consumer)
		return err == nil
	}, "the bridge's user could not save the ack floor in %s", cfg.Bridge.StateBucket)
	// ...and acme may not write it, nor a dead letter.
	for _, subject := range []string{"$KV." + cfg.Bridge.StateBucket + "." + cfg.Bridge.Stream + "." + cfg.Bridge.Consumer, cfg.Bridge.DLQSubject + ".forged.1.all"} {
		if err := publish(subject, own); err == nil {
			t.Errorf("acme published on %s", subject)
		}
	}
}
