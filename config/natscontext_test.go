package config_test

import (
	"strings"
	"testing"

	"github.com/nats-io/jsm.go/natscontext"
)

// saveContext saves a natscli context as `nats context save` does, in a
// configuration directory of the test's own.
func saveContext(t *testing.T, name string, opts ...natscontext.Option) {
	t.Helper()
	nctx, err := natscontext.New(name, false, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := nctx.Save(name); err != nil {
		t.Fatal(err)
	}
}

func TestNATSContextIsASourceBelowTheBridgeSettings(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	// No context saved or selected: dev mode as before.
	if cfg, _, err := load(t, nil, nil); err != nil || !cfg.Embedded() || cfg.NATS.Context != "" {
		t.Fatalf("no context: dev mode %v, context %q, err %v", cfg.Embedded(), cfg.NATS.Context, err)
	}
	saveContext(t, "prod", natscontext.WithServerURL("nats://prod.invalid:4222"), natscontext.WithJSDomain("hub"))
	saveContext(t, "edge", natscontext.WithServerURL("nats://edge.invalid:4222"), natscontext.WithJSAPIPrefix("JS.edge.API"))
	if err := natscontext.SelectContext("prod"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		env                          map[string]string
		context, url, domain, prefix string
	}{
		"the selected context":            {env: nil, context: "prod", url: "nats://prod.invalid:4222", domain: "hub"},
		"a named context":                 {env: map[string]string{"NATS_CONTEXT": "edge"}, context: "edge", url: "nats://edge.invalid:4222", prefix: "JS.edge.API"},
		"NATS_URL over the context":       {env: map[string]string{"NATS_URL": "nats://other.invalid:4222"}, context: "prod", url: "nats://other.invalid:4222", domain: "hub"},
		"NATS_JS_DOMAIN over the context": {env: map[string]string{"NATS_CONTEXT": "edge", "NATS_JS_DOMAIN": "leaf"}, context: "edge", url: "nats://edge.invalid:4222", domain: "leaf"},
	}
	for name, tt := range tests {
		cfg, _, err := load(t, nil, tt.env)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n := cfg.NATS
		if n.Context != tt.context || n.URL != tt.url || n.JSDomain != tt.domain || n.JSAPIPrefix != tt.prefix || cfg.Embedded() {
			t.Errorf("%s: context %q, URL %q, domain %q, prefix %q, dev mode %v", name, n.Context, n.URL, n.JSDomain, n.JSAPIPrefix, cfg.Embedded())
		}
	}
	if _, _, err := load(t, nil, map[string]string{"NATS_CONTEXT": "staging"}); err == nil || !strings.Contains(err.Error(), `NATS_CONTEXT "staging"`) || !strings.Contains(err.Error(), "nats context ls") {
		t.Errorf("unknown context: %v, want an error naming NATS_CONTEXT and how to list contexts", err)
	}
}

func TestJetStreamAPISettingsAreChecked(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	tests := map[string]struct {
		env  map[string]string
		want string
	}{
		"domain and prefix":     {env: with(production(), "NATS_JS_DOMAIN", "hub", "NATS_JS_API_PREFIX", "JS.x.API"), want: "NATS_JS_DOMAIN and NATS_JS_API_PREFIX are alternatives"},
		"bind-only in dev mode": {env: map[string]string{"BRIDGE_BIND_ONLY": "true"}, want: "BRIDGE_BIND_ONLY is set but NATS_URL is empty"},
	}
	for name, tt := range tests {
		cfg, _, err := load(t, nil, tt.env)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
	if cfg, _, _ := load(t, nil, with(production(), "BRIDGE_BIND_ONLY", "true", "NATS_JS_DOMAIN", "hub")); cfg.Validate() != nil {
		t.Errorf("bind-only with a domain: %v", cfg.Validate())
	}
}

// The context's own password and token are applied when connecting; they
// are scrubbed from text like the bridge's own secrets.
func TestNATSContextSecretsAreScrubbed(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	saveContext(t, "ops", natscontext.WithServerURL("nats://ops.invalid:4222"),
		natscontext.WithUser("bridge"), natscontext.WithPassword("s3cret-pass"), natscontext.WithToken("tok-0123456789"))
	cfg, _, err := load(t, nil, map[string]string{"NATS_CONTEXT": "ops"})
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Scrubber().String("nats: authorization violation for s3cret-pass and tok-0123456789")
	if strings.Contains(got, "s3cret-pass") || strings.Contains(got, "tok-0123456789") {
		t.Errorf("the context's secrets reach text: %q", got)
	}
}
