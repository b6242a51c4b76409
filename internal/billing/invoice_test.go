package billing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// invoiceCase is what a user checks of `bridge invoice`: Konnect's line
// next to what the bridge delivered.
type invoiceCase struct {
	inv billing.Invoice
	d   billing.Delivered
}

// invoiceOf previews acme-inc's invoice and counts what the stream holds
// for its one line, with everything up to ackFloor acknowledged.
func (s *stage) invoiceOf(t *testing.T, key string, ackFloor uint64) (invoiceCase, error) {
	t.Helper()
	ctx := context.Background()
	inv, err := s.client.Invoice(ctx, key, billing.Period{At: time.Now()})
	if err != nil {
		return invoiceCase{}, err
	}
	if len(inv.Lines) != 1 || inv.Lines[0].Feature != "agent_runs" || inv.Lines[0].Meter.Key != "agent_runs" {
		t.Fatalf("lines %+v, want one of feature agent_runs with meter agent_runs", inv.Lines)
	}
	l := inv.Lines[0]
	d, err := billing.Deliveries{Stream: s.stream, AckFloor: ackFloor}.For(ctx, inv.Customer, inv.Subscription.ActiveFrom, l.Meter, l.Period)
	if err != nil {
		t.Fatal(err)
	}
	return invoiceCase{inv, d}, nil
}

// runs are n agent runs of acme-inc timed at.
func runs(n int, at time.Time) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, event(fmt.Sprintf("run-%d", i+1), "acme-inc", map[string]any{"agent_name": "summarizer"}, at))
	}
	return out
}

// TestInvoiceOfTheGuide: three runs delivered, the invoice shows
// agent_runs with quantity 3 and its amount, and the bridge agrees.
func TestInvoiceOfTheGuide(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := newBillingStage(t, now.Add(-time.Hour))
	three := runs(3, now)
	seqs := s.publish(t, three...)
	s.deliver(t, three...)

	c, err := s.invoiceOf(t, "acme-inc", seqs[2])
	if err != nil {
		t.Fatal(err)
	}
	l := c.inv.Lines[0]
	if l.Quantity != 3 || l.Amount != "0.3" || l.Currency != "USD" || c.inv.Source != "charges" || !l.Period.From.Equal(now.Add(-time.Hour)) {
		t.Errorf("line %+v from %s, want quantity 3, amount 0.3 USD, from the charge starting at the subscription", l, c.inv.Source)
	}
	if c.d.Quantity != 3 || c.d.Events != 3 || !c.d.Agrees(l.Quantity) {
		t.Errorf("delivered %+v, want 3 agreeing with Konnect", c.d)
	}
}

// TestInvoiceLeavesOutARunBeforeTheSubscription: a run timed before the
// subscription started is delivered, counted by no invoice, and said so.
func TestInvoiceLeavesOutARunBeforeTheSubscription(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := newBillingStage(t, now.Add(-time.Hour))
	all := append(runs(3, now), event("early", "acme-inc", map[string]any{"agent_name": "translator"}, now.Add(-2*time.Hour)))
	seqs := s.publish(t, all...)
	s.deliver(t, all...)

	c, err := s.invoiceOf(t, "acme-inc", seqs[3])
	if err != nil {
		t.Fatal(err)
	}
	b := c.d.BeforeSubscription
	if c.inv.Lines[0].Quantity != 3 || c.d.Quantity != 3 || b.Count != 1 || len(b.Examples) != 1 || b.Examples[0].ID != "early" {
		t.Errorf("quantity %v, delivered %+v; want 3 and 3, with the run early before the subscription", c.inv.Lines[0].Quantity, c.d)
	}
}

// TestInvoiceWithoutSubscriptionSaysSo: a customer that has none gets one
// line naming it and the fix, not a zero.
func TestInvoiceWithoutSubscriptionSaysSo(t *testing.T) {
	s := newBillingStage(t, time.Now(), sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}))
	_, err := s.invoiceOf(t, "globex-corp", 0)
	for _, want := range []string{"customer globex-corp", "no subscription: metered, not invoiced", "Subscriptions"} {
		if !errors.Is(err, billing.ErrNoSubscription) || !strings.Contains(err.Error(), want) {
			t.Errorf("invoice of globex-corp: %v; want ErrNoSubscription saying %q", err, want)
		}
	}
	if _, err := s.invoiceOf(t, "initech", 0); err == nil || !strings.Contains(err.Error(), `no customer has the key or subject key "initech"`) {
		t.Errorf("invoice of an unknown customer: %v", err)
	}
}

