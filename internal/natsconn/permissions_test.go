package natsconn_test

import (
	"os"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// The least-privilege permission set of docs/nats.md is the one the bridge's
// tests run under (internal/bridge), for the default names in bind-only
// mode.
func TestDocsShowTheTestedPermissionSet(t *testing.T) {
	raw, err := os.ReadFile("../../docs/nats.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Bridge.BindOnly = true
	want := natsconn.NeededPermissions(cfg, "$SRV.>").ServerConfig()
	if !strings.Contains(string(raw), "```\n"+want+"```\n") {
		t.Errorf("the permission block of docs/nats.md is not:\n%s", want)
	}
}
