package bridge_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// The compose stack's accident: the bridge started once without
// KONNECT_TOKEN (BRIDGE_SANDBOX=true) against a NATS holding real events.
// The sandbox reads them through a consumer of its own and says so; the
// billing consumer is untouched, and the bridge started with the token
// bills every one of them.
func TestSandboxNeverConsumesWhatBills(t *testing.T) {
	ns := testkit.NATS(t)
	_, js := testkit.Connect(t, ns.ClientURL())
	sandboxCfg := config.Defaults()
	sandboxCfg.NATS.URL = ns.ClientURL()
	sandboxCfg.Bridge.Sandbox = true
	sandboxCfg.Bridge.HTTPAddr = "127.0.0.1:0"
	sandboxCfg.Batch.Linger = 20 * time.Millisecond
	if sandboxCfg.Target() != config.TargetSandbox {
		t.Fatal("the configuration does not select the sandbox")
	}
	sb := testkit.StartBridge(t, sandboxCfg)
	for _, r := range runs("real", 5) {
		testkit.Publish(t, js, "agent.runs.acme", r.JSON())
	}
	testkit.Eventually(t, wait, func() bool { return sb.Sandbox.Usage().Events == 5 }, "the sandbox never showed the 5 runs")

	e := &env{t: t, bridge: sb, cfg: sandboxCfg}
	_, _, body := e.get("/readyz")
	var ready struct{ Target, Consumer, Reading string }
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatal(err)
	}
	if ready.Consumer != "konnect-bridge-sandbox" || !strings.Contains(ready.Reading, "nothing is billed") || !strings.Contains(ready.Target, "/v3/openmeter/events") {
		t.Errorf("/readyz does not say the sandbox reads through its own consumer: %s", body)
	}
	if _, _, page := e.get("/"); !strings.Contains(string(page), "konnect-bridge-sandbox") || !strings.Contains(string(page), "nothing is billed") {
		t.Errorf("the status page does not say the sandbox reads through its own consumer:\n%s", page)
	}
	ctx, cancel := brief()
	defer cancel()
	if _, err := js.Consumer(ctx, sandboxCfg.Bridge.Stream, sandboxCfg.Bridge.Consumer); err == nil {
		t.Error("the sandbox created or used the billing consumer")
	}
	sb.Stop(t)

	k := testkit.NewKonnect(t)
	testkit.StartBridge(t, testkit.Config(ns.ClientURL(), k.URL))
	testkit.Eventually(t, wait, func() bool { return len(k.Events()) == 5 }, "Konnect got %v of the 5 runs the sandbox saw", lazy(func() string { return fmt.Sprint(len(k.Events())) }))
}
