package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// permissionsFlags prints the least NATS permissions the bridge's user
// needs with the settings given (names, bind-only, core NATS, JetStream
// domain), as a nats-server user block, and what producers must not have.
func permissionsFlags(*flag.FlagSet) action {
	return func(_ context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		b := cfg.Bridge
		fmt.Fprintf(stdout, "# The bridge's NATS user (stream %s, consumer %s, dead letters %s on %s.>, state %s):\n", b.Stream, cfg.ReadingConsumer(), b.DLQStream, b.DLQSubject, b.StateBucket)
		fmt.Fprint(stdout, natsconn.NeededPermissions(cfg, "$SRV.>").ServerConfig())
		fmt.Fprintf(stdout, "# Producers: publish on their own subjects only. Never %s.> (a forged dead letter), $KV.%s.> (a forged ack floor or dead-letter key) or $JS.API.> (which reads and writes any stream and bucket).\n", b.DLQSubject, b.StateBucket)
		return nil
	}
}
