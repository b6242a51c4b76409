package natsconn_test

import (
	"os"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// The README's least-privilege permission set is the one the bridge's
// tests run under (internal/bridge), for the default names in bind-only
// mode.
func TestReadmeShowsTheTestedPermissionSet(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Bridge.BindOnly = true
	want := natsconn.NeededPermissions(cfg, "$SRV.>").ServerConfig()
	if !strings.Contains(string(raw), "```\n"+want+"```\n") {
		t.Errorf("the README's permission block is not:\n%s", want)
	}
}
