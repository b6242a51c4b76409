package main

import (
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestUsageAndReconcileFromTheCommandLine: the guide's walk-through, then a
// run for a subject no customer has.
func TestUsageAndReconcileFromTheCommandLine(t *testing.T) {
	ns := testkit.NATS(t)
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide())
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_reader"}
	cfg := testkit.Config(ns.ClientURL(), konnect.URL)
	cfg.Konnect.Token = "spat_reader"
	testkit.StartBridge(t, cfg)

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
