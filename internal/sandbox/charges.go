package sandbox

import (
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/calendar"
)

// cadences are the billing cadences the sandbox bills by: years, months,
// days and a duration each.
var cadences = map[string]struct {
	years, months, days int
	d                   time.Duration
}{"PT1H": {d: time.Hour}, "P1D": {days: 1}, "P1W": {days: 7}, "P1M": {months: 1}, "P3M": {months: 3}, "P1Y": {years: 1}}

// MaxPeriods is how many service periods of a subscription, the latest,
// the sandbox lists charges for.
const MaxPeriods = 100

// periods are the full service periods of sub up to now, oldest first:
// one cadence of its plan after another from active_from, until
// active_to; at most the latest MaxPeriods of them, the first of them
// period number first (from 0).
func (b billing) periods(sub subscription, p plan, now time.Time) (periods []periodJSON, first int) {
	c := cadences[p.Cadence]
	anchor := b.activeFrom(sub)
	var all []periodJSON
	for n := 0; ; n++ {
		from := calendar.Add(anchor, n*c.years, n*c.months, n*c.days).Add(time.Duration(n) * c.d)
		to := calendar.Add(anchor, (n+1)*c.years, (n+1)*c.months, (n+1)*c.days).Add(time.Duration(n+1) * c.d)
		ended := !sub.ActiveTo.IsZero() && !from.Before(sub.ActiveTo)
		if from.After(now) || ended {
			break
		}
		all = append(all, periodJSON{From: from, To: to})
	}
	periods = last(all, MaxPeriods)
	return periods, len(all) - len(periods)
}

// cut ends p at active_to, for the last period of a subscription that ends.
func (sub subscription) cut(p periodJSON) periodJSON {
	if !sub.ActiveTo.IsZero() && sub.ActiveTo.Before(p.To) {
		p.To = sub.ActiveTo.UTC()
	}
	return p
}

// chargeJSON is the spec's BillingChargeUsageBased.
type chargeJSON struct {
	ID                  string       `json:"id"`
	Type                string       `json:"type"`
	Name                string       `json:"name"`
	Customer            idRef        `json:"customer"`
	Subscription        subRef       `json:"subscription"`
	LifecycleController string       `json:"lifecycle_controller"`
	Status              string       `json:"status"`
	Currency            string       `json:"currency"`
	FeatureKey          string       `json:"feature_key"`
	FeatureID           string       `json:"feature_id"`
	Price               priceJSON    `json:"price"`
	ServicePeriod       periodJSON   `json:"service_period"`
	FullServicePeriod   periodJSON   `json:"full_service_period"`
	BillingPeriod       periodJSON   `json:"billing_period"`
	InvoiceAt           time.Time    `json:"invoice_at"`
	SettlementMode      string       `json:"settlement_mode"`
	Totals              chargeTotals `json:"totals"`
	CreatedAt           time.Time    `json:"created_at"`
	UpdatedAt           time.Time    `json:"updated_at"`
}

// subRef is the spec's BillingSubscriptionReference.
type subRef struct {
	ID    string `json:"id"`
	Phase struct {
		ID   string `json:"id"`
		Item idRef  `json:"item"`
	} `json:"phase"`
}

// chargeTotals is the spec's BillingChargeTotals; Realtime only with the
// expand real_time_usage.
type chargeTotals struct {
	Booked   totals  `json:"booked"`
	Realtime *totals `json:"realtime,omitempty"`
}

// totals is the spec's BillingTotals.
type totals struct {
	Amount              string `json:"amount"`
	TaxesTotal          string `json:"taxes_total"`
	TaxesInclusiveTotal string `json:"taxes_inclusive_total"`
	TaxesExclusiveTotal string `json:"taxes_exclusive_total"`
	ChargesTotal        string `json:"charges_total"`
	DiscountsTotal      string `json:"discounts_total"`
	CreditsTotal        string `json:"credits_total"`
	Total               string `json:"total"`
}

// totalsOf is an amount without taxes, discounts or credits.
func totalsOf(amount string) totals {
	return totals{Amount: amount, TaxesTotal: "0", TaxesInclusiveTotal: "0", TaxesExclusiveTotal: "0",
		ChargesTotal: "0", DiscountsTotal: "0", CreditsTotal: "0", Total: amount}
}

