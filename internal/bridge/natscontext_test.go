package bridge_test

import (
	"flag"
	"io"
	"testing"

	"github.com/nats-io/jsm.go/natscontext"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// loadWith loads the bridge's configuration as the command does, from env.
func loadWith(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Load(fs, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// "A NATS user points the bridge at an existing context": contexts saved
// the way `nats context save` does, against a server whose JetStream is in
// a domain and whose bridge user may use only that domain's API. The
// selected context is used when none is named, a named one when it is, and
// the bridge's own settings override single fields of it.
func TestNATSContexts(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	want := testkit.Config("", "")
	want.NATS.JSDomain = "hub"
	perms := natsconn.NeededPermissions(want, "$SRV.>")
	// A server in the domain maps $JS.hub.API to $JS.API before it checks
	// permissions; consume's tests check that the domain's prefix is used.
	perms.Publish = append(perms.Publish, natsconn.NeededPermissions(testkit.Config("", "")).Publish...)
	ns, _, js := restricted(t, perms, func(o *server.Options) { o.JetStreamDomain = "hub" })
	save := func(name, password string) {
		nctx, err := natscontext.New(name, false, natscontext.WithServerURL(ns.ClientURL()), natscontext.WithUser("bridge"),
			natscontext.WithPassword(password), natscontext.WithJSDomain("hub"), natscontext.WithInboxPrefix("_INBOX"))
		if err != nil {
			t.Fatal(err)
		}
		if err := nctx.Save(name); err != nil {
			t.Fatal(err)
		}
	}
	save("right", "bridge-pw")
	save("stale", "an-old-password")
	if err := natscontext.SelectContext("stale"); err != nil {
		t.Fatal(err)
	}
	k := testkit.NewKonnect(t)

	cases := map[string]struct {
		env     map[string]string
		context string
	}{
		"named":                      {env: map[string]string{"NATS_CONTEXT": "right"}, context: "right"},
		"selected, password overrid": {env: map[string]string{"NATS_PASSWORD": "bridge-pw"}, context: "stale"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := loadWith(t, c.env)
			if cfg.NATS.Context != c.context || cfg.Embedded() || cfg.NATS.URL != ns.ClientURL() || cfg.NATS.JSDomain != "hub" {
				t.Fatalf("loaded context %q, dev mode %v, URL %q, domain %q", cfg.NATS.Context, cfg.Embedded(), cfg.NATS.URL, cfg.NATS.JSDomain)
			}
			fast := testkit.Config(cfg.NATS.URL, k.URL)
			fast.NATS = cfg.NATS
			b := testkit.StartBridge(t, fast)
			id := "context-" + c.context
			testkit.Publish(t, js, "agent.runs.acme", run(id).JSON())
			testkit.Eventually(t, wait, func() bool { return k.IDs()["acme-platform/"+id] }, "the event was not delivered")
			b.Stop(t)
		})
	}
}
