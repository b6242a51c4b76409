package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Period picks a customer's service period: the one holding At, or with
// Previous the one before it.
type Period struct {
	At       time.Time
	Previous bool
}

// Invoice is what the invoice of a customer's service period shows so
// far (the guide's Preview Invoice): one line per metered feature the
// subscription's plan prices.
type Invoice struct {
	Customer     Customer     `json:"customer"`
	Subscription Subscription `json:"subscription"`
	Period       Window       `json:"service_period"`
	// Source says where the lines' periods come from: Konnect's charges,
	// or the subscription's period and why not the charges.
	Source string        `json:"period_source"`
	Lines  []InvoiceLine `json:"lines"`
}

// InvoiceLine is one priced feature: its meter queried over the line's
// service period for the customer, and the amount when a charge gives it.
type InvoiceLine struct {
	Feature  string  `json:"feature_key"`
	Meter    Meter   `json:"meter"`
	Period   Window  `json:"service_period"`
	Quantity float64 `json:"quantity"`
	Price    Price   `json:"price"`
	Amount   string  `json:"amount,omitempty"`
	Currency string  `json:"currency,omitempty"`
}

// Invoice reads the customer's subscription, its plan's rate cards, their
// features and meters, and the customer's charges, and queries each
// feature's meter over its service period. Without read rights to the
// charges (or a deployment without them) the subscription's period bounds
// every line. Every error says what is missing and where to fix it.
func (c *Client) Invoice(ctx context.Context, customerKey string, p Period) (Invoice, error) {
	cust, err := c.customer(ctx, customerKey)
	if err != nil {
		return Invoice{}, err
	}
	subs, err := c.Subscriptions(ctx, cust.ID)
	if err != nil {
		return Invoice{}, err
	}
	sub, w, err := ServicePeriod(subs, p.At)
	if errors.Is(err, ErrNoSubscription) {
		return Invoice{}, fmt.Errorf("customer %s, at %s: %w; subscribe it to a plan in Konnect (Metering & Billing, Subscriptions)", cust.Key, p.At.UTC().Format(time.RFC3339), err)
	}
	if err == nil && p.Previous {
		current := w
		if sub, w, err = ServicePeriod(subs, w.From.Add(-time.Nanosecond)); errors.Is(err, ErrNoSubscription) {
			return Invoice{}, fmt.Errorf("customer %s has no service period before its current one (%s), its first: ask for the current period (%w before it)", cust.Key, current, err)
		}
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("subscription %s: %w", sub.Name, err)
	}
	inv := Invoice{Customer: *cust, Subscription: sub, Period: w, Source: "charges"}
	cards, err := c.rateCards(ctx, sub, w.From)
	if err != nil {
		return Invoice{}, err
	}
	features, err := c.Features(ctx)
	if err != nil {
		return Invoice{}, err
	}
	meters, err := c.Meters(ctx)
	if err != nil {
		return Invoice{}, err
	}
	charges, err := c.Charges(ctx, cust.ID)
	if status := statusOf(err); status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound {
		inv.Source = fmt.Sprintf("the subscription's service period (Konnect answered %d to the customer's charges)", status)
	} else if err != nil {
		return Invoice{}, err
	}
	// A charge is picked by an instant of the period: now for the current
	// one, its last for the previous one.
	at := p.At
	if p.Previous {
		at = w.Until.Add(-time.Nanosecond)
	}
	for _, rc := range cards {
		if rc.Feature == nil {
			continue // a flat fee, metered by nothing
		}
		i := slices.IndexFunc(features, func(f Feature) bool { return f.ID == rc.Feature.ID })
		if i < 0 {
			return Invoice{}, fmt.Errorf("rate card %s prices feature %s, which Konnect does not list: see the plan in Konnect (Metering & Billing, Product Catalog)", rc.Key, rc.Feature.ID)
		}
		f := features[i]
		if f.Meter == nil {
			continue // a boolean or static feature
		}
		j := slices.IndexFunc(meters, func(m Meter) bool { return m.ID == f.Meter.ID })
		if j < 0 {
			return Invoice{}, fmt.Errorf("feature %s counts with meter %s, which Konnect does not list: see the feature in Konnect (Metering & Billing, Product Catalog)", f.Key, f.Meter.ID)
		}
		line := InvoiceLine{Feature: f.Key, Meter: meters[j], Period: w, Price: rc.Price}
		if ch, ok := chargeAt(charges, f, at); ok {
			line.Period, line.Price, line.Amount, line.Currency = ch.ServicePeriod, ch.Price, ch.Total(), ch.Currency
		}
		rows, err := c.Query(ctx, line.Meter.ID, QueryRequest{From: &line.Period.From, To: &line.Period.Until, Filters: customerFilter(cust.ID, f.Meter.Filters)})
		if err != nil {
			return Invoice{}, err
		}
		line.Quantity = sum(rows)
		inv.Lines = append(inv.Lines, line)
	}
	return inv, nil
}

// rateCards are the rate cards of the subscription's plan in the phase
// that holds t.
func (c *Client) rateCards(ctx context.Context, s Subscription, t time.Time) ([]RateCard, error) {
	id := s.PlanID
	if s.Plan != nil {
		id = s.Plan.ID
	}
	if id == "" {
		return nil, fmt.Errorf("subscription %s follows no plan, so nothing prices its usage: subscribe the customer to a plan in Konnect (Metering & Billing, Subscriptions)", s.Name)
	}
	plans, err := c.Plans(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(plans, func(p Plan) bool { return p.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("plan %s of subscription %s is not listed: see Konnect (Metering & Billing, Product Catalog, Plans)", id, s.Name)
	}
	return plans[i].cardsAt(s.ActiveFrom, t)
}

// cardsAt are the rate cards of the phase holding t, for a subscription
// that started at start: each phase follows the one before for its
// duration, the last one lasts.
func (p Plan) cardsAt(start, t time.Time) ([]RateCard, error) {
	for i, ph := range p.Phases {
		if ph.Duration == "" || i == len(p.Phases)-1 {
			return ph.RateCards, nil
		}
		step, err := cadence(ph.Duration)
		if err != nil {
			return nil, fmt.Errorf("plan %s, phase %s: %w", p.Key, ph.Key, err)
		}
		if start = step(start, 1); t.Before(start) {
			return ph.RateCards, nil
		}
	}
	return nil, nil
}

// chargeAt is the usage-based charge of feature f whose service period
// holds t.
func chargeAt(charges []Charge, f Feature, t time.Time) (Charge, bool) {
	for _, ch := range charges {
		if ch.Type == "usage_based" && (ch.FeatureID == f.ID || ch.FeatureKey == f.Key) &&
			!t.Before(ch.ServicePeriod.From) && t.Before(ch.ServicePeriod.Until) {
			return ch, true
		}
	}
	return Charge{}, false
}