// TestInvoiceWithoutChargesUsesTheSubscriptionsPeriod: a token that may
// not read charges, or a deployment without them, still gets the
// quantity, over the subscription's period, without an amount.
func TestInvoiceWithoutChargesUsesTheSubscriptionsPeriod(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			s := newBillingStage(t, now.Add(-time.Hour))
			s.sb.SetReadAnswer("/openmeter/customers/{customerId}/charges", status)
			three := runs(3, now)
			seqs := s.publish(t, three...)
			s.deliver(t, three...)

			c, err := s.invoiceOf(t, "acme-inc", seqs[2])
			if err != nil {
				t.Fatal(err)
			}
			l := c.inv.Lines[0]
			want := billing.Window{From: now.Add(-time.Hour), Until: now.Add(-time.Hour).AddDate(0, 1, 0)}
			if l.Quantity != 3 || l.Amount != "" || l.Period != want || !strings.Contains(c.inv.Source, fmt.Sprint(status)) || !c.d.Agrees(3) {
				t.Errorf("line %+v from %q, want quantity 3 over %s, no amount, the source naming %d", l, c.inv.Source, want, status)
			}
		})
	}
}

// TestInvoiceDisagrees: Konnect accepted a run and lost it: its quantity
// is short of what the bridge delivered. A run still in flight is not a
// disagreement.
func TestInvoiceDisagrees(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := newBillingStage(t, now.Add(-time.Hour))
	s.sb.Lose("run-2")
	three := runs(3, now)
	seqs := s.publish(t, three...)
	s.deliver(t, three...)

	c, err := s.invoiceOf(t, "acme-inc", seqs[2])
	if err != nil {
		t.Fatal(err)
	}
	if c.inv.Lines[0].Quantity != 2 || c.d.Quantity != 3 || c.d.Agrees(2) {
		t.Errorf("quantity %v, delivered %+v; want 2 and 3, disagreeing", c.inv.Lines[0].Quantity, c.d)
	}

	// The same, with the third run not yet acknowledged by the bridge.
	s.sb.Lose()
	c, err = s.invoiceOf(t, "acme-inc", seqs[1])
	if err != nil {
		t.Fatal(err)
	}
	if c.d.Quantity != 2 || c.d.InFlight.Count != 1 || !c.d.Agrees(2) {
		t.Errorf("delivered %+v; want 2 delivered and 1 in flight, agreeing with 2", c.d)
	}
}

// TestInvoiceOfThePreviousPeriod: runs timed in the previous month are on
// its invoice, not on the current one, which says where they went.
func TestInvoiceOfThePreviousPeriod(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	start := now.AddDate(0, 0, -40)
	s := newBillingStage(t, start)
	all := append(runs(2, start.Add(time.Hour)), event("now", "acme-inc", map[string]any{"agent_name": "translator"}, now))
	seqs := s.publish(t, all...)
	s.deliver(t, all...)
	ds := billing.Deliveries{Stream: s.stream, AckFloor: seqs[2]}
	ctx := context.Background()

	for _, tc := range []struct {
		previous        bool
		from            time.Time
		quantity        float64
		earlier, amount string
	}{
		{previous: true, from: start, quantity: 2, amount: "0.2"},
		{previous: false, from: start.AddDate(0, 1, 0), quantity: 1, earlier: "[run-1 run-2]", amount: "0.1"},
	} {
		inv, err := s.client.Invoice(ctx, "acme-inc", billing.Period{At: now, Previous: tc.previous})
		if err != nil || len(inv.Lines) != 1 {
			t.Fatalf("previous %v: %+v, %v", tc.previous, inv, err)
		}
		l := inv.Lines[0]
		d, err := ds.For(ctx, inv.Customer, inv.Subscription.ActiveFrom, l.Meter, l.Period)
		if err != nil {
			t.Fatal(err)
		}
		earlier := ""
		if d.BeforePeriod.Count > 0 {
			earlier = ids(d.BeforePeriod)
		}
		if !inv.Period.From.Equal(tc.from) || l.Quantity != tc.quantity || l.Amount != tc.amount || d.Quantity != tc.quantity || earlier != tc.earlier {
			t.Errorf("previous %v: period %s, line %+v, delivered %+v; want from %s, quantity %v, amount %q, earlier %s",
				tc.previous, inv.Period, l, d, tc.from, tc.quantity, tc.amount, tc.earlier)
		}
	}
}
