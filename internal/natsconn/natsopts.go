package natsconn

import (
	"fmt"

	"github.com/nats-io/jsm.go/natscontext"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// authOptions authenticate and secure the connection. With a natscli
// context (n.Context), natscli's own implementation turns the context into
// options (credentials, nkey, user JWT, token, user and password, TLS
// files, inbox prefix, TLS first, SOCKS proxy) with the bridge's settings
// over the same fields; without one, the bridge's settings alone.
func authOptions(n config.NATS) ([]nats.Option, error) {
	if n.Context != "" {
		nctx, err := natscontext.New(n.Context, true,
			natscontext.WithServerURL(n.URL),
			natscontext.WithCreds(n.Creds), natscontext.WithNKey(n.NKey),
			natscontext.WithToken(n.Token.Reveal()),
			natscontext.WithUser(n.User), natscontext.WithPassword(n.Password.Reveal()),
			natscontext.WithCA(n.CA), natscontext.WithCertificate(n.Cert), natscontext.WithKey(n.Key))
		if err != nil {
			return nil, fmt.Errorf("NATS_CONTEXT %s: %w", n.Context, err)
		}
		opts, err := nctx.NATSOptions()
		if err != nil {
			return nil, fmt.Errorf("NATS_CONTEXT %s: %w", n.Context, err)
		}
		return opts, nil
	}
	var opts []nats.Option
	if n.Creds != "" {
		opts = append(opts, nats.UserCredentials(n.Creds))
	}
	if n.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(n.NKey)
		if err != nil {
			return nil, fmt.Errorf("NATS_NKEY %s: %w", n.NKey, err)
		}
		opts = append(opts, o)
	}
	if n.Token != "" {
		opts = append(opts, nats.Token(n.Token.Reveal()))
	}
	if n.User != "" {
		opts = append(opts, nats.UserInfo(n.User, n.Password.Reveal()))
	}
	if n.CA != "" {
		opts = append(opts, nats.RootCAs(n.CA))
	}
	if n.Cert != "" {
		opts = append(opts, nats.ClientCert(n.Cert, n.Key))
	}
	return opts, nil
}

// OpenJetStream opens the JetStream API where n says it is answered: in
// the JetStream domain NATS_JS_DOMAIN, under the API prefix
// NATS_JS_API_PREFIX, or in the account's own.
func OpenJetStream(nc *nats.Conn, n config.NATS) (jetstream.JetStream, error) {
	switch {
	case n.JSDomain != "":
		return jetstream.NewWithDomain(nc, n.JSDomain)
	case n.JSAPIPrefix != "":
		return jetstream.NewWithAPIPrefix(nc, n.JSAPIPrefix)
	}
	return jetstream.New(nc)
}
