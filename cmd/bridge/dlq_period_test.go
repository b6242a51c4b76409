package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestDLQListCallsOutAMissedPeriod: Konnect refused two runs of a service
// period whose cutoff has passed. `dlq list` lists them and says, once
// for the customer's period, that they missed its invoice.
func TestDLQListCallsOutAMissedPeriod(t *testing.T) {
	ns := testkit.NATS(t)
	activeFrom := time.Now().UTC().Truncate(time.Minute).Add(-150 * time.Minute)
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_reader"), sandbox.WithGuide(),
		sandbox.WithCustomer(sandbox.Customer{Key: "hourly-co", Name: "Hourly Co."}),
		sandbox.WithPlan(sandbox.Plan{Key: "hourly", Name: "Hourly", Cadence: "PT1H", RateCards: sandbox.GuidePlan.RateCards}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "hourly-co", PlanKey: "hourly", ActiveFrom: activeFrom}),
		sandbox.WithReject(func(e sandbox.Event) string {
			if strings.HasPrefix(e.ID, "late-") {
				return "refused " + e.ID
			}
			return ""
		}))
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_reader"}
	cfg := testkit.Config(ns.ClientURL(), konnect.URL)
	cfg.Konnect.Token = "spat_reader"
	testkit.StartBridge(t, cfg)

	_, js := testkit.Connect(t, ns.ClientURL())
	at := activeFrom.Add(10 * time.Minute).Format(time.RFC3339)
	for _, id := range []string{"late-1", "late-2"} {
		raw, _ := json.Marshal(map[string]any{"specversion": "1.0", "type": "agent_run", "id": id, "source": "acme-platform",
			"subject": "hourly-co", "time": at, "data": map[string]any{"agent_name": "summarizer"}})
		testkit.Publish(t, js, "agent.runs.hourly", raw)
	}
	var out string
	testkit.Eventually(t, 20*time.Second, func() bool {
		_, out = bridgeCmd(t, env, "dlq", "list")
		return strings.Contains(out, "2 dead letter")
	}, "the refused runs were not dead-lettered")

	end := activeFrom.Add(time.Hour).Format(time.RFC3339)
	want := "period missed: 2 event(s) of the period ending " + end + " for hourly-co missed its invoice"
	if strings.Count(out, "period missed:") != 1 || !strings.Contains(out, want) || !strings.Contains(out, "--original-subject agent.runs.hourly") {
		t.Errorf("dlq list does not call out the missed period once (%q):\n%s", want, out)
	}
}
