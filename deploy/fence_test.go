package deploy_test

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

// The compose stack runs with the fence on: the demo's runs (customer
// acme-inc on agent.runs.acme) are delivered, and a run billing another
// customer on acme's subject would be refused.
func TestComposeBridgeFencesProducers(t *testing.T) {
	bridge := service(t, loadCompose(t, nil), "bridge")
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	getenv := func(k string) string {
		if v := bridge.Environment[k]; v != nil {
			return *v
		}
		return "" // passed through from an empty environment
	}
	cfg, err := config.Load(fs, nil, getenv)
	if err != nil {
		t.Fatalf("the bridge's environment does not load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the bridge's environment does not validate: %v", err)
	}
	rule, err := cfg.Fence.Rule()
	if err != nil || rule == nil {
		t.Fatalf("the bridge runs without the fence (%v): set BRIDGE_FENCE_SUBJECTS", err)
	}
	if err := rule.Check("agent.runs.acme", "acme-inc", "acme-platform"); err != nil {
		t.Errorf("the demo's runs would be refused: %v", err)
	}
	if err := rule.Check("agent.runs.acme", "globex-corp", "acme-platform"); !errors.Is(err, fence.ErrRefused) {
		t.Errorf("a run billing globex-corp on agent.runs.acme: %v, want it fenced", err)
	}
}
