package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// natsWait is how long a command waits for NATS to answer.
var natsWait = 10 * time.Second

// openNATS connects a command to NATS_URL, or in dev mode to the embedded
// server a running bridge serves, waits until it is connected and opens
// JetStream. Its errors show the URL without credentials. The caller
// closes the connection.
func openNATS(ctx context.Context, cfg config.Config) (*nats.Conn, jetstream.JetStream, error) {
	url := cfg.NATS.URL
	if url == "" {
		url = "nats://" + cfg.NATS.EmbeddedAddr
	}
	shown := config.RedactURL(url)
	wctx, cancel := context.WithTimeout(ctx, natsWait)
	defer cancel()
	nc, err := natsconn.Connect(wctx, url, cfg.NATS, zerolog.Nop(), nil)
	var u *natsconn.Unreachable
	switch {
	case errors.As(err, &u):
		return nil, nil, fmt.Errorf("%s (tried for %s)", redactURLs(u.Error(), url), natsWait)
	case err != nil:
		return nil, nil, fmt.Errorf("NATS at %s: %s", shown, redactURLs(err.Error(), url))
	}
	js, err := natsconn.OpenJetStream(nc, cfg.NATS)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream at %s: %s", shown, redactURLs(err.Error(), url))
	}
	return nc, js, nil
}

// redactURLs replaces every URL of list (and the user information of each)
// in text by what RedactURL shows of it.
func redactURLs(text, list string) string {
	text = strings.ReplaceAll(text, list, config.RedactURL(list))
	for _, u := range strings.Split(list, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		text = strings.ReplaceAll(text, u, config.RedactURL(u))
		rest := u
		if _, r, ok := strings.Cut(u, "://"); ok {
			rest = r
		}
		if at := strings.LastIndex(rest, "@"); at > 0 {
			text = strings.ReplaceAll(text, rest[:at], "redacted")
		}
	}
	return text
}
