package natsconn_test

import (
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
	"github.com/nats-io/nats.go"
)

// The JetStream API is asked where NATS_JS_DOMAIN or NATS_JS_API_PREFIX
// say it is answered.
func TestOpenJetStreamUsesTheDomainOrPrefix(t *testing.T) {
	ns := testkit.NATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cases := map[string]struct {
		n                      config.NATS
		wantDomain, wantPrefix string
	}{
		"account's own": {config.NATS{}, "", ""},
		"domain":        {config.NATS{JSDomain: "hub"}, "hub", ""},
		"api prefix":    {config.NATS{JSAPIPrefix: "JS.acme.API"}, "", "JS.acme.API"},
	}
	for name, c := range cases {
		js, err := natsconn.OpenJetStream(nc, c.n)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o := js.Options(); o.Domain != c.wantDomain || o.APIPrefix != c.wantPrefix {
			t.Errorf("%s: domain %q, API prefix %q; want %q, %q", name, o.Domain, o.APIPrefix, c.wantDomain, c.wantPrefix)
		}
	}
}
