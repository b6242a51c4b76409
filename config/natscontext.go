package config

import (
	"errors"
	"fmt"

	"github.com/nats-io/jsm.go/natscontext"
)

// applyContext starts the NATS settings from a natscli context: the one
// NATS_CONTEXT names, else the one `nats context select` chose (in
// $XDG_CONFIG_HOME/nats, or ~/.config/nats), if any. The context's URL and
// JetStream domain or API prefix fill what the bridge's own settings left
// empty; its credentials and TLS files are applied when connecting, under
// the bridge's settings (internal/natsconn). Reading the files is left to
// natscli's own implementation, so that every context natscli writes works.
func applyContext(c *Config) error {
	name := c.NATS.Context
	if name == "" {
		name = natscontext.SelectedContext()
		if name == "" {
			return nil
		}
	}
	nctx, err := natscontext.New(name, true)
	if err != nil {
		return fmt.Errorf("NATS_CONTEXT %q cannot be loaded: %v; `nats context ls` lists the contexts (in $XDG_CONFIG_HOME/nats/context or ~/.config/nats/context)", name, err)
	}
	c.NATS.Context = name
	// Its secrets are applied when connecting; the scrubber must know them.
	c.contextSecrets = [3]Secret{Secret(nctx.Password()), Secret(nctx.Token()), Secret(nctx.UserSeed())}
	if c.NATS.URL == "" {
		c.NATS.URL = nctx.ServerURL()
	}
	if c.NATS.JSDomain == "" && c.NATS.JSAPIPrefix == "" {
		c.NATS.JSDomain, c.NATS.JSAPIPrefix = nctx.JSDomain(), nctx.JSAPIPrefix()
	}
	return nil
}

// checkJetStreamAPI checks the settings that say where the JetStream API
// is and what the bridge may do there.
func checkJetStreamAPI(c Config) error {
	var errs []error
	if c.NATS.JSDomain != "" && c.NATS.JSAPIPrefix != "" {
		errs = append(errs, errors.New("NATS_JS_DOMAIN and NATS_JS_API_PREFIX are alternatives (a domain is the prefix $JS.<domain>.API): set only one"))
	}
	if c.Bridge.BindOnly && c.Embedded() {
		errs = append(errs, errors.New("BRIDGE_BIND_ONLY is set but NATS_URL is empty: dev mode's embedded server has no stream to bind to; set NATS_URL (or NATS_CONTEXT), or unset BRIDGE_BIND_ONLY"))
	}
	return errors.Join(errs...)
}
