package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// The start summary is at most five lines, and they say where the bridge
// reads (NATS, stream, consumer, subjects), where it delivers (host,
// region), the mode, the admin URL and the version, with the defaults in
// use: the embedded server and its data, the sandbox and its own consumer.
func TestBannerSaysWhereItReadsAndDeliversInFiveLines(t *testing.T) {
	const admin = "127.0.0.1:8080"
	sandboxed := bridge.Started{IngestURL: "http://" + admin + "/v3/openmeter/events", AdminAddr: admin, Sandbox: sandbox.New()}
	tests := map[string]struct {
		cfg  func(*config.Config)
		st   bridge.Started
		says []string
	}{
		"dev mode": {
			cfg: func(c *config.Config) {},
			st:  bridge.Started{NATSURL: "nats://127.0.0.1:4222", IngestURL: sandboxed.IngestURL, AdminAddr: admin, Sandbox: sandboxed.Sandbox},
			says: []string{"started in sandbox mode; status page http://127.0.0.1:8080/", `"version":"`,
				"reads nats://127.0.0.1:4222 (embedded, data in data/; set NATS_URL to use your own server): stream AGENT_RUNS, consumer konnect-bridge, subjects agent.runs.>",
				"delivers to 127.0.0.1:8080: ", "nothing is billed", "set KONNECT_TOKEN (and KONNECT_REGION) to bill for real",
				"try it: go run ./cmd/bridge emit --guide, then http://127.0.0.1:8080/sandbox/usage"},
		},
		"a sandbox on a shared NATS": {
			cfg: func(c *config.Config) { c.NATS.URL, c.Bridge.Sandbox = "nats://nats:4222", true },
			st:  bridge.Started{NATSURL: "nats://nats:4222", IngestURL: sandboxed.IngestURL, AdminAddr: admin, Sandbox: sandboxed.Sandbox},
			says: []string{`"mode":"sandbox"`, `"consumer":"konnect-bridge-sandbox"`, "consumer konnect-bridge-sandbox,", "nothing is billed",
				"never the billing consumer konnect-bridge"},
		},
		"live, in a region": {
			cfg: func(c *config.Config) {
				c.NATS.URL, c.Konnect.Token, c.Konnect.Region, c.Konnect.URL = "nats://nats:4222", "spat_S3cretToken", "eu", config.RegionURL("eu")
			},
			st: bridge.Started{NATSURL: "nats://nats:4222", IngestURL: config.RegionURL("eu"), AdminAddr: admin},
			says: []string{"started in live mode; status page http://127.0.0.1:8080/", `"mode":"live"`,
				"reads nats://nats:4222: stream AGENT_RUNS, consumer konnect-bridge, subjects agent.runs.>",
				"delivers to eu.api.konghq.com (Konnect region eu)", `"region":"eu"`, `"konnect_token":true`},
		},
		"live, the default region": {
			cfg:  func(c *config.Config) { c.NATS.URL, c.Konnect.Token = "nats://nats:4222", "spat_S3cretToken" },
			st:   bridge.Started{NATSURL: "nats://nats:4222", IngestURL: config.RegionURL("us"), AdminAddr: admin},
			says: []string{"delivers to us.api.konghq.com (Konnect region us)"},
		},
		"live, a KONNECT_URL, core NATS and a natscli context": {
			cfg: func(c *config.Config) {
				c.NATS.URL, c.NATS.Context, c.Konnect.Token = "nats://nats:4222", "prod", "spat_S3cretToken"
				c.Konnect.URL, c.Bridge.CoreSubject = "https://openmeter.internal/api/v1/events", "agent.core.>"
			},
			st: bridge.Started{NATSURL: "nats://nats:4222", IngestURL: "https://openmeter.internal/api/v1/events", AdminAddr: admin},
			says: []string{`reads nats://nats:4222 (natscli context \"prod\"`, "subjects agent.runs.>, core NATS agent.core.>",
				"delivers to openmeter.internal (KONNECT_URL)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := config.Defaults()
			tc.cfg(&cfg)
			var logged bytes.Buffer
			banner(newLogger(cfg, &logged), cfg, tc.st)
			out := logged.String()
			if n := strings.Count(out, "\n"); n > 5 || n < 3 {
				t.Errorf("the banner is %d lines, want 3 to 5:\n%s", n, out)
			}
			for _, want := range tc.says {
				if !strings.Contains(out, want) {
					t.Errorf("the banner does not say %s:\n%s", want, out)
				}
			}
			noSecret(t, "the banner", out)
		})
	}
}
