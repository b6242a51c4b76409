package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// reconcileFlags: `bridge reconcile` compares the stream's events in a
// window with what Konnect stored, and fails when any delivered event
// will not be invoiced.
func reconcileFlags(fs *flag.FlagSet) action {
	since := fs.String("since", "1h", "start of the window: a duration before now, an RFC 3339 time or a date")
	until := fs.String("until", "", "end of the window, in the same forms (default: now)")
	// --subject is BRIDGE_SUBJECT (the NATS subjects); like emit, this
	// command calls the event's subject the customer.
	subject := fs.String("customer", "", "only the events whose subject (the customer billed) is this")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		now := time.Now().UTC()
		var w billing.Window
		var err error
		if w.From, err = parseWhen("since", *since, now); err != nil {
			return err
		}
		if *until != "" {
			if w.Until, err = parseWhen("until", *until, now); err != nil {
				return err
			}
		}
		nc, js, err := openNATS(ctx, cfg)
		if err != nil {
			return err
		}
		defer nc.Close()
		st, err := billing.StreamOf(js, cfg)
		if err != nil {
			return err
		}
		rc := billing.Reconciler{
			Client:     billingClient(cfg),
			Stream:     st,
			AckFloor:   ackFloor(ctx, js, cfg),
			Progress:   progressLine(os.Stderr),
			DeadLetter: deadLetterLookup(ctx, js, cfg),
		}
		r, err := rc.Run(ctx, w, *subject)
		if rc.Progress != nil {
			fmt.Fprint(os.Stderr, "\r\033[K")
		}
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else {
			printReconciliation(stdout, r)
		}
		if !r.OK() {
			return fmt.Errorf("%s missing from Konnect, %s refused by Konnect, %s with validation errors, %s without a customer",
				plural(r.Missing.Count, "event"), plural(r.Refused.Count, "event"), plural(r.Invalid.Count, "event"), plural(r.Unattributed.Count, "event"))
		}
		return nil
	}
}

// ackFloor is the durable consumer's ack floor; 0 when it does not exist
// (nothing was delivered through it).
func ackFloor(ctx context.Context, js jetstream.JetStream, cfg config.Config) uint64 {
	c, err := js.Consumer(ctx, cfg.Bridge.Stream, cfg.Bridge.Consumer)
	if err != nil {
		return 0
	}
	return c.CachedInfo().AckFloor.Stream
}

// deadLetterLookup finds the dead letter of a stream message's event in
// BRIDGE_DLQ_STREAM; nil when either stream cannot be read, so that
// reconcile still runs, counting such events as missing.
func deadLetterLookup(ctx context.Context, js jetstream.JetStream, cfg config.Config) func(context.Context, uint64, int) (string, bool, error) {
	s, err := js.Stream(ctx, cfg.Bridge.Stream)
	if err != nil {
		return nil
	}
	if _, err := js.Stream(ctx, cfg.Bridge.DLQStream); err != nil {
		return nil
	}
	dlq := deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New(), nil)
	streamID := consume.StreamIdentity(s.CachedInfo())
	return func(ctx context.Context, seq uint64, index int) (string, bool, error) {
		st, found, err := dlq.LetterOf(ctx, streamID, seq, index)
		switch st.Auth {
		case deadletter.Forged, deadletter.OtherKey:
			// Not the bridge's: the event was not dead-lettered by it, so
			// a delivered event that Konnect lacks stays "missing".
			return "", false, err
		case deadletter.Genuine:
			return st.Kind + ": " + st.Reason, found, err
		}
		return st.Kind + ": " + st.Reason + " (" + st.Authenticity() + ")", found, err
	}
}

// progressLine rewrites one line on a terminal as events are read; it is
// nil (no progress) when w is not a terminal.
func progressLine(w *os.File) func(int) {
	if !isatty.IsTerminal(w.Fd()) {
		return nil
	}
	return func(events int) { fmt.Fprintf(w, "\rread %d event(s)…", events) }
}

func printReconciliation(w io.Writer, r billing.Reconciliation) {
	win := billing.Window{From: r.From}
	if r.Until != nil {
		win.Until = *r.Until
	}
	who := ""
	if r.Subject != "" {
		who = ", subject " + r.Subject
	}
	fmt.Fprintf(w, "stream %s, %s%s: %s\n", r.Stream, win, who, plural(r.Events, "event"))
	printOutcomes(w, []outcomeLine{
		{"stored, valid and attributed to a customer", "", r.Stored},
		{"missing from Konnect", "delivered, yet neither stored by Konnect nor dead-lettered: check the bridge's log and Konnect's status at their time", r.Missing},
		{"refused by Konnect", "delivered, refused and dead-lettered: see `bridge dlq list`, fix the cause, then `bridge dlq replay`", r.Refused},
		{"stored with validation errors", "no meter will count them: fix the meter or the events", r.Invalid},
		{"stored without a customer", "no invoice will show them: create a customer with their subject as its key or a subject key", r.Unattributed},
		{"not delivered yet", "the bridge has not acknowledged them yet: run again later", r.Pending},
		{"dead-lettered before delivery", "see `bridge dlq list`", r.Undeliverable},
		{"sent again with the same source and id", "", r.Duplicates},
	})
	if r.OK() {
		fmt.Fprintln(w, "every delivered event is stored and attributed to a customer")
	}
}

// outcomeLine is a count of events with what it means to the user.
type outcomeLine struct {
	label, hint string
	o           billing.Outcome
}

// printOutcomes prints each count; for one that is not zero, its hint and
// its examples.
func printOutcomes(w io.Writer, lines []outcomeLine) {
	for _, l := range lines {
		fmt.Fprintf(w, "  %-45s %d\n", l.label, l.o.Count)
		if l.o.Count == 0 || l.hint == "" {
			continue
		}
		fmt.Fprintf(w, "      %s\n", termsafe.String(l.hint))
		for _, x := range l.o.Examples {
			fmt.Fprintf(w, "      e.g. id=%q source=%q subject=%q time=%s seq=%d %s\n", x.ID, x.Source, x.Subject, x.Time.UTC().Format(time.RFC3339), x.Sequence, termsafe.String(x.Detail))
		}
	}
}
