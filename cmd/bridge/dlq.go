package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// dlqFlags: `bridge dlq list` prints the dead letters with their reasons;
// `bridge dlq replay` sends them back the way they came (after the producer
// or the configuration was fixed). Both take the same filters. Flags go
// before or after the action word (run moves the word after them).
func dlqFlags(fs *flag.FlagSet) action {
	seq := fs.Uint64("seq", 0, "only the dead letter with this sequence")
	kind := fs.String("kind", "", "only dead letters of this kind (invalid, undecodable, fenced, rejected, too_large, too_many_events, too_many_bad_events, out_of_time, unmappable)")
	subject := fs.String("original-subject", "", "only dead letters first published on subjects this pattern matches (wildcards allowed)")
	since := fs.String("since", "", "only dead letters stored since then: a duration back from now (1h), an RFC 3339 time or a date")
	dryRun := fs.Bool("dry-run", false, "replay: say what would be sent, send and remove nothing")
	timeout := fs.Duration("timeout", 90*time.Second, "replay: how long to wait for a bridge to answer a dead letter from core NATS")
	showData := fs.Bool("data", false, "list: print each payload too")
	unverified := fs.Bool("unverified", false, "replay: also replay dead letters the bridge did not seal (forged, or stored before seals); the fence still applies")
	return func(ctx context.Context, cfg config.Config, fs *flag.FlagSet, stdout io.Writer) error {
		action := fs.Arg(0)
		if fs.NArg() != 1 || (action != "list" && action != "replay") {
			return fmt.Errorf(`say "dlq list" or "dlq replay [--seq N]": one action, with flags on either side of it (not understood: %q)`, strings.Join(fs.Args(), " "))
		}
		f := deadletter.Filter{Seq: *seq, Kind: *kind, Subject: *subject}
		if *since != "" {
			t, err := parseWhen("since", *since, time.Now())
			if err != nil {
				return err
			}
			f.Since = t
		}
		nc, js, err := openNATS(ctx, cfg)
		if err != nil {
			return err
		}
		defer nc.Close()
		dlq := deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New(), nil)
		if action == "replay" {
			rule, err := cfg.Fence.Rule()
			if err != nil {
				return err
			}
			o := deadletter.ReplayOptions{Stream: cfg.Bridge.Stream, Timeout: *timeout, DryRun: *dryRun, Unverified: *unverified, Fence: rule}
			n, err := dlq.Replay(ctx, f, o, func(s deadletter.Stored, what string) {
				// What is said holds producers' subjects and reasons.
				fmt.Fprintf(stdout, "%d\t%s\n", s.Seq, termsafe.String(what))
			})
			fmt.Fprintf(stdout, "%s\n", n)
			return err
		}
		n, err := listDeadLetters(ctx, dlq, f, *showData, cfg.Bridge.DLQStream, stdout)
		if err == nil && n > 0 {
			periodsAtRisk(ctx, cfg, js, dlq, f, stdout)
		}
		return err
	}
}

// periodsAtRisk prints a line per customer and service period whose
// invoice the dead letters f picks miss, or will miss within
// BRIDGE_PERIOD_CLOSE_WARNING, as the running bridge's billing check says
// it; one line when Konnect's read API cannot say.
func periodsAtRisk(ctx context.Context, cfg config.Config, js jetstream.JetStream, dlq *deadletter.DeadLetters, f deadletter.Filter, stdout io.Writer) {
	st, err := billing.StreamOf(js, cfg)
	if err != nil {
		return // check says what is wrong with the fence
	}
	u := billing.Undelivered{Stream: st, Letters: dlq, Filter: f, Limit: billing.ScanLimit}
	found, cannot := u.PeriodClose(ctx, billingClient(cfg), cfg.Billing.PeriodCloseWarning, cfg.Billing.MaxSubjects)
	for _, p := range found {
		// Customer keys and subjects come from Konnect and producers.
		fmt.Fprintf(stdout, "%s: %s\n", strings.ReplaceAll(p.Kind, "_", " "), termsafe.String(p.Fix))
	}
	for _, c := range cannot {
		fmt.Fprintf(stdout, "period cutoff not checked: %s\n", termsafe.String(c))
	}
}

// listDeadLetters prints the dead letters f picks, a page at a time, and
// says how many there were.
func listDeadLetters(ctx context.Context, dlq *deadletter.DeadLetters, f deadletter.Filter, showData bool, stream string, stdout io.Writer) (int, error) {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tSUBJECT\tKIND\tSTATUS\tSEAL\tREASON")
	n, foreign, unchecked := 0, 0, ""
	err := dlq.Each(ctx, f, func(s deadletter.Stored) error {
		n++
		status := "-"
		if s.Status != 0 {
			status = strconv.Itoa(s.Status)
		}
		// Subject, kind, reason and payload come from producers (or from
		// whoever wrote on the dead-letter subjects): shown, never obeyed.
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Seq, s.Time.UTC().Format(time.RFC3339),
			termsafe.String(s.Subject), termsafe.String(string(s.Kind)), status, sealColumn(s), termsafe.String(s.Reason))
		switch s.Auth {
		case deadletter.Genuine:
		case deadletter.Unchecked:
			unchecked = s.AuthNote
		default:
			foreign++
		}
		if showData {
			fmt.Fprintf(w, "\t\t\t\t\t\t%s\n", termsafe.Bytes(s.Data))
		}
		if n%100 == 0 {
			return w.Flush()
		}
		return nil
	})
	w.Flush()
	fmt.Fprintf(stdout, "%d dead letter(s) in %s\n", n, stream)
	if unchecked != "" {
		fmt.Fprintf(stdout, "seals not checked: %s\n", unchecked)
	}
	if foreign > 0 {
		fmt.Fprintf(stdout, "not sealed by the bridge: %d of them (SEAL column), which replay refuses unless --unverified; keep producers off BRIDGE_DLQ_SUBJECT.> (bridge permissions)\n", foreign)
	}
	return n, err
}

// sealColumn is who wrote a dead letter, in a word.
func sealColumn(s deadletter.Stored) string {
	switch s.Auth {
	case deadletter.Genuine:
		return "ok"
	case deadletter.Unchecked:
		return "unchecked"
	}
	return strings.ToUpper(string(s.Auth))
}