// charges are a customer's usage-based charges at now: one per rate card
// of each subscription and service period, the quantity its feature's
// meter counts of the customer's events timed in the period, and the
// amount that quantity at the rate card's unit price. The current
// period's are active, booked nothing yet; the past ones final.
func (b billing) charges(c customer, events []Event, now time.Time, realtime bool) []chargeJSON {
	all := []chargeJSON{}
	for _, sub := range b.subscriptions {
		p := b.planByKey(sub.PlanKey)
		if sub.CustomerKey != c.Key || p == nil {
			continue
		}
		periods, first := b.periods(sub, *p, now)
		for n, period := range periods {
			for i, rc := range p.RateCards {
				f := b.featureByKey(rc.FeatureKey)
				if f == nil {
					continue
				}
				service := sub.cut(period)
				ch := chargeJSON{ID: sandboxID('C', sub.n, i, first+n), Type: "usage_based", Name: rc.Name, Customer: idRef{ID: c.id},
					LifecycleController: "system", Status: "active", Currency: p.Currency, FeatureKey: f.Key, FeatureID: f.id,
					Price: priceJSON{Type: "unit", Amount: rc.UnitPrice}, ServicePeriod: service, FullServicePeriod: period,
					BillingPeriod: service, InvoiceAt: service.To, SettlementMode: "credit_then_invoice",
					Totals: chargeTotals{Booked: totalsOf("0")}, CreatedAt: period.From, UpdatedAt: period.From}
				ch.Subscription.ID, ch.Subscription.Phase.ID, ch.Subscription.Phase.Item.ID = sub.id, sandboxID('P', sub.n), sandboxID('T', sub.n, i)
				amount := times(b.quantity(*f, c, events, service), rc.UnitPrice)
				if final := n < len(periods)-1 || !now.Before(service.To); final {
					ch.Status, ch.Totals.Booked = "final", totalsOf(amount)
				}
				if realtime {
					rt := totalsOf(amount)
					ch.Totals.Realtime = &rt
				}
				all = append(all, ch)
			}
		}
	}
	return all
}

// quantity is what f's meter counts of c's events in the period, "0"
// for a feature without a meter.
func (b billing) quantity(f feature, c customer, events []Event, period periodJSON) string {
	m := b.meterByKey(f.MeterKey)
	if m == nil || f.MeterKey == "" {
		return "0"
	}
	q := meterQuery{Filters: &queryFilters{Dimensions: map[string]dimensionFilter{"customer_id": {Eq: &c.id}}}}
	rows := q.rows(b, *m, events, period.From, period.To)
	if len(rows) == 0 {
		return "0"
	}
	return rows[0].Value
}

// times is quantity times price, as the spec's Numeric.
func times(quantity, price string) string {
	q, okQ := new(big.Rat).SetString(quantity)
	p, okP := new(big.Rat).SetString(price)
	if !okQ || !okP {
		return "0"
	}
	v := new(big.Rat).Mul(q, p).FloatString(9)
	return strings.TrimSuffix(strings.TrimRight(v, "0"), ".")
}

// listCharges answers list-customer-charges: the customer's charges,
// filtered by status, in pages; with expand=real_time_usage their
// real-time totals.
func (s *Sandbox) listCharges(w http.ResponseWriter, r *http.Request) *problem {
	b, events := s.snapshot()
	c := find(b.customers, func(c customer) bool { return c.id == r.PathValue("customerId") })
	if c == nil {
		return s.newProblem(http.StatusNotFound, "customer "+r.PathValue("customerId")+" not found", nil)
	}
	q := r.URL.Query()
	realtime := false
	for _, v := range q["expand"] {
		for _, e := range strings.Split(v, ",") {
			if e != "real_time_usage" {
				return s.badQuery("expand", "must be real_time_usage")
			}
			realtime = true
		}
	}
	q.Del("expand")
	return pageOf(s, w, q, b.charges(*c, events, time.Now(), realtime), map[string]func(chargeJSON) string{
		"status": func(c chargeJSON) string { return c.Status },
	})
}
