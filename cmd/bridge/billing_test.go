package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestUsageAndReconcileFromTheCommandLine: the guide's walk-through, then a
// run for a subject no customer has.
func TestUsageAndReconcileFromTheCommandLine(t *testing.T) {
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide())
	_, env := startBilled(t, konnect)

	if code, out := bridgeCmd(t, env, "emit", "--guide"); code != 0 {
		t.Fatalf("emit --guide: exit %d\n%s", code, out)
	}
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 3 }, "the guide's runs were not delivered")

	code, out := bridgeCmd(t, env, "usage", "--customer", "acme-inc")
	for _, w := range []string{"meter agent_runs (count of agent_run), customer acme-inc", "summarizer   2", "translator   1", "total        3"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("usage: exit %d, output does not say %q:\n%s", code, w, out)
		}
	}
	code, out = bridgeCmd(t, env, "reconcile", "--since", "1h")
	if code != 0 || !strings.Contains(out, "3 events") || !strings.Contains(out, "every delivered event is stored and attributed") {
		t.Errorf("reconcile after the guide: exit %d:\n%s", code, out)
	}

	bridgeCmd(t, env, "emit", "--customer", "nobody")
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 4 }, "nobody's run was not delivered")
	code, out = bridgeCmd(t, env, "reconcile", "--since", "1h")
	if code != 1 || !strings.Contains(out, `subject="nobody"`) || !strings.Contains(out, "1 event without a customer") {
		t.Errorf("reconcile with nobody's run: exit %d, want 1 naming it:\n%s", code, out)
	}
	code, out = bridgeCmd(t, env, "reconcile", "--since", "1h", "--customer", "acme-inc", "--json")
	if code != 0 || !strings.Contains(out, `"without_customer": {`) {
		t.Errorf("reconcile --customer acme-inc --json: exit %d:\n%s", code, out)
	}
	code, out = bridgeCmd(t, env, "check")
	if code != 1 || !strings.Contains(out, "create a customer with subject key `nobody`") {
		t.Errorf("check with nobody's run: exit %d, want 1 with the fix:\n%s", code, out)
	}
	if strings.Contains(out, "spat_reader") {
		t.Errorf("the output shows the token")
	}

	konnect.SetReadRights(false)
	code, out = bridgeCmd(t, env, "usage")
	if code != 1 || !strings.Contains(out, "cannot check: the token lacks the right to read meters") {
		t.Errorf("usage with an ingest-only token: exit %d:\n%s", code, out)
	}
}

// TestReconcileTellsRefusedFromMissing: Konnect refuses one delivered run
// and the bridge dead-letters it. Reconcile counts it as refused by Konnect,
// with the reason, not as missing; once its dead letter is gone (replayed
// elsewhere, or purged), the same event is missing.
func TestReconcileTellsRefusedFromMissing(t *testing.T) {
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide(), refusing("customer acme-inc has no subscription for refused-1"))
	ns, env := startBilled(t, konnect)

	emitGuideAndRefused(t, env, konnect)

	code, out := bridgeCmd(t, env, "reconcile", "--since", "1h")
	for _, want := range []string{"4 events", "missing from Konnect                          0", "refused by Konnect                            1",
		`id="refused-1"`, "rejected: ", "no subscription for refused-1"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("reconcile: exit %d, want 1 and %q in:\n%s", code, want, out)
		}
	}

	// An operator purges the dead letters.
	_, js := testkit.Connect(t, ns.ClientURL())
	dlq, err := js.Stream(context.Background(), "AGENT_RUNS_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	if err := dlq.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out = bridgeCmd(t, env, "reconcile", "--since", "1h")
	if code != 1 || !strings.Contains(out, "missing from Konnect                          1") || !strings.Contains(out, `id="refused-1"`) {
		t.Errorf("reconcile once the dead letter is gone: exit %d, want 1 with refused-1 missing:\n%s", code, out)
	}

	// The dead-letter stream deleted under the running bridge: the same.
	if err := js.DeleteStream(context.Background(), "AGENT_RUNS_DLQ"); err != nil {
		t.Fatal(err)
	}
	code, out = bridgeCmd(t, env, "reconcile", "--since", "1h")
	if code != 1 || !strings.Contains(out, "missing from Konnect                          1") {
		t.Errorf("reconcile without a dead-letter stream: exit %d, want 1 with refused-1 missing:\n%s", code, out)
	}
}

// TestGuideEndsOnTheInvoice: the README's walk-through against the sandbox
// alone, as dev mode runs it: the guide's three runs, then `bridge invoice`
// shows agent runs with quantity 3. A run timed before the subscription
// is delivered, left off the invoice, and flagged by `bridge check`.
func TestGuideEndsOnTheInvoice(t *testing.T) {
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide())
	ns, env := startBilled(t, konnect)

	if code, out := bridgeCmd(t, env, "emit", "--guide"); code != 0 {
		t.Fatalf("emit --guide: exit %d\n%s", code, out)
	}
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 3 }, "the guide's runs were not delivered")
	code, out := bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	for _, want := range []string{"customer acme-inc, subscription", "agent_runs   agent_runs   3          0.3 USD   3", "Konnect's quantity 3 agrees with what the bridge delivered"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("invoice after the guide: exit %d, want 0 and %q in:\n%s", code, want, out)
		}
	}

	early := testkit.Run{ID: "early", Source: "acme-platform", Subject: "acme-inc", Agent: "translator", Time: konnect.Started().Add(-time.Hour)}
	_, js := testkit.Connect(t, ns.ClientURL())
	testkit.Publish(t, js, "agent.runs.acme", early.JSON())
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 4 }, "the run timed before the subscription was not delivered")
	code, out = bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	if code != 0 || !strings.Contains(out, "agent_runs   agent_runs   3") || !strings.Contains(out, "timed before the subscription: on no invoice  1") {
		t.Errorf("invoice with a run before the subscription: exit %d, want 0, still 3, the run explained:\n%s", code, out)
	}
	code, out = bridgeCmd(t, env, "check")
	if code != 1 || !strings.Contains(out, "timed before the subscription of `acme-inc` starts") {
		t.Errorf("check with a run before the subscription: exit %d, want 1 flagging it:\n%s", code, out)
	}
}

// startBilled runs a bridge delivering to konnect with the token
// spat_reader, which may read Metering & Billing too: what the billing
// commands are tried against. env is what those commands run with.
func startBilled(t *testing.T, konnect *testkit.Konnect) (*server.Server, map[string]string) {
	t.Helper()
	ns := testkit.NATS(t)
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_reader"}
	cfg := testkit.Config(ns.ClientURL(), konnect.URL)
	cfg.Konnect.Token = "spat_reader"
	testkit.StartBridge(t, cfg)
	return ns, env
}

// refusing makes refused-1 the one run Konnect refuses, for reason.
func refusing(reason string) sandbox.Option {
	return sandbox.WithReject(func(e sandbox.Event) string {
		if e.ID == "refused-1" {
			return reason
		}
		return ""
	})
}

// emitGuideAndRefused publishes the guide's runs and refused-1, and waits
// until Konnect holds the three and refused-1 is dead-lettered.
func emitGuideAndRefused(t *testing.T, env map[string]string, konnect *testkit.Konnect) {
	t.Helper()
	for _, args := range [][]string{{"emit", "--guide"}, {"emit", "--id", "refused-1"}} {
		if code, out := bridgeCmd(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		_, out := bridgeCmd(t, env, "dlq", "list")
		return len(konnect.Events()) == 3 && strings.Contains(out, "1 dead letter")
	}, "the guide's runs were not delivered, or refused-1 not dead-lettered")
}
