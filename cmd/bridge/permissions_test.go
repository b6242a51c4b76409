package main

import (
	"strings"
	"testing"
)

// `bridge permissions` prints the very set the bridge is tested with as a
// restricted NATS user (natsconn.NeededPermissions), for the names given,
// and what producers must not have.
func TestPermissionsPrintsTheTestedSetForTheNamesGiven(t *testing.T) {
	code, out := bridgeCmd(t, nil, "permissions", "--bind-only", "--stream", "ORDERS", "--dlq-stream", "ORDERS_DLQ")
	for _, want := range []string{`"$JS.API.STREAM.INFO.ORDERS"`, `"$JS.API.STREAM.MSG.GET.ORDERS_DLQ"`, `"$KV.konnect-bridge-state.>"`, "allow_responses: true",
		"Never dlq.agent.runs.>"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("permissions: exit %d, want 0 and %s in:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "STREAM.CREATE") {
		t.Errorf("bind-only permissions grant creating streams:\n%s", out)
	}
	if _, out := bridgeCmd(t, nil, "permissions"); !strings.Contains(out, `"$JS.API.STREAM.CREATE.AGENT_RUNS"`) {
		t.Errorf("permissions without bind-only do not let the bridge create its stream:\n%s", out)
	}
}
