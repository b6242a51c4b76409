package billing

import (
	"context"
	"encoding/json"
	"net/url"
	"time"
)

// Feature is what a plan prices (the spec's Feature); a metered one counts
// with a meter, narrowed by the meter's dimension filters.
type Feature struct {
	ID    string `json:"id"`
	Key   string `json:"key"`
	Name  string `json:"name"`
	Meter *struct {
		ID string `json:"id"`
		// Filters are QueryFilterStringMapItems by dimension, passed to
		// the meter's query as they are.
		Filters map[string]json.RawMessage `json:"filters,omitempty"`
	} `json:"meter,omitempty"`
}

// Plan is a product catalog plan (the spec's BillingPlan), only as far as
// an invoice needs it: its phases, in order, and their rate cards.
type Plan struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Phases []struct {
		Key string `json:"key"`
		// Duration is an ISO-8601 duration; the last phase has none.
		Duration  string     `json:"duration,omitempty"`
		RateCards []RateCard `json:"rate_cards"`
	} `json:"phases"`
}

// RateCard prices one feature (the spec's BillingRateCard).
type RateCard struct {
	Key     string `json:"key"`
	Feature *struct {
		ID string `json:"id"`
	} `json:"feature,omitempty"`
	Price Price `json:"price"`
}

// Price is a rate card's or a charge's price: its type (free, flat, unit,
// graduated, volume) and, for flat and unit, the decimal amount.
type Price struct {
	Type   string `json:"type"`
	Amount string `json:"amount,omitempty"`
}

// Charge is one of a customer's charges (the spec's BillingCharge); only
// usage-based ones have a feature.
type Charge struct {
	Type          string    `json:"type"`
	FeatureKey    string    `json:"feature_key"`
	FeatureID     string    `json:"feature_id"`
	Currency      string    `json:"currency"`
	InvoiceAt     time.Time `json:"invoice_at"`
	ServicePeriod Window    `json:"service_period"`
	BillingPeriod Window    `json:"billing_period"`
	Price         Price     `json:"price"`
	Totals        struct {
		Booked   Totals  `json:"booked"`
		Realtime *Totals `json:"realtime,omitempty"`
	} `json:"totals"`
}

// Totals are a charge's amounts (decimal strings); Total is what it comes
// to after taxes, discounts and credits.
type Totals struct {
	Amount string `json:"amount"`
	Total  string `json:"total"`
}

// Total is the charge's realtime total when Konnect gave it, else its
// booked one.
func (ch Charge) Total() string {
	if ch.Totals.Realtime != nil {
		return ch.Totals.Realtime.Total
	}
	return ch.Totals.Booked.Total
}

// Features lists every feature.
func (c *Client) Features(ctx context.Context) ([]Feature, error) {
	return listPages[Feature](ctx, c, "/openmeter/features", nil, "features")
}

// Plans lists every plan.
func (c *Client) Plans(ctx context.Context) ([]Plan, error) {
	return listPages[Plan](ctx, c, "/openmeter/plans", nil, "plans")
}

// Charges lists the customer's charges with their real-time usage. Konnect
// marks the endpoint unstable: a deployment without it answers 404.
func (c *Client) Charges(ctx context.Context, customerID string) ([]Charge, error) {
	return listPages[Charge](ctx, c, "/openmeter/customers/"+url.PathEscape(customerID)+"/charges",
		url.Values{"expand": {"real_time_usage"}}, "charges")
}
