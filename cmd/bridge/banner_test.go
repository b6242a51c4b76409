package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// The banner of a sandbox on a shared NATS says nothing is billed and
// which consumer it reads through, so it is never taken for billing.
func TestBannerSaysTheSandboxReadsItsOwnConsumer(t *testing.T) {
	cfg := config.Defaults()
	cfg.NATS.URL = "nats://nats:4222"
	cfg.Bridge.Sandbox = true
	var logged bytes.Buffer
	banner(newLogger(cfg, &logged), cfg, bridge.Started{NATSURL: cfg.NATS.URL, IngestURL: "http://127.0.0.1:8080/v3/openmeter/events", AdminAddr: "127.0.0.1:8080", Sandbox: sandbox.New()})
	for _, want := range []string{`"consumer":"konnect-bridge-sandbox"`, "nothing is billed", "never the billing consumer konnect-bridge"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("the banner does not say %s:\n%s", want, logged.String())
		}
	}
}
