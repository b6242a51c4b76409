package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

func runFlags(fs *flag.FlagSet) action {
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		log := newLogger(cfg, os.Stderr)
		bridge.LimitMemory(cfg, log)
		traced, stopTracing, err := startTracing(ctx, log)
		if err != nil {
			return err
		}
		defer stopTracing()
		return bridge.Run(ctx, cfg, log, func(st bridge.Started) { banner(log, cfg, st) }, traced)
	}
}

// newLogger writes JSON lines, or human-readable lines on a terminal,
// never with a secret of cfg in them.
func newLogger(cfg config.Config, w io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(cfg.Bridge.LogLevel)
	human := cfg.Bridge.LogFormat == "console"
	if cfg.Bridge.LogFormat == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			human = true
		}
	}
	w = cfg.Scrubber().Writer(w)
	if human {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// banner says what the bridge runs on, and which defaults are in use. URLs
// show without their credentials.
func banner(log zerolog.Logger, cfg config.Config, st bridge.Started) {
	v := metrics.Build()
	natsURL := config.RedactURL(st.NATSURL)
	log.Info().Str("version", v.Version).Str("nats", natsURL).Str("stream", cfg.Bridge.Stream).
		Str("consumer", cfg.ReadingConsumer()).Str("konnect", config.RedactURL(st.IngestURL)).Bool("konnect_token", cfg.Konnect.Token != "").
		Str("admin", "http://"+st.AdminAddr).Msg("konnect-bridge started")
	var notes []string
	if cfg.NATS.Context != "" {
		notes = append(notes, fmt.Sprintf("NATS from the natscli context %q (NATS_CONTEXT, or the one `nats context select` chose)", cfg.NATS.Context))
	}
	if cfg.Embedded() {
		notes = append(notes, fmt.Sprintf("dev mode: embedded NATS with JetStream at %s (data in %s/); set NATS_URL to use your own server", natsURL, cfg.NATS.DataDir))
	}
	if st.Sandbox != nil {
		notes = append(notes,
			cfg.Reading()+"; set KONNECT_TOKEN (and KONNECT_REGION) to bill for real",
			fmt.Sprintf("usage so far: http://%s/sandbox/usage   events: http://%s/sandbox/events   status: http://%s/", st.AdminAddr, st.AdminAddr, st.AdminAddr),
			"publish the guide's three runs: go run ./cmd/bridge emit --guide")
	}
	for _, n := range notes {
		log.Info().Msg(n)
	}
	if len(notes) > 0 {
		log.Debug().Str("defaults", strings.Join(notes, "; ")).Msg("banner")
	}
}
