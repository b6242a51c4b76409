package sandbox

import (
	"net/http"
	"slices"
	"time"
)

// subscriptionJSON is the spec's BillingSubscription.
type subscriptionJSON struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	CustomerID      string      `json:"customer_id"`
	PlanID          string      `json:"plan_id"`
	Plan            planRef     `json:"plan"`
	Status          string      `json:"status"`
	ActiveFrom      time.Time   `json:"active_from"`
	ActiveTo        *time.Time  `json:"active_to,omitempty"`
	BillingCadence  string      `json:"billing_cadence"`
	BillingAnchor   time.Time   `json:"billing_anchor"`
	CurrentPeriod   *periodJSON `json:"current_period,omitempty"`
	InvoiceCurrency string      `json:"invoice_currency"`
	CostBasisMode   string      `json:"cost_basis_mode"`
	CostBasisPins   []struct{}  `json:"cost_basis_pins"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	Phases          []subPhase  `json:"phases"`

	planKey string
}

// planRef is the spec's BillingSubscriptionPlanReference.
type planRef struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Version int    `json:"version"`
}

// periodJSON is the spec's ClosedPeriod: [From, To).
type periodJSON struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// subPhase is the spec's BillingSubscriptionPhase.
type subPhase struct {
	ID         string    `json:"id"`
	Key        string    `json:"key"`
	Name       string    `json:"name"`
	ActiveFrom time.Time `json:"active_from"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Items      []subItem `json:"items"`
}

// subItem is the spec's BillingSubscriptionItem.
type subItem struct {
	ID         string       `json:"id"`
	ActiveFrom time.Time    `json:"active_from"`
	RateCard   rateCardJSON `json:"rate_card"`
}

// subscriptionJSON is sub as the spec shapes it at now; false when the
// sandbox has not its customer or its plan.
func (b billing) subscriptionJSON(sub subscription, now time.Time) (subscriptionJSON, bool) {
	c, p := b.customerByKey(sub.CustomerKey), b.planByKey(sub.PlanKey)
	if c == nil || p == nil {
		return subscriptionJSON{}, false
	}
	from := b.activeFrom(sub)
	sj := subscriptionJSON{ID: sub.id, Name: p.Name, CustomerID: c.id, PlanID: p.id, Plan: planRef{ID: p.id, Key: p.Key, Version: 1},
		Status: b.status(sub, now), ActiveFrom: from, BillingCadence: p.Cadence, BillingAnchor: from,
		InvoiceCurrency: p.Currency, CostBasisMode: "dynamic", CostBasisPins: []struct{}{},
		CreatedAt: b.created, UpdatedAt: b.created, planKey: p.Key}
	if !sub.ActiveTo.IsZero() {
		to := sub.ActiveTo.UTC()
		sj.ActiveTo = &to
	}
	if periods, _ := b.periods(sub, *p, now); len(periods) > 0 && sj.Status != "scheduled" && sj.Status != "inactive" {
		current := sub.cut(periods[len(periods)-1])
		sj.CurrentPeriod = &current
	}
	phase := subPhase{ID: sandboxID('P', sub.n), Key: "default", Name: "Default", ActiveFrom: from, CreatedAt: b.created, UpdatedAt: b.created, Items: []subItem{}}
	for i, rc := range b.rateCardsJSON(*p) {
		phase.Items = append(phase.Items, subItem{ID: sandboxID('T', sub.n, i), ActiveFrom: from, RateCard: rc})
	}
	sj.Phases = []subPhase{phase}
	return sj, true
}

// subscriptionsJSON is every subscription the sandbox serves, by
// active_from.
func (b billing) subscriptionsJSON(now time.Time) []subscriptionJSON {
	all := []subscriptionJSON{}
	for _, sub := range b.subscriptions {
		if sj, ok := b.subscriptionJSON(sub, now); ok {
			all = append(all, sj)
		}
	}
	slices.SortStableFunc(all, func(x, y subscriptionJSON) int { return x.ActiveFrom.Compare(y.ActiveFrom) })
	return all
}

// listSubscriptions answers list-subscriptions, filtered by id,
// customer_id, status, plan_id or plan_key, in pages.
func (s *Sandbox) listSubscriptions(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return pageOf(s, w, r.URL.Query(), b.subscriptionsJSON(time.Now()), map[string]func(subscriptionJSON) string{
		"id": func(s subscriptionJSON) string { return s.ID }, "customer_id": func(s subscriptionJSON) string { return s.CustomerID },
		"status": func(s subscriptionJSON) string { return s.Status }, "plan_id": func(s subscriptionJSON) string { return s.PlanID },
		"plan_key": func(s subscriptionJSON) string { return s.planKey },
	})
}

// getSubscription answers get-subscription.
func (s *Sandbox) getSubscription(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return writeByID(s, w, "subscription", r.PathValue("subscriptionId"), b.subscriptionsJSON(time.Now()),
		func(sj subscriptionJSON) string { return sj.ID })
}
