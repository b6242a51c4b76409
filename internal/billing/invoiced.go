package billing

import (
	"context"
	"fmt"
	"time"
)

// Not invoiced: events attributed to a customer that no invoice will show,
// for the customer's subscriptions (Konnect invoices an event by its time,
// inside a subscription's service periods, and only those).
const (
	NoSubscription     = "no_subscription"
	BeforeSubscription = "before_subscription"
	AfterSubscription  = "subscription_ended"
)

// NotInvoicedReasons are the reasons of events_not_invoiced_total.
var NotInvoicedReasons = []string{NoSubscription, BeforeSubscription, AfterSubscription}

// invoicing classifies the events of one check by the subscriptions of
// their customers. It asks Konnect for a customer's subscriptions once per
// check, and remembers at most max customers: events of any more are not
// classified. Not safe for concurrent use.
type invoicing struct {
	client    *Client
	customers []Customer
	max       int
	subs      map[string]subsOf // by customer id
	found     map[[2]string]*Finding
	cannot    string
}

type subsOf struct {
	subs []Subscription
	err  error
}

func newInvoicing(c *Client, customers []Customer, max int) *invoicing {
	return &invoicing{client: c, customers: customers, max: max, subs: map[string]subsOf{}, found: map[[2]string]*Finding{}}
}

// note classifies one event, timed t, of subject.
func (iv *invoicing) note(ctx context.Context, subject string, t time.Time, id string) {
	cust := CustomerOf(iv.customers, subject)
	if cust == nil {
		return // unattributed: a finding of its own
	}
	s, ok := iv.subs[cust.ID]
	if !ok {
		if len(iv.subs) >= iv.max {
			return
		}
		s.subs, s.err = iv.client.Subscriptions(ctx, cust.ID)
		iv.subs[cust.ID] = s
	}
	if s.err != nil {
		if iv.cannot == "" {
			iv.cannot = cannot("subscriptions", s.err)
		}
		return
	}
	reason, fix := notInvoiced(*cust, s.subs, t)
	if reason == "" {
		return
	}
	k := [2]string{subject, reason}
	f := iv.found[k]
	if f == nil {
		f = &Finding{Kind: reason, Subject: subject, Customer: cust.Key, Since: t, Until: t, Example: id, Fix: fix}
		iv.found[k] = f
	}
	f.Events++
	f.Since, f.Until = minTime(f.Since, t), maxTime(f.Until, t)
}

// notInvoiced says why an event of cust timed t is on no invoice, and the
// fix; "" when a subscription is active at t.
func notInvoiced(cust Customer, subs []Subscription, t time.Time) (reason, fix string) {
	if _, err := ActiveAt(subs, t); err == nil {
		return "", ""
	}
	if len(subs) == 0 {
		return NoSubscription, fmt.Sprintf("customer `%s` has no subscription: its usage is metered, not invoiced. Subscribe it to a plan (Konnect: Metering & Billing → Customers → %s → Subscriptions)", cust.Key, cust.Key)
	}
	first := subs[0]
	for _, s := range subs {
		if s.ActiveFrom.Before(first.ActiveFrom) {
			first = s
		}
	}
	if t.Before(first.ActiveFrom) {
		return BeforeSubscription, fmt.Sprintf("timed before the subscription of `%s` starts (%s): Konnect invoices an event by its time, so these are metered, not invoiced. Producers' clocks, or a subscription that should have started earlier", cust.Key, first.ActiveFrom.UTC().Format(time.RFC3339))
	}
	return AfterSubscription, fmt.Sprintf("timed when no subscription of `%s` is active (it ended, or a gap between two): metered, not invoiced. Renew the subscription, or check the producers' clocks", cust.Key)
}

// findings are what note found, the most events first.
func (iv *invoicing) findings() []Finding {
	var out []Finding
	for _, f := range iv.found {
		out = append(out, *f)
	}
	return sortFindings(out)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
