package billing_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

func TestServicePeriodFromAnchorAndCadence(t *testing.T) {
	anchor := time.Date(2026, 10, 15, 9, 30, 0, 0, time.UTC)
	s := billing.Subscription{ActiveFrom: anchor, BillingAnchor: anchor, BillingCadence: "P1M", Status: "active"}
	at := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	w, err := s.PeriodAt(at)
	if err != nil {
		t.Fatal(err)
	}
	if want := (billing.Window{From: time.Date(2026, 11, 15, 9, 30, 0, 0, time.UTC), Until: time.Date(2026, 12, 15, 9, 30, 0, 0, time.UTC)}); w != want {
		t.Errorf("period %s, want %s", w, want)
	}
	// Konnect's current period, when it holds the time, is the one.
	konnect := billing.Window{From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.CurrentPeriod = &konnect
	if w, err := s.PeriodAt(at); err != nil || w != konnect {
		t.Errorf("period %s, %v; want Konnect's current period %s", w, err, konnect)
	}
	if w, _ := s.PeriodAt(at.AddDate(0, -1, 0)); w.From != time.Date(2026, 10, 15, 9, 30, 0, 0, time.UTC) {
		t.Errorf("a month before: period %s, want from the anchor", w)
	}
	if _, err := billing.ActiveAt([]billing.Subscription{s}, anchor.Add(-time.Minute)); err != billing.ErrNoSubscription {
		t.Errorf("before active_from: %v, want ErrNoSubscription", err)
	}
	if _, err := (billing.Subscription{BillingCadence: "monthly"}).PeriodAt(at); err == nil {
		t.Error("cadence monthly read as a duration")
	}
}

// TestServicePeriodsFromAMonthEnd: a subscription anchored on January 31
// bills February to its last day, and March to March 31 again, as Konnect
// counts periods; not from March 3.
func TestServicePeriodsFromAMonthEnd(t *testing.T) {
	anchor := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	s := billing.Subscription{ActiveFrom: anchor, BillingAnchor: anchor, BillingCadence: "P1M", Status: "active"}
	for at, want := range map[time.Time]billing.Window{
		time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC): {From: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 2, 28, 0, 0, 0, 0, time.UTC)},
		time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC):  {From: time.Date(2027, 2, 28, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)},
		time.Date(2027, 4, 30, 0, 0, 0, 0, time.UTC): {From: time.Date(2027, 4, 30, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 5, 31, 0, 0, 0, 0, time.UTC)},
	} {
		if w, err := s.PeriodAt(at); err != nil || w != want {
			t.Errorf("at %s: period %s, %v; want %s", at.Format(time.DateOnly), w, err, want)
		}
	}
}

// TestSubscriptionsReadsTheSpecsList: the request and a spec-shaped answer
// pass the published OpenAPI.
func TestSubscriptionsReadsTheSpecsList(t *testing.T) {
	const page = `{"data":[{"id":"01JF0000000000000000000001","created_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-01T00:00:00Z",
"name":"Agent runs","active_from":"2026-12-01T00:00:00Z","customer_id":"01JF0000000000000000000002","invoice_currency":"USD",
"cost_basis_mode":"dynamic","cost_basis_pins":[],"billing_cadence":"P1M","billing_anchor":"2026-12-01T00:00:00Z","status":"active","phases":[]}],
"meta":{"page":{"number":1,"size":100,"total":1}}}`
	srv := testkit.SpecChecked(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("filter[customer_id][eq]"); got != "01JF0000000000000000000002" {
			t.Errorf("filter[customer_id][eq] = %q", got)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(page))
	}))
	c := billing.NewClient(srv.URL+"/v3/openmeter/events", "", 5*time.Second, time.Second)
	subs, err := c.Subscriptions(context.Background(), "01JF0000000000000000000002")
	if err != nil || len(subs) != 1 || subs[0].BillingCadence != "P1M" {
		t.Fatalf("subscriptions %+v, %v", subs, err)
	}
}
