package sandbox

import (
	"cmp"
	"net/http"
	"time"
)

// featureJSON is the spec's Feature.
type featureJSON struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Meter     *idRef    `json:"meter,omitempty"`
}

// planJSON is the spec's BillingPlan, of one phase.
type planJSON struct {
	ID             string      `json:"id"`
	Key            string      `json:"key"`
	Name           string      `json:"name"`
	Version        int         `json:"version"`
	Currency       string      `json:"currency"`
	BillingCadence string      `json:"billing_cadence"`
	Status         string      `json:"status"`
	EffectiveFrom  time.Time   `json:"effective_from"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	Phases         []phaseJSON `json:"phases"`
}

// phaseJSON is the spec's BillingPlanPhase.
type phaseJSON struct {
	Key       string         `json:"key"`
	Name      string         `json:"name"`
	RateCards []rateCardJSON `json:"rate_cards"`
}

// rateCardJSON is the spec's BillingRateCard with a unit price.
type rateCardJSON struct {
	Key            string    `json:"key"`
	Name           string    `json:"name"`
	Feature        *idRef    `json:"feature,omitempty"`
	BillingCadence string    `json:"billing_cadence"`
	Price          priceJSON `json:"price"`
	PaymentTerm    string    `json:"payment_term"`
}

// priceJSON is the spec's BillingPriceUnit.
type priceJSON struct {
	Type   string `json:"type"`
	Amount string `json:"amount"`
}

// featureJSON is f as the spec shapes it, with its meter's id.
func (b billing) featureJSON(f feature) featureJSON {
	fj := featureJSON{ID: f.id, Key: f.Key, Name: f.Name, CreatedAt: b.created, UpdatedAt: b.created}
	if m := b.meterByKey(f.MeterKey); m != nil && f.MeterKey != "" {
		fj.Meter = &idRef{ID: m.id}
	}
	return fj
}

func (b billing) planJSON(p plan) planJSON {
	pj := planJSON{ID: p.id, Key: p.Key, Name: p.Name, Version: 1, Currency: p.Currency, BillingCadence: p.Cadence,
		Status: "active", EffectiveFrom: b.created, CreatedAt: b.created, UpdatedAt: b.created}
	pj.Phases = []phaseJSON{{Key: "default", Name: "Default", RateCards: b.rateCardsJSON(p)}}
	return pj
}

func (b billing) rateCardsJSON(p plan) []rateCardJSON {
	cards := []rateCardJSON{}
	for _, rc := range p.RateCards {
		rj := rateCardJSON{Key: rc.Key, Name: rc.Name, BillingCadence: p.Cadence, Price: priceJSON{Type: "unit", Amount: rc.UnitPrice}, PaymentTerm: "in_arrears"}
		if f := b.featureByKey(rc.FeatureKey); f != nil {
			rj.Feature = &idRef{ID: f.id}
		}
		cards = append(cards, rj)
	}
	return cards
}

func (b billing) featuresJSON() []featureJSON {
	all := []featureJSON{}
	for _, f := range b.features {
		all = append(all, b.featureJSON(f))
	}
	return all
}

func (b billing) plansJSON() []planJSON {
	all := []planJSON{}
	for _, p := range b.plans {
		all = append(all, b.planJSON(p))
	}
	return all
}

// listFeatures answers list-features, filtered by meter_id, key or name,
// in pages.
func (s *Sandbox) listFeatures(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return pageOf(s, w, r.URL.Query(), b.featuresJSON(), map[string]func(featureJSON) string{
		"key": func(f featureJSON) string { return f.Key }, "name": func(f featureJSON) string { return f.Name },
		"meter_id": func(f featureJSON) string { return cmp.Or(f.Meter, &idRef{}).ID },
	})
}

// getFeature answers get-feature.
func (s *Sandbox) getFeature(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return writeByID(s, w, "feature", r.PathValue("featureId"), b.featuresJSON(), func(f featureJSON) string { return f.ID })
}

// listPlans answers list-plans, filtered by key, name, status or
// currency, in pages.
func (s *Sandbox) listPlans(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return pageOf(s, w, r.URL.Query(), b.plansJSON(), map[string]func(planJSON) string{
		"key": func(p planJSON) string { return p.Key }, "name": func(p planJSON) string { return p.Name },
		"status": func(p planJSON) string { return p.Status }, "currency": func(p planJSON) string { return p.Currency },
	})
}

// getPlan answers get-plan.
func (s *Sandbox) getPlan(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return writeByID(s, w, "plan", r.PathValue("planId"), b.plansJSON(), func(p planJSON) string { return p.ID })
}

// writeByID answers the one of items whose id is id, or a 404 naming it.
func writeByID[T any](s *Sandbox, w http.ResponseWriter, what, id string, items []T, idOf func(T) string) *problem {
	it := find(items, func(it T) bool { return idOf(it) == id })
	if it == nil {
		return s.newProblem(http.StatusNotFound, what+" "+id+" not found", nil)
	}
	return writeOK(w, *it)
}
