package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
		if u.Customer, err = c.customer(ctx, q.Customer); err != nil {
			return Usage{}, err
		}
		if q.From.IsZero() {
			u.From, u.Period = c.servicePeriodStart(ctx, *u.Customer, q.To)
			req.From = &u.From
		}
		req.Filters = customerFilter(u.Customer.ID, nil)
	}
	if u.Rows, err = c.Query(ctx, u.Meter.ID, req); err != nil {
		return Usage{}, err
	}
	u.Total = sum(u.Rows)
	return u, nil
}

// customer is the customer with that key or subject key, or an error that
// says how to create it.
func (c *Client) customer(ctx context.Context, key string) (*Customer, error) {
	cust, err := c.CustomerByKey(ctx, key)
	if err == nil && cust == nil {
		err = fmt.Errorf("no customer has the key or subject key %q: create one in Konnect (Metering & Billing, Customers) with key or subject key %q", key, key)
	}
	return cust, err
}

// customerFilter narrows a meter query to the customer's usage, and by
// more (a feature's own dimension filters) when given.
func customerFilter(customerID string, more map[string]json.RawMessage) *QueryFilters {
	eq, _ := json.Marshal(map[string]string{"eq": customerID})
	f := &QueryFilters{Dimensions: map[string]json.RawMessage{"customer_id": eq}}
	maps.Copy(f.Dimensions, more)
	return f
}

// sum adds up the values of a query's rows.
func sum(rows []QueryRow) float64 {
	var total float64
	for _, r := range rows {
		v, _ := strconv.ParseFloat(r.Value.String(), 64)
		total += v
	}
	return total
}

// servicePeriodStart is the start of the customer's service period at t,
// and what it is; without a readable subscription, the month's start and why.
func (c *Client) servicePeriodStart(ctx context.Context, cust Customer, t time.Time) (time.Time, string) {
	subs, err := c.Subscriptions(ctx, cust.ID)
	if err != nil {
		return monthStart(t), fmt.Sprintf("this month (subscriptions not readable: %v)", err)
	}
	s, w, err := ServicePeriod(subs, t)
	if errors.Is(err, ErrNoSubscription) {
		return monthStart(t), "this month (" + cust.Key + " has no subscription: metered, not invoiced)"
	}
	if err != nil {
		return monthStart(t), fmt.Sprintf("this month (%v)", err)
	}
	return w.From, "service period of subscription " + s.Name
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
