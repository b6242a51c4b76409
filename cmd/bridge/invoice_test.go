package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestInvoiceFromTheCommandLine: the guide's three runs end on the
// invoice with quantity 3; a run timed before the subscription is
// explained and not counted; without the right to read charges the
// subscription's period is used; a run Konnect lost is a disagreement.
func TestInvoiceFromTheCommandLine(t *testing.T) {
	ns := testkit.NATS(t)
	now := time.Now().UTC().Truncate(time.Second)
	konnect := testkit.NewCheckedKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide(), sandbox.WithStarted(now.Add(-time.Hour)))
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_reader"}
	cfg := testkit.Config(ns.ClientURL(), konnect.URL)
	cfg.Konnect.Token = "spat_reader"
	testkit.StartBridge(t, cfg)

	if code, out := bridgeCmd(t, env, "emit", "--guide"); code != 0 {
		t.Fatalf("emit --guide: exit %d\n%s", code, out)
	}
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 3 }, "the guide's runs were not delivered")
	code, out := bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	for _, want := range []string{"customer acme-inc, subscription Agents", "from charges", "agent_runs   agent_runs   3          0.3 USD   3           0",
		"agent_runs: Konnect's quantity 3 agrees with what the bridge delivered"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("invoice after the guide: exit %d, want 0 and %q in:\n%s", code, want, out)
		}
	}

	early := testkit.Run{ID: "early", Source: "acme-platform", Subject: "acme-inc", Agent: "translator", Time: now.Add(-2 * time.Hour)}
	_, js := testkit.Connect(t, ns.ClientURL())
	testkit.Publish(t, js, "agent.runs.acme", early.JSON())
	testkit.Eventually(t, 20*time.Second, func() bool { return len(konnect.Events()) == 4 }, "the early run was not delivered")
	code, out = bridgeCmd(t, env, "invoice", "--customer", "acme-inc", "--json")
	var r struct {
		Lines []struct {
			Quantity  float64 `json:"quantity"`
			Delivered struct {
				Quantity           float64 `json:"quantity"`
				BeforeSubscription struct {
					Count    int `json:"count"`
					Examples []struct {
						ID string `json:"id"`
					} `json:"examples"`
				} `json:"before_subscription"`
			} `json:"delivered"`
		} `json:"lines"`
	}
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Lines) != 1 {
		t.Fatalf("invoice --json: exit %d, %v:\n%s", code, err, out)
	}
	if l := r.Lines[0]; l.Quantity != 3 || l.Delivered.Quantity != 3 || l.Delivered.BeforeSubscription.Count != 1 || l.Delivered.BeforeSubscription.Examples[0].ID != "early" {
		t.Errorf("invoice --json with the early run: %+v, want 3, 3 and the run early before the subscription", l)
	}
	code, out = bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	if code != 0 || !strings.Contains(out, "timed before the subscription: on no invoice  1") || !strings.Contains(out, `id="early"`) {
		t.Errorf("invoice with the early run: exit %d, want 0 explaining it:\n%s", code, out)
	}

	konnect.SetReadAnswer("/openmeter/customers/{customerId}/charges", http.StatusForbidden)
	code, out = bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	if code != 0 || !strings.Contains(out, "from the subscription's service period (Konnect answered 403 to the customer's charges)") ||
		!strings.Contains(out, "agent_runs   agent_runs   3          -        3") {
		t.Errorf("invoice without the right to read charges: exit %d, want 0 with quantity 3 over the subscription's period:\n%s", code, out)
	}

	konnect.Lose("lost-1")
	if code, out := bridgeCmd(t, env, "emit", "--id", "lost-1"); code != 0 {
		t.Fatalf("emit: exit %d\n%s", code, out)
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		code, out = bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
		return code == 1
	}, "invoice did not disagree once lost-1 was delivered")
	if code != 1 || !strings.Contains(out, "agent_runs: Konnect counts 3, the bridge delivered 4 (0 in flight): see `bridge reconcile --since") {
		t.Errorf("invoice with a run Konnect lost: exit %d, want 1 naming the difference:\n%s", code, out)
	}
}

// TestInvoiceExplainsARefusedRun: a run Konnect refused is dead-lettered
// by the bridge; invoice counts it as dead-lettered, not delivered, and
// agrees.
func TestInvoiceExplainsARefusedRun(t *testing.T) {
	konnect := testkit.NewCheckedKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide(), sandbox.WithStarted(time.Now().Add(-time.Hour)), refusing("refused-1 is not a run"))
	_, env := startBilled(t, konnect)

	emitGuideAndRefused(t, env, konnect)
	code, out := bridgeCmd(t, env, "invoice", "--customer", "acme-inc")
	for _, want := range []string{"agent_runs   agent_runs   3          0.3 USD   3           0", "dead-lettered                                 1",
		`id="refused-1"`, "refused-1 is not a run", "agrees with what the bridge delivered"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("invoice with a refused run: exit %d, want 0 and %q in:\n%s", code, want, out)
		}
	}
}

// TestInvoiceCannotTell: what keeps invoice from deciding exits 2 with one
// line naming what is missing and the fix.
func TestInvoiceCannotTell(t *testing.T) {
	ns := testkit.NATS(t)
	konnect := testkit.NewCheckedKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide(), sandbox.WithStarted(time.Now().Add(-time.Hour)),
		sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}))
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_reader"}
	down := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": "http://127.0.0.1:1/v3/openmeter/events", "KONNECT_TOKEN": "spat_reader"}
	tests := map[string]struct {
		env      map[string]string
		args     []string
		noRights bool
		want     []string
	}{
		"no customer asked":  {env, nil, false, []string{"--customer is missing", "--customer acme-inc"}},
		"a period not known": {env, []string{"--customer", "acme-inc", "--period", "last"}, false, []string{`--period "last": use current or previous`}},
		"no subscription": {env, []string{"--customer", "globex-corp"}, false,
			[]string{"customer globex-corp", "no subscription: metered, not invoiced", "subscribe it to a plan in Konnect (Metering & Billing, Subscriptions)"}},
		"no previous period": {env, []string{"--customer", "acme-inc", "--period", "previous"}, false, []string{"customer acme-inc has no service period before its current one", "ask for the current period"}},
		"unknown customer":   {env, []string{"--customer", "initech"}, false, []string{`no customer has the key or subject key "initech"`, "Customers"}},
		"no read rights":     {env, []string{"--customer", "acme-inc"}, true, []string{"lacks the right to read customers", "role that may read Metering & Billing"}},
		"Konnect down":       {down, []string{"--customer", "acme-inc"}, false, []string{"reading customers at http://127.0.0.1:1", "check KONNECT_URL"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			konnect.SetReadRights(!tc.noRights)
			code, out := bridgeCmd(t, tc.env, append([]string{"invoice"}, tc.args...)...)
			if code != 2 || strings.Count(out, "\n") != 1 {
				t.Errorf("exit %d, want 2 and one line:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "spat_reader") {
				t.Errorf("output shows the token:\n%s", out)
			}
		})
	}
}
