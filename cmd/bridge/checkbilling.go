package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// checkBilling is the billing preflight of `bridge check`: the events of
// the last hour against Konnect's meters and customers. Findings fail the
// check; what cannot be checked (a token that may only ingest) is a
// warning, since delivery does not need it.
func checkBilling(ctx context.Context, cfg config.Config, w io.Writer, ok, bad func(string, ...any)) {
	if cfg.Embedded() {
		conn, err := net.DialTimeout("tcp", cfg.NATS.EmbeddedAddr, time.Second)
		if err != nil {
			ok("billing: start the bridge (dev mode) to check its sandbox's meters and customers against the events")
			return
		}
		conn.Close()
	}
	var js jetstream.JetStream
	if nc, j, err := openNATS(ctx, cfg); err == nil {
		defer nc.Close()
		js = j
	}
	st, _ := billing.StreamOf(js, cfg) // check has already said what is wrong with the fence
	p := billing.Preflight{Client: billingClient(cfg), Stream: st, Warning: cfg.Billing.PeriodCloseWarning}
	if js != nil {
		letters := deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New(), nil)
		p.Undelivered = &billing.Undelivered{Stream: st, Consumer: cfg.ReadingConsumer(), Letters: letters, Limit: billing.ScanLimit}
	}
	r := p.Check(ctx, billing.NewSeen(cfg.Billing.MaxSubjects), billing.Window{From: time.Now().Add(-billing.Recent)}, billing.ScanLimit)
	for _, c := range r.CannotCheck {
		fmt.Fprintf(w, "warn  billing: %s\n", termsafe.String(fmt.Sprint(c)))
	}
	for _, f := range r.Findings {
		bad("billing: %s", describe(f))
	}
	if len(r.Findings) == 0 {
		ok("billing: %s in the last hour; every event type has a meter, every subject a customer, every event a subscription at its time, and no undelivered event misses its period's cutoff (as far as could be read)", plural(r.Events, "event"))
	}
}

// describe says what a finding is and how to fix it.
func describe(f billing.Finding) string {
	since := ""
	if !f.Since.IsZero() {
		since = " since " + f.Since.UTC().Format(time.RFC3339)
	}
	switch f.Kind {
	case billing.UnmeteredType:
		return fmt.Sprintf("no meter counts event type %s (%s%s): %s", f.Type, plural(f.Events, "event"), since, f.Fix)
	case billing.UnattributedSubject:
		return fmt.Sprintf("subject %s maps to no customer (%s%s): %s", f.Subject, plural(f.Events, "event"), since, f.Fix)
	case billing.PeriodClosing, billing.PeriodMissed:
		return "period cutoff: " + f.Fix
	case billing.NoSubscription, billing.BeforeSubscription, billing.AfterSubscription, billing.NotPriced:
		return fmt.Sprintf("not invoiced: %s of subject %s timed %s .. %s, e.g. id %s: %s", plural(f.Events, "event"), f.Subject,
			f.Since.UTC().Format(time.RFC3339), f.Until.UTC().Format(time.RFC3339), f.Example, f.Fix)
	default:
		return fmt.Sprintf("meter %s: %s (%s, e.g. id %s)", f.Meter, f.Fix, plural(f.Events, "event"), f.Example)
	}
}
