package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// usageFlags: `bridge usage` shows what a meter counted, by default over
// the customer's current service period (its subscription's).
func usageFlags(fs *flag.FlagSet) action {
	customer := fs.String("customer", "", "a customer's key or subject key (default: every customer)")
	from := fs.String("from", "", "start: a duration before now (24h), an RFC 3339 time or a date (default: the start of the customer's service period; without one, of this month, UTC)")
	to := fs.String("to", "", "end, in the same forms (default: now)")
	meter := fs.String("meter", "", "the meter's key (default: the meter of --type)")
	typ := fs.String("type", billing.DefaultType, "the event type whose meter to query")
	by := fs.String("by", "agent_name", "the dimension to group by")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		now := time.Now().UTC()
		q := billing.UsageQuery{EventType: *typ, MeterKey: *meter, Customer: *customer, GroupBy: *by, To: now}
		var err error
		if *from != "" {
			if q.From, err = parseWhen("from", *from, now); err != nil {
				return err
			}
		}
		if *to != "" {
			if q.To, err = parseWhen("to", *to, now); err != nil {
				return err
			}
		}
		u, err := billingClient(cfg).Usage(ctx, q)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(u)
		}
		printUsage(stdout, u)
		return nil
	}
}

func printUsage(w io.Writer, u billing.Usage) {
	who := "every customer"
	if u.Customer != nil {
		who = "customer " + u.Customer.Key
	}
	fmt.Fprintf(w, "meter %s (%s of %s), %s, %s\n", u.Meter.Key, u.Meter.Aggregation, u.Meter.EventType, who,
		billing.Window{From: u.From, Until: u.To})
	if u.Period != "asked" {
		fmt.Fprintf(w, "from: %s\n", u.Period)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if u.GroupBy != "" {
		fmt.Fprintf(tw, "%s\tquantity\n", u.GroupBy)
		for _, r := range u.Rows {
			fmt.Fprintf(tw, "%s\t%s\n", termsafe.String(r.Dimensions[u.GroupBy]), r.Value)
		}
	}
	fmt.Fprintf(tw, "total\t%s\n", formatQuantity(u.Total))
	_ = tw.Flush()
}

func formatQuantity(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
