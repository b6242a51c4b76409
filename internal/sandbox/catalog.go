package sandbox

import (
	"slices"
	"time"
)

// Feature is something a plan prices, like one created in Konnect; a
// metered feature counts with the meter whose key is MeterKey (none, or a
// key no meter has: a static feature, which meters nothing).
type Feature struct{ Key, Name, MeterKey string }

// Plan is a published plan of one phase, like one created in Konnect: its
// rate cards are billed every Cadence (PT1H, P1D, P1W, P1M, P3M or P1Y;
// P1M when empty or another) in Currency (USD when empty).
type Plan struct {
	Key, Name, Currency, Cadence string
	RateCards                    []RateCard
}

// RateCard prices the usage of the feature FeatureKey at UnitPrice (a
// decimal, in the plan's currency) per unit the feature's meter counts.
type RateCard struct{ Key, Name, FeatureKey, UnitPrice string }

// Subscription binds the customer CustomerKey to the plan PlanKey from
// ActiveFrom (zero: when the sandbox started) until ActiveTo (zero: open
// ended). Its service periods follow the plan's cadence from ActiveFrom.
// One whose customer or plan the sandbox does not have is not served.
type Subscription struct {
	CustomerKey, PlanKey string
	ActiveFrom, ActiveTo time.Time
}

// GuideFeature, GuidePlan and GuideSubscription bill the guide's runs:
// the line agent-runs, priced per run of the meter agent_runs, monthly
// from when acme-inc subscribed. Konnect's keys take no hyphen, so the
// feature's and rate card's key is agent_runs and agent-runs their name.
// The guide names no price; the sandbox's is 0.10 USD a run.
var (
	GuideFeature = Feature{Key: "agent_runs", Name: "agent-runs", MeterKey: "agent_runs"}
	GuidePlan    = Plan{Key: "agents", Name: "Agents", Currency: "USD", Cadence: "P1M",
		RateCards: []RateCard{{Key: "agent_runs", Name: "agent-runs", FeatureKey: "agent_runs", UnitPrice: "0.10"}}}
	GuideSubscription = Subscription{CustomerKey: GuideCustomer.Key, PlanKey: "agents"}
)

type feature struct {
	Feature
	id string
}

type plan struct {
	Plan
	id string
}

type subscription struct {
	Subscription
	id string
	n  int // numbers the ids of its phase, items and charges
}

// WithFeature adds a feature, as if created in Konnect.
func WithFeature(f Feature) Option {
	return func(s *Sandbox) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.billing.features = append(s.billing.features, feature{Feature: f, id: s.newID()})
	}
}

// WithPlan adds a plan and publishes it, as if created in Konnect. A plan
// whose rate cards price no feature of a meter bills none of its events.
func WithPlan(p Plan) Option {
	return func(s *Sandbox) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p.RateCards = slices.Clone(p.RateCards)
		if p.Currency == "" {
			p.Currency = "USD"
		}
		if _, ok := cadences[p.Cadence]; !ok {
			p.Cadence = "P1M"
		}
		s.billing.plans = append(s.billing.plans, plan{Plan: p, id: s.newID()})
	}
}

// WithSubscription subscribes a customer to a plan, as if created in
// Konnect. A customer added without one (WithCustomer) is metered, not
// invoiced: it has no subscription and no charges.
func WithSubscription(sub Subscription) Option {
	return func(s *Sandbox) {
		s.mu.Lock()
		defer s.mu.Unlock()
		id := s.newID()
		s.billing.subscriptions = append(s.billing.subscriptions, subscription{Subscription: sub, id: id, n: s.billing.made})
	}
}

func (b billing) customerByKey(key string) *customer {
	return find(b.customers, func(c customer) bool { return c.Key == key })
}

func (b billing) planByKey(key string) *plan {
	return find(b.plans, func(p plan) bool { return p.Key == key })
}

func (b billing) featureByKey(key string) *feature {
	return find(b.features, func(f feature) bool { return f.Key == key })
}

func (b billing) meterByKey(key string) *meter {
	return find(b.meters, func(m meter) bool { return m.Key == key })
}

// find is the first of xs that matches, or nil.
func find[T any](xs []T, match func(T) bool) *T {
	if i := slices.IndexFunc(xs, match); i >= 0 {
		return &xs[i]
	}
	return nil
}

// activeFrom is when the subscription starts: its ActiveFrom, else when
// the sandbox started.
func (b billing) activeFrom(sub subscription) time.Time {
	if sub.ActiveFrom.IsZero() {
		return b.created
	}
	return sub.ActiveFrom.UTC()
}

// status is the spec's BillingSubscriptionStatus at now: scheduled before
// it starts, canceled while it runs to an end, inactive once ended.
func (b billing) status(sub subscription, now time.Time) string {
	switch {
	case now.Before(b.activeFrom(sub)):
		return "scheduled"
	case sub.ActiveTo.IsZero():
		return "active"
	case now.Before(sub.ActiveTo):
		return "canceled"
	default:
		return "inactive"
	}
}
