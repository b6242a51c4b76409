package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

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

// banner is the start summary, at most five lines: the build, the mode
// and the admin URL; where events are read; where they are delivered; in
// sandbox mode, how to try it. URLs show without their credentials.
func banner(log zerolog.Logger, cfg config.Config, st bridge.Started) {
	v := metrics.Build()
	admin := "http://" + st.AdminAddr + "/"
	mode := "live"
	if st.Sandbox != nil {
		mode = "sandbox"
	}
	log.Info().Str("version", v.Version).Str("revision", v.Revision).Str("mode", mode).Str("admin", admin).
		Msgf("konnect-bridge %s started in %s mode; status page %s", v.Version, mode, admin)

	natsURL := config.RedactURL(st.NATSURL)
	from := natsURL
	if cfg.Embedded() {
		from += fmt.Sprintf(" (embedded, data in %s/; set NATS_URL to use your own server)", cfg.NATS.DataDir)
	}
	if cfg.NATS.Context != "" {
		from += fmt.Sprintf(" (natscli context %q: NATS_CONTEXT, or the one `nats context select` chose)", cfg.NATS.Context)
	}
	subjects := cfg.Bridge.Subject
	if cfg.Bridge.CoreSubject != "" {
		subjects += ", core NATS " + cfg.Bridge.CoreSubject
	}
	log.Info().Str("nats", natsURL).Str("stream", cfg.Bridge.Stream).Str("consumer", cfg.ReadingConsumer()).Str("subjects", subjects).
		Msgf("reads %s: stream %s, consumer %s, subjects %s", from, cfg.Bridge.Stream, cfg.ReadingConsumer(), subjects)

	konnect := config.RedactURL(st.IngestURL)
	host := konnect
	if u, err := url.Parse(konnect); err == nil && u.Host != "" {
		host = u.Host
	}
	if st.Sandbox != nil {
		log.Info().Str("konnect", konnect).Bool("konnect_token", false).
			Msgf("delivers to %s: %s; set KONNECT_TOKEN (and KONNECT_REGION) to bill for real", host, cfg.Reading())
		log.Info().Msgf("try it: go run ./cmd/bridge emit --guide, then %ssandbox/usage and %ssandbox/events", admin, admin)
		return
	}
	region := cfg.Konnect.Region
	for _, r := range config.Regions {
		if region == "" && config.RegionURL(r) == cfg.Konnect.URL {
			region = r
		}
	}
	where := "Konnect region " + region
	if region == "" {
		where = "KONNECT_URL"
	}
	log.Info().Str("konnect", konnect).Str("region", region).Bool("konnect_token", cfg.Konnect.Token != "").
		Msgf("delivers to %s (%s)", host, where)
}
