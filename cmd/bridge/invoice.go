package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// invoiceFlags: `bridge invoice` is the guide's Preview Invoice from the
// command line: each line of the customer's invoice so far, next to what
// the bridge delivered for it in the same window. It exits 1 when they
// disagree beyond what is in flight, 2 when it cannot tell.
func invoiceFlags(fs *flag.FlagSet) action {
	customer := fs.String("customer", "", "the customer's key or subject key (required)")
	period := fs.String("period", "current", "the service period: current or previous")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		if *customer == "" {
			return cannotTell{errors.New("--customer is missing: name the customer by its key, e.g. --customer acme-inc")}
		}
		if *period != "current" && *period != "previous" {
			return cannotTell{fmt.Errorf("--period %q: use current or previous", *period)}
		}
		inv, err := billingClient(cfg).Invoice(ctx, *customer, billing.Period{At: time.Now(), Previous: *period == "previous"})
		if errors.Is(err, billing.ErrUnavailable) {
			return cannotTell{fmt.Errorf("%w; check KONNECT_URL (or KONNECT_REGION) and Konnect's status, then run again", err)}
		}
		if err != nil {
			return cannotTell{err}
		}
		r, err := delivered(ctx, cfg, inv)
		if err != nil {
			return cannotTell{err}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else {
			printInvoice(stdout, r)
		}
		var off []string
		for _, l := range r.Lines {
			if l.Agrees {
				continue
			}
			why := fmt.Sprintf("see `bridge reconcile --since %s --customer %s` for the events Konnect did not store",
				l.Period.From.UTC().Format(time.RFC3339), termsafe.String(r.Customer.Key))
			if l.Quantity > l.Delivered.Quantity {
				why = "Konnect counts more: events sent by others, or messages the stream no longer holds (its retention)"
			}
			off = append(off, fmt.Sprintf("%s: Konnect counts %s, the bridge delivered %s (%s in flight): %s", termsafe.String(l.Feature),
				formatQuantity(l.Quantity), formatQuantity(l.Delivered.Quantity), formatQuantity(l.Delivered.InFlightQuantity), why))
		}
		if len(off) > 0 {
			return errors.New(strings.Join(off, "; "))
		}
		return nil
	}
}

// invoiceReport is the invoice with, for each line, what the bridge
// delivered in its window.
type invoiceReport struct {
	billing.Invoice
	Lines []invoiceLine `json:"lines"`
}

type invoiceLine struct {
	billing.InvoiceLine
	Delivered billing.Delivered `json:"delivered"`
	Agrees    bool              `json:"agrees"`
}

// delivered reads the stream for each line of inv, as delivery reads it.
func delivered(ctx context.Context, cfg config.Config, inv billing.Invoice) (invoiceReport, error) {
	r := invoiceReport{Invoice: inv}
	nc, js, err := openNATS(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer nc.Close()
	st, err := billing.StreamOf(js, cfg)
	if err != nil {
		return r, err
	}
	ds := billing.Deliveries{Stream: st, AckFloor: ackFloor(ctx, js, cfg)}
	letters := deadLetterLookup(ctx, js, cfg)
	for _, l := range inv.Lines {
		d, err := ds.For(ctx, inv.Customer, inv.Subscription.ActiveFrom, l.Meter, l.Period)
		if err == nil && !d.Agrees(l.Quantity) && letters != nil {
			// Looking up a dead letter per delivered event costs a request
			// each: only a disagreement is worth it (Konnect refused them).
			explained := ds
			explained.DeadLetter = letters
			d, err = explained.For(ctx, inv.Customer, inv.Subscription.ActiveFrom, l.Meter, l.Period)
		}
		if err != nil {
			return r, err
		}
		r.Lines = append(r.Lines, invoiceLine{InvoiceLine: l, Delivered: d, Agrees: d.Agrees(l.Quantity)})
	}
	return r, nil
}

func printInvoice(w io.Writer, r invoiceReport) {
	fmt.Fprintf(w, "customer %s, subscription %s (active from %s)\n", termsafe.String(r.Customer.Key), termsafe.String(r.Subscription.Name),
		r.Subscription.ActiveFrom.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "service period %s, from %s\n", r.Period, r.Source)
	if len(r.Lines) == 0 {
		fmt.Fprintln(w, "no line: the plan prices no metered feature")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "feature\tmeter\tquantity\tamount\tdelivered\tin flight")
	for _, l := range r.Lines {
		amount := "-"
		if l.Amount != "" {
			amount = l.Amount + " " + l.Currency
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termsafe.String(l.Feature), termsafe.String(l.Meter.Key), formatQuantity(l.Quantity), termsafe.String(amount),
			formatQuantity(l.Delivered.Quantity), formatQuantity(l.Delivered.InFlightQuantity))
	}
	_ = tw.Flush()
	for _, l := range r.Lines {
		d := l.Delivered
		feature := termsafe.String(l.Feature)
		if l.Period != r.Period {
			fmt.Fprintf(w, "%s: service period %s\n", feature, l.Period)
		}
		printOutcomes(w, []outcomeLine{
			{"timed before the subscription: on no invoice", "what decides is the event's time, not when it was sent: time runs from the subscription's start", d.BeforeSubscription},
			{"timed in an earlier service period", "on that period's invoice: see --period previous", d.BeforePeriod},
			{"dead-lettered", "not counted: see `bridge dlq list`, fix the cause, then `bridge dlq replay`", d.DeadLettered},
			{"in flight", "in the stream, not yet acknowledged by the bridge: run again later", d.InFlight},
			{"sent again with the same source and id", "Konnect counts one", d.Duplicates},
		})
		verdict := "agrees with what the bridge delivered"
		if !l.Agrees {
			verdict = "DISAGREES with what the bridge delivered"
		}
		fmt.Fprintf(w, "%s: Konnect's quantity %s %s\n", feature, formatQuantity(l.Quantity), verdict)
	}
}
