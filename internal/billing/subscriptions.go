package billing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/calendar"
)

// Subscription binds a customer to a plan from ActiveFrom (the spec's
// BillingSubscription); its service periods start at BillingAnchor and
// last BillingCadence.
type Subscription struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CustomerID     string     `json:"customer_id"`
	Status         string     `json:"status"`
	ActiveFrom     time.Time  `json:"active_from"`
	ActiveTo       *time.Time `json:"active_to,omitempty"`
	BillingCadence string     `json:"billing_cadence"`
	BillingAnchor  time.Time  `json:"billing_anchor"`
	// PlanID is deprecated by the spec in favour of Plan; either may come.
	PlanID string `json:"plan_id,omitempty"`
	Plan   *struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"plan,omitempty"`
	// CurrentPeriod is the service period Konnect says is current.
	CurrentPeriod *Window `json:"current_period,omitempty"`
}

// ErrNoSubscription means the customer has no subscription active at the
// time asked: its usage is metered, not invoiced.
var ErrNoSubscription = errors.New("no subscription: metered, not invoiced")

// Subscriptions lists the customer's subscriptions.
func (c *Client) Subscriptions(ctx context.Context, customerID string) ([]Subscription, error) {
	return listPages[Subscription](ctx, c, "/openmeter/subscriptions", url.Values{"filter[customer_id][eq]": {customerID}}, "subscriptions")
}

// ActiveAt is the subscription of subs active at t, or ErrNoSubscription.
func ActiveAt(subs []Subscription, t time.Time) (Subscription, error) {
	for _, s := range subs {
		// A canceled subscription runs until its active_to (OpenMeter's
		// status): the time bounds decide, not the status.
		if t.Before(s.ActiveFrom) || (s.ActiveTo != nil && !t.Before(*s.ActiveTo)) {
			continue
		}
		return s, nil
	}
	return Subscription{}, ErrNoSubscription
}

// ServicePeriod is the subscription of subs active at t and its service
// period holding t; without one, ErrNoSubscription.
func ServicePeriod(subs []Subscription, t time.Time) (Subscription, Window, error) {
	s, err := ActiveAt(subs, t)
	if err != nil {
		return s, Window{}, err
	}
	w, err := s.PeriodAt(t)
	return s, w, err
}

// PeriodAt is the service period holding t: Konnect's current period when
// it holds t, else [From, Until) counted from the billing anchor by the
// cadence, starting no earlier than ActiveFrom.
func (s Subscription) PeriodAt(t time.Time) (Window, error) {
	if cp := s.CurrentPeriod; cp != nil && !t.Before(cp.From) && t.Before(cp.Until) {
		return *cp, nil
	}
	step, err := cadence(s.BillingCadence)
	if err != nil {
		return Window{}, err
	}
	anchor, n := s.BillingAnchor.UTC(), 0
	for step(anchor, n).After(t) {
		n--
	}
	for !step(anchor, n+1).After(t) {
		n++
	}
	// Every bound is counted from the anchor: a period that starts on a
	// clamped month end (February 28) ends on the anchor's day again.
	from, until := step(anchor, n), step(anchor, n+1)
	if from.Before(s.ActiveFrom) {
		from = s.ActiveFrom.UTC()
	}
	return Window{From: from, Until: until}, nil
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$`)

// cadence reads an ISO-8601 duration (P1M, P1W, P1D, PT1H) as a step:
// the time n durations after t.
func cadence(d string) (func(t time.Time, n int) time.Time, error) {
	m := durationRE.FindStringSubmatch(d)
	if m == nil || d == "P" || d == "PT" {
		return nil, fmt.Errorf("billing cadence %q is not an ISO-8601 duration", d)
	}
	v := make([]int, 6)
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	if v[0]+v[1]+v[2]+v[3]+v[4]+v[5] == 0 {
		return nil, fmt.Errorf("billing cadence %q is zero", d)
	}
	return func(t time.Time, n int) time.Time {
		t = calendar.Add(t, n*v[0], n*v[1], n*(7*v[2]+v[3]))
		return t.Add(time.Duration(n) * (time.Duration(v[4])*time.Hour + time.Duration(v[5])*time.Minute))
	}, nil
}
