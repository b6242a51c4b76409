package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// UsageQuery asks for the usage of the meter of an event type (or the meter
// with a key), grouped by one dimension, for one customer or all.
type UsageQuery struct {
	EventType string // used when MeterKey is ""
	MeterKey  string
	Customer  string    // a customer key or subject key; "" for all
	GroupBy   string    // a dimension of the meter; "" or missing: no grouping
	From, To  time.Time // From zero: the customer's service period, else this month
}

// Usage is what a meter counted for a window: the quantity an invoice line
// of the window would show, not the invoice itself.
type Usage struct {
	Meter    Meter      `json:"meter"`
	Customer *Customer  `json:"customer,omitempty"`
	GroupBy  string     `json:"group_by,omitempty"`
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Rows     []QueryRow `json:"rows"`
	Total    float64    `json:"total"`
	// Period says where From came from: "asked", "service period of
	// subscription NAME" or why the month was counted instead.
	Period string `json:"period"`
}

// ErrNoMeter means no meter counts the event type asked for; create one.
var ErrNoMeter = errors.New("no meter")

// Usage finds the meter and the customer, and queries the meter.
func (c *Client) Usage(ctx context.Context, q UsageQuery) (Usage, error) {
	meters, err := c.Meters(ctx)
	if err != nil {
		return Usage{}, err
	}
	i := slices.IndexFunc(meters, func(m Meter) bool {
		return (q.MeterKey != "" && m.Key == q.MeterKey) || (q.MeterKey == "" && m.EventType == q.EventType)
	})
	if i < 0 {
		if q.MeterKey != "" {
			return Usage{}, fmt.Errorf("%w with key %q: see the meters in Konnect", ErrNoMeter, q.MeterKey)
		}
		return Usage{}, fmt.Errorf("%w counts event type %q: create one (for example a count, with the dimension agent_name)", ErrNoMeter, q.EventType)
	}
	u := Usage{Meter: meters[i], From: q.From, To: q.To, Period: "asked"}
	if q.From.IsZero() {
		u.From, u.Period = monthStart(q.To), "this month (no customer asked)"
	}
	req := QueryRequest{From: &u.From, To: &u.To}
	if _, ok := u.Meter.Dimensions[q.GroupBy]; ok {
		u.GroupBy = q.GroupBy
		req.GroupBy = []string{q.GroupBy}
	}
	if q.Customer != "" {
		if u.Customer, err = c.CustomerByKey(ctx, q.Customer); err != nil {
			return Usage{}, err
		}
		if u.Customer == nil {
			return Usage{}, fmt.Errorf("no customer has the key or subject key %q: create one with subject key %q", q.Customer, q.Customer)
		}
		if q.From.IsZero() {
			u.From, u.Period = c.servicePeriodStart(ctx, *u.Customer, q.To)
			req.From = &u.From
		}
		req.Filters = &QueryFilters{Dimensions: map[string]struct {
			Eq string `json:"eq"`
		}{"customer_id": {Eq: u.Customer.ID}}}
	}
	if u.Rows, err = c.Query(ctx, u.Meter.ID, req); err != nil {
		return Usage{}, err
	}
	for _, r := range u.Rows {
		v, _ := strconv.ParseFloat(r.Value.String(), 64)
		u.Total += v
	}
	return u, nil
}

// servicePeriodStart is the start of the customer's service period at t,
// and what it is; without a readable subscription, the month's start and why.
func (c *Client) servicePeriodStart(ctx context.Context, cust Customer, t time.Time) (time.Time, string) {
	subs, err := c.Subscriptions(ctx, cust.ID)
	if err != nil {
		return monthStart(t), fmt.Sprintf("this month (subscriptions not readable: %v)", err)
	}
	s, err := ActiveAt(subs, t)
	if err != nil {
		return monthStart(t), "this month (" + cust.Key + " has no subscription: metered, not invoiced)"
	}
	w, err := s.PeriodAt(t)
	if err != nil {
		return monthStart(t), fmt.Sprintf("this month (%v)", err)
	}
	return w.From, "service period of subscription " + s.Name
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
