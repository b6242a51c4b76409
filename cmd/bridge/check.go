package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
)

// checkFlags: `bridge check` validates the configuration and what it points
// at, printing what is right and what to fix.
func checkFlags(*flag.FlagSet) action {
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		failed := runChecks(ctx, cfg, stdout)
		if failed > 0 {
			return fmt.Errorf("%d check(s) failed", failed)
		}
		fmt.Fprintln(stdout, "all checks passed")
		return nil
	}
}

func runChecks(ctx context.Context, cfg config.Config, w io.Writer) (failed int) {
	ok := func(format string, a ...any) { fmt.Fprintf(w, "ok    "+format+"\n", a...) }
	bad := func(format string, a ...any) { failed++; fmt.Fprintf(w, "FAIL  "+format+"\n", a...) }
	warn := func(format string, a ...any) { fmt.Fprintf(w, "WARN  "+format+"\n", a...) }

	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			bad("config: %s", line)
		}
	} else {
		ok("configuration is valid")
		ok("%s", timeBounds(cfg))
		checkMapping(cfg, ok, bad)
	}

	if cfg.Embedded() {
		ok("NATS_URL is empty: dev mode runs an embedded NATS server on %s", cfg.NATS.EmbeddedAddr)
	} else {
		checkNATS(ctx, cfg, ok, warn, bad)
	}

	if cfg.Target() == config.TargetSandbox {
		ok("%s (no KONNECT_TOKEN)", cfg.Reading())
	} else {
		checkKonnect(ctx, cfg, ok, bad)
	}
	checkBilling(ctx, cfg, w, ok, bad)
	return failed
}

// checkMapping compiles BRIDGE_MAPPING, as the bridge does at start, and
// names its rules' subjects.
func checkMapping(cfg config.Config, ok, bad func(string, ...any)) {
	if cfg.Bridge.Mapping == "" {
		return
	}
	m, err := mapping.Load(cfg.Bridge.Mapping)
	if err != nil {
		bad("%v", err)
		return
	}
	ok("mapping %s: %d rule(s), on %s; other messages are read as CloudEvents", m.File(), len(m.Subjects()), strings.Join(m.Subjects(), ", "))
}

func checkNATS(ctx context.Context, cfg config.Config, ok, warn, bad func(string, ...any)) {
	nc, js, err := openNATS(ctx, cfg)
	if err != nil {
		bad("%v", err)
		return
	}
	defer nc.Close()
	ok("NATS reachable at %s", config.RedactURL(nc.ConnectedUrl()))
	cctx, cancel := context.WithTimeout(ctx, natsWait)
	defer cancel()
	acct, err := js.AccountInfo(cctx)
	if err != nil {
		bad("JetStream is not available to this NATS user (%v): enable JetStream on the server (-js) and for the account", err)
		return
	}
	ok("JetStream enabled: %d stream(s), %d consumer(s) in this account", acct.Streams, acct.Consumers)
	s, err := js.Stream(cctx, cfg.Bridge.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		ok("stream %s is missing; the bridge creates it over %s at start", cfg.Bridge.Stream, cfg.Bridge.Subject)
	case err != nil:
		bad("stream %s: %v (is JetStream enabled, and may this user read it?)", cfg.Bridge.Stream, err)
		return
	default:
		subjects := s.CachedInfo().Config.Subjects
		covered := false
		for _, subj := range subjects {
			covered = covered || config.SubjectCovers(subj, cfg.Bridge.Subject)
		}
		if covered {
			ok("stream %s exists over %v with %d message(s)", cfg.Bridge.Stream, subjects, s.CachedInfo().State.Msgs)
		} else {
			bad("stream %s captures %v, not BRIDGE_SUBJECT %s: change BRIDGE_SUBJECT or the stream's subjects", cfg.Bridge.Stream, subjects, cfg.Bridge.Subject)
		}
		if d := consume.Durability(s.CachedInfo().Config); d.OK {
			ok("%s", d.Says)
		} else {
			warn("%s", d.Says)
		}
		if c, err := s.Consumer(cctx, cfg.Bridge.Consumer); err == nil {
			ok("consumer %s exists: %d pending, %d awaiting ack", cfg.Bridge.Consumer, c.CachedInfo().NumPending, c.CachedInfo().NumAckPending)
		} else {
			ok("consumer %s is missing; the bridge creates it at start", cfg.Bridge.Consumer)
		}
	}
	if d, err := js.Stream(cctx, cfg.Bridge.DLQStream); err == nil {
		ok("dead-letter stream %s holds %d dead letter(s); see `bridge dlq list`", cfg.Bridge.DLQStream, d.CachedInfo().State.Msgs)
	} else {
		ok("dead-letter stream %s is missing; the bridge creates it over %s at start", cfg.Bridge.DLQStream, cfg.Bridge.DLQSubject)
	}
}

// checkKonnect sends the publisher's probe, an empty batch that ingests
// nothing, and reads the answer by publish's one classification.
func checkKonnect(ctx context.Context, cfg config.Config, ok, bad func(string, ...any)) {
	url := config.RedactURL(cfg.Konnect.URL)
	c := publish.NewClient(cfg.Konnect.URL, cfg.Konnect.Token.Reveal(), cfg.Konnect.Timeout, cfg.Konnect.ConnectTimeout, 1)
	o := c.Probe(ctx)
	switch {
	case o.TakesAuth():
		ok("Konnect at %s is reachable and accepts the token (it answered %d to an empty batch, which ingests nothing)", url, o.Status)
	case o.Verdict == publish.Outage:
		bad("Konnect at %s: %s", url, o.Reason)
	case o.Status == 0:
		bad("Konnect at %s is not reachable: %s", url, o.Reason)
	default:
		bad("Konnect at %s answered %d: try again later (%s)", url, o.Status, o.Reason)
	}
}

// timeBounds says what the bridge does with events timed out of bounds. The
// running bridge counts them (status page, events_time_out_of_bounds_total).
func timeBounds(cfg config.Config) string {
	what := "delivered and counted"
	if cfg.Bridge.TimePolicy == "deadletter" {
		what = "dead-lettered as out_of_time"
	}
	return fmt.Sprintf("events timed more than BRIDGE_MAX_FUTURE=%s ahead of the bridge's clock, or before their customer's current billing period (the calendar month, UTC), are %s (BRIDGE_TIME_POLICY=%s)",
		cfg.Bridge.MaxFuture, what, cfg.Bridge.TimePolicy)
}
